"""Reindex core: plan what to keep, redo and drop; rebuild beside the live collection and
switch atomically, on every store (the embedded engine, a Qdrant server as qdrant-client's
in-process mode runs it, PostgreSQL + pgvector); points are made by hand, so no model runs."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pytest

from shortlist.errors import SourceError
from shortlist.reindex import TrackedSources, plan_reindex, rebuild, stale_stages
from shortlist.store.edge_store import EdgeStore
from shortlist.store.interface import VideoStore
from shortlist.store.pg_store import PgVectorStore
from shortlist.store.qdrant_store import QdrantServerStore
from shortlist.store.records import DIMENSIONS, VideoPoint, older_layout, with_moments
from shortlist.text import sparse_weights

VERSIONS = {"asr": "whisper:tiny.en", "ocr": "rapidocr:1:2f", "embed": "minilm:1"}


def _point(video_id: str, source: str, title: str, versions=VERSIONS, seed: int = 0):
    rng = np.random.default_rng(seed)
    dense = {name: (v / np.linalg.norm(v)).tolist()
             for name, dim in older_layout(DIMENSIONS).items() for v in [rng.normal(size=dim)]}
    dense = with_moments(dense)  # a short video: its one moment is the whole talk
    payload = {"video_id": video_id, "source": source, "title": title, "tags": [title],
               "models": dict(versions)}
    return VideoPoint(video_id, payload, dense, sparse_weights([(title, 2.0)]))


@pytest.fixture(params=["edge", "server", "pg"])
def store(request, tmp_path):
    if request.param == "pg":
        store = PgVectorStore(request.getfixturevalue("pg_dsn"),
                              collection=f"r{uuid.uuid4().hex[:10]}")
    elif request.param == "edge":
        store = EdgeStore(tmp_path / "qdrant")
    else:
        store = QdrantServerStore(location=":memory:")
    yield store
    store.close()


def _builds(store) -> set[str]:
    """The physical builds the store keeps: shards of the engine, collections of a server."""
    if isinstance(store, EdgeStore):
        return {p.name for p in (store.path / "shards").iterdir()}
    if isinstance(store, PgVectorStore):
        with store._cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE %s",
                        (f"{store.collection}%",))
            return {name for (name,) in cur.fetchall() if not name.endswith("_keywords")}
    return {c.name for c in store.client.get_collections().collections}


def _titles(store: VideoStore) -> dict[str, str]:
    return {p["video_id"]: p["title"] for p in store.scroll()}


def test_stale_stages_are_those_whose_version_changed():
    assert stale_stages(VERSIONS, VERSIONS) == ()
    assert stale_stages(VERSIONS, {**VERSIONS, "ocr": "rapidocr:1:3f"}) == ("ocr",)
    assert stale_stages({}, {"asr": "x"}) == ("asr",)  # made before versions were recorded


def test_plan_keeps_current_redoes_stale_and_drops_only_vanished_tracked_sources(tmp_path):
    tracked_dir = tmp_path / "inbox"
    tracked_dir.mkdir()
    (tracked_dir / "here.mp4").write_bytes(b"x")
    payloads = [
        {"video_id": "a", "source": str(tracked_dir / "here.mp4"), "models": VERSIONS},
        {"video_id": "b", "source": str(tracked_dir / "gone.mp4"), "models": VERSIONS},
        {"video_id": "c", "source": str(tmp_path / "elsewhere-gone.mp4"), "models": VERSIONS},
        {"video_id": "d", "source": "https://example.org/v.mp4",
         "models": {**VERSIONS, "embed": "minilm:0"}},
    ]
    plan = plan_reindex(payloads, VERSIONS, TrackedSources([str(tracked_dir)]))
    assert plan.keep == ("a", "c")  # c is gone too, but nobody tracks its folder
    assert plan.drop == {"b": f"source gone: {tracked_dir / 'gone.mp4'}"}
    assert plan.redo == {"d": ("embed",)}


def test_tracked_bucket_prefix_is_listed_once_and_a_missing_bucket_changes_nothing(mock_s3):
    mock_s3.create_bucket(Bucket="uploads")
    mock_s3.put_object(Bucket="uploads", Key="inbox/a b.mp4", Body=b"x")
    tracked = TrackedSources(["s3://uploads/inbox/"])
    assert not tracked.vanished("s3://uploads/inbox/a b.mp4")
    assert tracked.vanished("s3://uploads/inbox/deleted.mp4")
    assert not tracked.vanished("s3://uploads/elsewhere/deleted.mp4")
    with pytest.raises(SourceError, match="left as it was"):
        TrackedSources(["s3://no-such-bucket/"]).vanished("s3://no-such-bucket/x.mp4")


def test_rebuild_switches_the_alias_and_search_never_sees_a_half_built_index(store):
    store.upsert([_point(f"v{i}", f"/videos/{i}.mp4", f"title {i}", seed=i) for i in range(40)])
    stale = {f"v{i}": ("embed",) for i in range(0, 40, 2)}
    plan = plan_reindex(store.scroll(), VERSIONS, TrackedSources([]))
    plan = plan.__class__(tuple(v for v in plan.keep if v not in stale), stale, {},
                          plan.sources)
    before = store.physical_collection()
    seen_counts: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:  # a searcher that runs all through the rebuild
        while not stop.is_set():
            try:
                seen_counts.append(store.count())
                if not store.keyword_ranking("title", limit=100):
                    raise AssertionError("keyword search found nothing")
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                errors.append(exc)
            # Searches come one after another, not in a spin: against qdrant-client's
            # pure-Python stand-in a spinning reader starved the rebuild of Python's lock
            # (this test took 35 to 720 s; the rebuild alone takes 0.02 s).
            stop.wait(0.002)

    def redo(sources: dict[str, str], target: str) -> dict[str, str]:
        assert store.count() == 40  # the live collection is untouched meanwhile
        store.upsert([_point(v, s, "redone " + v) for v, s in sources.items()
                      if v != "v0"], collection=target)
        return {"v0": "source file is gone: /videos/0.mp4"}

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        report = rebuild(store, plan, redo)
    finally:
        stop.set()
        thread.join()
    assert not errors and set(seen_counts) == {40}
    assert report.old_collection == before
    assert store.physical_collection() == report.new_collection
    assert len(report.redone) == 19
    assert report.failed == {"v0": "source file is gone: /videos/0.mp4"}
    titles = _titles(store)
    assert len(titles) == 40
    assert titles["v2"] == "redone v2" and titles["v1"] == "title 1"
    assert titles["v0"] == "title 0"  # could not be redone: kept as it was
    # Keywords follow the switch: the new titles are searchable, the old build is gone.
    assert "v2" in store.keyword_ranking("redone", limit=50)
    assert _builds(store) == {report.new_collection}


def test_a_failed_rebuild_leaves_the_live_collection_as_it_was(store):
    store.upsert([_point("v1", "/videos/1.mp4", "one")])
    before = store.physical_collection()
    plan = plan_reindex(store.scroll(), {**VERSIONS, "asr": "whisper:base"}, TrackedSources([]))

    def redo(sources, target):
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError):
        rebuild(store, plan, redo)
    assert store.physical_collection() == before and _titles(store) == {"v1": "one"}
    assert _builds(store) == {before}


def test_a_server_collection_made_before_aliases_is_migrated_on_its_first_rebuild(tmp_path):
    from qdrant_client import QdrantClient
    from qdrant_client import models as m

    old = QdrantClient(path=str(tmp_path / "q"))
    old.create_collection("videos", vectors_config={
        name: m.VectorParams(size=dim, distance=m.Distance.COSINE)
        for name, dim in older_layout(DIMENSIONS).items()},  # made before moments
        sparse_vectors_config={"keywords": m.SparseVectorParams(modifier=m.Modifier.IDF)})
    old.close()
    store = QdrantServerStore(location=str(tmp_path / "q"))
    try:
        store.upsert([_point("v1", "/videos/1.mp4", "otter")])
        assert store.physical_collection() == "videos"
        report = rebuild(store, plan_reindex(store.scroll(), VERSIONS, TrackedSources([])),
                         redo=lambda sources, target: {})
        assert report.kept == ["v1"] and store.physical_collection() == report.new_collection
        assert _titles(store) == {"v1": "otter"}
        assert store.keyword_ranking("otter", limit=5) == ["v1"]
    finally:
        store.close()


def test_a_build_left_by_a_killed_reindex_is_removed_by_the_next(tmp_path):
    import subprocess
    import sys

    store = EdgeStore(tmp_path / "qdrant")
    store.upsert([_point("a" * 16, "/v/a.mp4", "first")])
    left = store.begin_rebuild()  # as a reindex killed mid-way leaves it...
    store._targets.pop(left).close()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    store._builder_mark(left).write_text(gone.stdout)  # ...its process gone
    running = store.begin_rebuild()  # the next reindex sweeps it away
    assert not (tmp_path / "qdrant" / "shards" / left).exists()
    assert not store._builder_mark(left).exists()
    store._sweep_abandoned()  # as a second reindex would: a build whose process runs stays
    assert (tmp_path / "qdrant" / "shards" / running).exists()
    store.copy_into(running, ["a" * 16])
    store.switch_to(running)
    assert not store._builder_mark(running).exists()
    assert store.get("a" * 16)["title"] == "first"
    assert {d.name for d in (tmp_path / "qdrant" / "shards").iterdir()} == {running}
    store.close()
