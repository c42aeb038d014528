"""Events, taste and diversity: fast tests of the recommendation logic on real SQLite."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest

from shortlist.recommend.events import EventLog
from shortlist.recommend.recommend import diversify
from shortlist.recommend.taste import taste_from_events
from shortlist.store.records import Hit


def _write_many(path: str, user: str, n: int) -> None:
    from pathlib import Path

    log = EventLog(Path(path))
    for i in range(n):
        log.record(user, f"{i:016x}", "watched", seconds=1.0)


def test_concurrent_writers_lose_no_event(tmp_path):
    path = tmp_path / "events.db"
    EventLog(path)
    procs = [multiprocessing.get_context("spawn").Process(
        target=_write_many, args=(str(path), f"user{k}", 60)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert all(p.exitcode == 0 for p in procs)
    assert EventLog(path).count() == 240


def test_bad_events_are_refused(tmp_path):
    log = EventLog(tmp_path / "e.db")
    with pytest.raises(ValueError, match="unknown event"):
        log.record("u", "v", "loved")
    with pytest.raises(ValueError, match="negative"):
        log.record("u", "v", "watched", seconds=-1)
    with pytest.raises(ValueError, match="user id"):
        log.record("", "v", "watched")


def test_taste_weighs_recency_and_share_watched(tmp_path):
    log = EventLog(tmp_path / "e.db")
    now = time.time()
    log.record("u", "recent_full", "watched", seconds=10, at=now - 60)
    log.record("u", "old_full", "watched", seconds=10, at=now - 60 * 86400)
    log.record("u", "glimpse", "watched", seconds=1, at=now - 60)
    log.record("u", "liked", "liked", at=now - 60)
    log.record("u", "skipped", "skipped", at=now - 60)
    durations = {"recent_full": 10, "old_full": 10, "glimpse": 10, "liked": 10, "skipped": 10}
    taste = taste_from_events(log.for_user("u"), durations, now=now)
    assert taste.positives["recent_full"] > 4 * taste.positives["old_full"]
    assert "glimpse" not in taste.positives  # 10% watched is not a positive...
    assert "glimpse" in taste.seen  # ...but it is not recommended again either
    assert taste.positives["liked"] > taste.positives["recent_full"]
    assert set(taste.negatives) == {"skipped"}


def test_diversify_prefers_variety_over_near_copies():
    a = np.array([1.0, 0.0, 0.0])
    near_a = np.array([0.99, 0.14, 0.0])
    b = np.array([0.0, 1.0, 0.0])
    hits = [Hit("a", 0.9, {}, {"text": a.tolist()}),
            Hit("a2", 0.89, {}, {"text": near_a.tolist()}),
            Hit("b", 0.8, {}, {"text": b.tolist()})]
    assert [h.video_id for h in diversify(hits, 2)] == ["a", "b"]


def test_a_rare_word_the_user_keeps_meeting_reaches_the_recommendations(tmp_path):
    """The keyword half of the hybrid: the one other video that names "zeppelin" is
    recommended to a zeppelin watcher even though its text vector points elsewhere."""
    from shortlist.recommend.recommend import recommend
    from shortlist.store.qdrant_store import VideoStore
    from shortlist.store.records import DIMENSIONS, VideoPoint
    from shortlist.store.search_index import fields_from_payload

    rng = np.random.default_rng(3)
    anchor = rng.normal(size=DIMENSIONS["text"])

    def point(vid: str, transcript: str, near_anchor: bool) -> VideoPoint:
        dense = {name: rng.normal(size=dim).tolist() for name, dim in DIMENSIONS.items()}
        if near_anchor:
            dense["text"] = (anchor + 0.3 * rng.normal(size=anchor.size)).tolist()
        payload = {"video_id": vid, "title": vid, "tags": [], "transcript": transcript,
                   "duration_s": 10.0}
        return VideoPoint(vid, payload, dense, {}, fields_from_payload(payload))

    store = VideoStore(path=tmp_path / "q")
    try:
        points = [point("a" * 16, "the zeppelin crossed the ocean", True),
                  point("b" * 16, "a zeppelin museum tour", False)]
        points += [point(f"{i:016x}", "weather report for tuesday", True) for i in range(30)]
        store.upsert(points)
        events = EventLog(tmp_path / "e.db")
        events.record("u", "a" * 16, "watched", seconds=10)
        picks = [h.video_id for h in recommend(store, events, "u", limit=5)]
        assert "b" * 16 in picks and "a" * 16 not in picks
    finally:
        store.close()
