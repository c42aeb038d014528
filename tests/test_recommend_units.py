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


def test_a_user_with_two_unrelated_interests_gets_both(tmp_path):
    """One mean vector of "sports" and "paintings" is neither; scoring candidates by their
    nearest liked videos keeps both interests in the top 10."""
    from shortlist.recommend.recommend import recommend
    from shortlist.store.edge_store import EdgeStore
    from shortlist.store.records import DIMENSIONS, VideoPoint, older_layout

    flat = older_layout(DIMENSIONS)  # one vector per space (the moments are several)
    rng = np.random.default_rng(3)
    centres = {name: {space: rng.normal(size=dim) for space, dim in flat.items()}
               for name in ("sport", "paint", "mix")}
    # "mix" lies between the two: what a mean vector of the history would find first.
    centres["mix"] = {s: centres["sport"][s] + centres["paint"][s] for s in flat}

    def point(vid: str, centre: str) -> VideoPoint:
        dense = {s: (centres[centre][s] + 0.4 * rng.normal(size=dim)).tolist()
                 for s, dim in flat.items()}
        payload = {"video_id": vid, "title": centre, "tags": [], "transcript": "",
                   "duration_s": 10.0 + len(vid)}
        return VideoPoint(vid, payload, dense, {})

    ids = {c: [f"{c[0]}{i:015x}" for i in range(8)] for c in centres}
    store = EdgeStore(tmp_path / "q")
    try:
        store.upsert([point(v, c) for c, vs in ids.items() for v in vs])
        events = EventLog(tmp_path / "e.db")
        for v in ids["sport"][:2] + ids["paint"][:2]:
            events.record("u", v, "watched", seconds=30)
        picks = [h.video_id for h in recommend(store, events, "u", limit=10)]
        assert sum(v in ids["sport"] for v in picks) >= 4
        assert sum(v in ids["paint"] for v in picks) >= 4
        assert not set(picks) & set(ids["sport"][:2] + ids["paint"][:2])
    finally:
        store.close()


def test_a_reupload_of_a_watched_video_gives_its_place_to_the_next_pick(tmp_path):
    """Candidates come without payloads; the picks' are read, and a pick that copies a
    watched video (same length, picture, words and sound) is replaced by the next one."""
    from shortlist.recommend.recommend import recommend
    from shortlist.store.edge_store import EdgeStore
    from shortlist.store.records import DIMENSIONS, VideoPoint, older_layout

    flat = older_layout(DIMENSIONS)
    rng = np.random.default_rng(7)
    centre = {space: rng.normal(size=dim) for space, dim in flat.items()}

    def point(vid: str, dense: dict, seconds: float) -> VideoPoint:
        return VideoPoint(vid, {"video_id": vid, "title": f"T{vid}", "tags": [],
                                "transcript": "", "duration_s": seconds}, dense, {})

    near = [{s: (centre[s] + 0.5 * rng.normal(size=d)).tolist() for s, d in flat.items()}
            for _ in range(12)]
    watched = f"{0:016x}"
    points = [point(f"{i:016x}", near[i], 20.0 + i) for i in range(12)]
    copy = f"{99:016x}"  # the watched video uploaded again
    points.append(point(copy, near[0], 20.0))
    store = EdgeStore(tmp_path / "q")
    try:
        store.upsert(points)
        events = EventLog(tmp_path / "e.db")
        events.record("u", watched, "liked")
        events.record("u", watched, "watched", seconds=20)
        picks = recommend(store, events, "u", limit=5)
        assert copy not in {h.video_id for h in picks} and len(picks) == 5
        assert all(h.payload["title"] == f"T{h.video_id}" for h in picks)
        # without the copy check the copy is the first pick: the test sees the real order
        store.delete([copy])
        store.upsert([point(copy, near[0], 50.0)])  # another length: not a copy
        assert recommend(store, events, "u", limit=5)[0].video_id == copy
    finally:
        store.close()


def test_interest_scores_equal_the_pairwise_definition():
    """The matrix form scores as `similarity` pair by pair does: spaces a video lacks are
    left out of its mean, the two nearest liked videos count, a skip counts against."""
    from shortlist.recommend.interests import NEAREST, SKIP_PENALTY, interest_scores, similarity

    rng = np.random.default_rng(5)

    def video(spaces: tuple[str, ...]) -> dict[str, list[float]]:
        return {s: rng.normal(size=8).tolist() for s in spaces}

    candidates = {f"c{i}": video(("text", "visual") if i % 2 else ("text", "speech", "audio"))
                  for i in range(7)}
    liked = {f"l{i}": (video(("text", "speech", "visual")), 1.0 + i) for i in range(4)}
    skipped = {"s": video(("visual",))}
    scores = interest_scores(candidates, liked, skipped)
    for cid, vectors in candidates.items():
        sims = sorted(((similarity(vectors, v), w) for v, w in liked.values()),
                      key=lambda sw: -sw[0])[:NEAREST]
        expected = sum(s * w for s, w in sims) / sum(w for _, w in sims)
        expected -= SKIP_PENALTY * similarity(vectors, skipped["s"])
        assert scores[cid] == pytest.approx(expected, abs=1e-6)
