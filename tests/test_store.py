"""The store interface, run against every implementation: the embedded engine (Qdrant Edge),
a Qdrant server (qdrant-client's in-process mode, which speaks the server's API) and
PostgreSQL + pgvector (a real server, started for the session)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from shortlist.errors import StoreUnavailable
from shortlist.store.edge_store import EdgeStore
from shortlist.store.pg_store import PgVectorStore
from shortlist.store.qdrant_store import QdrantServerStore
from shortlist.store.records import (
    AUDIO,
    MARENGO,
    MARENGO_CLIPS,
    MOMENTS,
    SCENE,
    SPEECH,
    TEXT,
    VISUAL,
    SearchFilters,
    VideoPoint,
    dimensions,
    older_layout,
)
from shortlist.text import query_sparse, sparse_weights

BACKENDS = ["edge", "server", "pg"]


def make_store(kind: str, tmp_path: Path, request=None, sizes=None):
    if kind == "edge":
        return EdgeStore(tmp_path / "q", sizes=sizes)
    if kind == "pg":
        collection = f"t{uuid.uuid4().hex[:10]}"  # one server for the session
        return PgVectorStore(request.getfixturevalue("pg_dsn"), collection=collection,
                             sizes=sizes)
    return QdrantServerStore(location=":memory:", sizes=sizes)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = make_store(request.param, tmp_path, request)
    yield s
    s.close()


def _point(vid: str, vec, words: str, title: str, seconds: float = 1.0,
           ingested: str = "2026-12-01T00:00:00Z", rng_seed: int = 0) -> VideoPoint:
    rng = np.random.default_rng(rng_seed)
    payload = {"video_id": vid, "title": title, "tags": words.split(), "duration_s": seconds,
               "has_speech": seconds > 2, "ingested_at": ingested}
    dense = {TEXT: list(map(float, vec)), VISUAL: rng.normal(size=256).tolist(),
             AUDIO: rng.normal(size=128).tolist()}
    return VideoPoint(vid, payload, dense, sparse_weights([(words, 1.0)]))


def _corpus(n: int = 30, seed: int = 1) -> tuple[np.ndarray, list[VideoPoint]]:
    vecs = np.random.default_rng(seed).normal(size=(n, 384))
    points = [_point(f"{i:016x}", vecs[i], f"word{i} common", f"T{i}", seconds=float(i),
                     ingested=f"2026-12-01T00:00:{i:02d}Z", rng_seed=i) for i in range(n)]
    return vecs, points


def test_upsert_is_idempotent_and_search_fuses_dense_and_keywords(store):
    vecs = np.random.default_rng(1).normal(size=(3, 384))
    store.upsert([_point("a" * 16, vecs[0], "zebra crossing", "A"),
                  _point("b" * 16, vecs[1], "penguin parade", "B", seconds=1.0),
                  _point("c" * 16, vecs[2], "mountain lake", "C", seconds=9.0)])
    store.upsert([_point("b" * 16, vecs[1], "penguin parade", "B again")])
    assert store.count() == 3
    assert store.get("b" * 16)["title"] == "B again"
    assert store.get("f" * 16) is None
    # the dense part points at "a", the keywords at "b": both lead
    hits = store.hybrid_search([list(vecs[0])], query_sparse("penguins"), "penguins", limit=3)
    assert {h.video_id for h in hits[:2]} == {"a" * 16, "b" * 16}
    assert store.keyword_ranking("penguins", limit=5) == ["b" * 16]
    # filters narrow every ranking, keywords included
    long_only = SearchFilters(min_duration_s=5)
    hits = store.hybrid_search([list(vecs[0])], query_sparse("penguin"), "penguin", limit=3,
                               filters=long_only)
    assert [h.video_id for h in hits] == ["c" * 16]
    store.delete(["b" * 16])
    assert store.keyword_ranking("penguin", limit=5) == [] and store.count() == 2


def _near(cos: float, axis: int) -> list[float]:
    """A unit vector at cosine `cos` to the first axis, off along `axis`."""
    v = np.zeros(384)
    v[0], v[axis] = cos, np.sqrt(1 - cos * cos)
    return v.tolist()


def test_a_spoken_word_match_is_not_outvoted_by_the_dense_views_of_one_query(store):
    """A query's text, speech and scene rankings are three views of one reading of it: a
    video first in two of them must not bury the one video that says the word."""
    closeness = {"a": (0.99, 0.99, 0.9), "c": (0.9, 0.9, 0.99), "d": (0.8, 0.8, 0.8),
                 "e": (0.7, 0.7, 0.7), "b": (0.1, 0.1, 0.1)}  # text, speech, scene
    points = []
    for axis, (name, cos) in enumerate(closeness.items(), start=1):
        point = _point(name * 16, _near(cos[0], axis), "penguins" if name == "b" else "ice",
                       name.upper())
        point.dense.update({SPEECH: _near(cos[1], axis), SCENE: _near(cos[2], axis)})
        points.append(point)
    store.upsert(points)
    query = [1.0] + [0.0] * 383
    hits = store.hybrid_search([query], query_sparse("penguins"), "penguins", limit=5)
    assert [h.video_id for h in hits[:2]] == ["b" * 16, "a" * 16]
    # without the word, the dense views alone decide
    hits = store.hybrid_search([query], {}, "", limit=5)
    assert [h.video_id[0] for h in hits] == list("acdeb")


def test_what_is_said_outweighs_the_classifiers_words(store):
    """The description and the scene words both carry the image classifier's labels: a talk
    that is first by what it says outranks a silent photo first in those two views
    (records.SEARCH_SPACE_WEIGHTS; at equal weights all three tie and the photo's id wins)."""
    closeness = {"a": (0.9, None, 0.9), "b": (0.8, 0.8, 0.8), "e": (0.7, 0.95, 0.7)}
    points = []
    for axis, (name, (text, speech, scene)) in enumerate(closeness.items(), start=1):
        point = _point(name * 16, _near(text, axis), "ice", name.upper())
        point.dense[SCENE] = _near(scene, axis)
        if speech is not None:  # "a" is a silent photo: no transcript, no moments
            point.dense.update({SPEECH: _near(speech, axis), MOMENTS: [_near(speech, axis)]})
        points.append(point)
    store.upsert(points)
    hits = store.hybrid_search([[1.0] + [0.0] * 383], {}, "", limit=3)
    assert [h.video_id[0] for h in hits] == list("eba")


def test_reads_and_rankings_agree_with_exact_search(store):
    vecs, points = _corpus()
    store.upsert(points)
    assert len(list(store.scroll(batch=7))) == 30
    assert [p["title"] for p in store.newest(3)] == ["T29", "T28", "T27"]
    query = list(vecs[5] + 0.3 * vecs[9])
    exact = np.argsort(-(vecs / np.linalg.norm(vecs, axis=1, keepdims=True)) @ query)
    expected = [f"{i:016x}" for i in exact if i != 5][:5]
    assert store.nearest(query, TEXT, 5, exclude=[f"{5:016x}"]) == expected
    vectors = store.vectors([points[3].video_id])[points[3].video_id]
    assert {k: len(v) for k, v in vectors.items()} == {TEXT: 384, VISUAL: 256, AUDIO: 128}
    some = [points[i].video_id for i in (0, 3, 17)]
    assert store.durations([*some, "f" * 16]) == dict(zip(some, [0.0, 3.0, 17.0], strict=True))
    own = {VISUAL: points[3].dense[VISUAL], AUDIO: points[3].dense[AUDIO]}
    hits = store.fused_neighbours(own, limit=5, exclude=[points[3].video_id])
    assert points[3].video_id not in {h.video_id for h in hits} and len(hits) == 5
    assert set(hits[0].vectors) == {VISUAL, AUDIO}
    # liked videos 1 and 20: both interests lead, the liked and the excluded never appear,
    # and a video like the disliked one (27) sinks below its place by likeness alone
    liked = [points[1].dense, points[20].dense]
    found = store.liked_neighbours(liked, [points[27].dense], {TEXT: 2.0, VISUAL: 0.5}, 6,
                                   exclude=[points[1].video_id, points[20].video_id])
    ids = [h.video_id for h in found]
    assert len(ids) == 6 and not {points[1].video_id, points[20].video_id} & set(ids)
    assert set(found[0].vectors) == {TEXT, VISUAL, AUDIO}
    near = {int(i, 16) for i in ids}
    cos = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)) @ (
        vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).T
    nearest_each = {int(np.argsort(-cos[k])[1]) for k in (1, 20)} - {1, 20, 27}
    assert nearest_each <= near and 27 not in near
    page2 = store.hybrid_search([query], {}, "", limit=5, offset=5)
    page1 = store.hybrid_search([query], {}, "", limit=5)
    assert not {h.video_id for h in page1} & {h.video_id for h in page2}
    speech = store.hybrid_search([query], {}, "", limit=30, filters=SearchFilters(
        has_speech=True, tags=("common",)))
    assert speech and all(h.payload["has_speech"] for h in speech)


def test_a_video_deleted_during_a_search_leaves_its_place_to_the_next(tmp_path):
    """The engine reads payloads for the page only; one gone since the rankings is replaced
    by the next video, so the page stays full and in order."""
    vecs, points = _corpus()
    store = EdgeStore(tmp_path / "q")
    store.upsert(points)
    query = list(vecs[5] + 0.3 * vecs[9])
    ranked = [h.video_id for h in store.hybrid_search([query], {}, "", limit=6)]
    read = store.get_many

    def deleted_meanwhile(video_ids):
        store.get_many = read
        store.delete([ranked[0]])
        return read(video_ids)

    store.get_many = deleted_meanwhile
    assert [h.video_id for h in store.hybrid_search([query], {}, "", limit=5)] == ranked[1:]
    assert [h.video_id for h in store.hybrid_search([query], {}, "", limit=5)] == ranked[1:]
    store.close()


@pytest.mark.slow
def test_past_exact_search_the_index_finds_what_exact_search_finds(tmp_path):
    """Beyond EXACT_UP_TO the embedded store walks HNSW on int8 copies of the vectors: on
    vectors shaped like sentence embeddings (a low-dimensional latent plus noise) its top 10
    must be exact search's, and a recommendation's candidates nearly so."""
    from shortlist.store.edge_store import EXACT_UP_TO

    rng = np.random.default_rng(7)
    n = int(EXACT_UP_TO * 1.6)  # past the engine's own full-scan size, so HNSW is built
    latent = rng.normal(size=(32, 384))
    vecs = rng.normal(size=(n, 32)) @ latent + 0.5 * np.sqrt(32) * rng.normal(size=(n, 384))
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    store = EdgeStore(tmp_path / "q")
    try:
        for start in range(0, n, 1000):
            store.upsert([_point(f"{i:016x}", unit[i], "w", "t", rng_seed=i)
                          for i in range(start, min(n, start + 1000))])
        store.optimize()
        found = total = 0
        for k in rng.choice(n, 20, replace=False):
            query = unit[k] + 0.05 * rng.normal(size=384)
            exact = {f"{i:016x}" for i in np.argsort(-unit @ query)[:10]}
            found += len(exact & set(store.nearest(query.tolist(), TEXT, 10)))
            total += 10
        assert found / total >= 0.99
        liked = rng.choice(n, 10, replace=False)
        best = (unit @ unit[liked].T).max(axis=1)
        best[liked] = -np.inf
        exact = {f"{i:016x}" for i in np.argsort(-best)[:40]}
        got = store.liked_neighbours([{TEXT: unit[i].tolist()} for i in liked], [],
                                     {TEXT: 1.0}, 40, exclude=[f"{i:016x}" for i in liked])
        assert len(exact & {h.video_id for h in got}) >= 38
    finally:
        store.close()


def test_small_ingests_by_separate_processes_add_up_to_an_index_build(tmp_path, monkeypatch):
    """Each ingest is a process of its own: the engine counts what they left outside its
    index, so a catalogue grown by small ingests gets indexed without a reindex."""
    from shortlist.store import edge_store

    monkeypatch.setattr(edge_store, "OPTIMIZE_AFTER", 40)
    _, points = _corpus(90)  # text, visual and audio only: other spaces are missing
    for start in range(0, 90, 30):
        ingest = EdgeStore(tmp_path / "q")
        ingest.upsert(points[start:start + 30])
        ingest.close()
    store = EdgeStore(tmp_path / "q")
    assert store.unindexed_videos() == 30  # the second ingest indexed the first 60
    assert store.count() == 90
    assert store.nearest(points[75].dense[TEXT], TEXT, 1) == [points[75].video_id]
    store.close()


def test_a_rebuild_is_invisible_until_switched_and_a_failed_one_leaves_the_live(store):
    _, points = _corpus(10)
    store.upsert(points)
    live = store.physical_collection()
    target = store.begin_rebuild()
    store.copy_into(target, [p.video_id for p in points[:4]])
    store.upsert([_point("e" * 16, np.ones(384), "redone", "new")], collection=target)
    assert store.count() == 10 and store.physical_collection() == live  # not yet
    assert store.switch_to(target) == live
    assert store.count() == 5 and store.get("e" * 16)["title"] == "new"
    doomed = store.begin_rebuild()
    store.abandon_rebuild(doomed)
    assert store.count() == 5 and store.physical_collection() == target


def test_points_the_store_would_refuse_write_nothing(store):
    good = _point("a" * 16, np.ones(384), "fine", "ok")
    bad = VideoPoint("b" * 16, {"video_id": "b" * 16}, {TEXT: [1.0, 2.0]}, {})
    with pytest.raises(ValueError, match="dimensions"):
        store.upsert([good, bad])
    assert store.count() == 0


# The embedded engine: one folder, several processes -------------------------------------


def _run(code: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_store import _corpus
from shortlist.store.edge_store import EdgeStore
from shortlist.store.pg_store import PgVectorStore
pause = float(sys.argv[4])  # the time a video takes between writes, in a real ingest
store = EdgeStore(Path(sys.argv[1]), linger_s=pause / 2)
_, points = _corpus(int(sys.argv[2]))
for start in range(0, len(points), 5):
    store.upsert(points[start:start + 5])
    print(start + 5, flush=True)
    time.sleep(pause)
"""


def test_processes_take_turns_on_the_embedded_store(tmp_path):
    """An ingest (writing batch after batch) and searches in other processes interleave."""
    writer = _run(WRITER, str(tmp_path / "q"), "60", str(Path(__file__).parent), "0.3")
    seen = []
    while writer.poll() is None or not seen:
        reader = EdgeStore(tmp_path / "q", wait_s=20)  # one `shortlist` command
        seen.append(reader.count())
        reader.close()
        time.sleep(0.1)  # commands are processes: each takes a moment to start
    assert writer.wait(60) == 0, writer.stderr.read()
    assert EdgeStore(tmp_path / "q").count() == 60
    assert seen == sorted(seen) and len(set(seen)) > 3  # the reads saw the ingest progress


def test_a_held_store_makes_others_wait_then_fail_clearly(tmp_path):
    holder = EdgeStore(tmp_path / "q", hold=True)
    holder.count()
    code = ("import sys; from pathlib import Path; from shortlist.store.edge_store import "
            "EdgeStore\nEdgeStore(Path(sys.argv[1]), wait_s=0.5).count()")
    proc = _run(code, str(tmp_path / "q"))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "in use by another Shortlist process" in err
    holder.close()
    assert EdgeStore(tmp_path / "q").count() == 0


def _bytes_read_by_this_process() -> int:
    return int(next(line for line in Path("/proc/self/io").read_text().splitlines()
                    if line.startswith("rchar:")).split()[1])


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's /proc")
def test_a_held_store_reads_its_catalogue_into_memory_when_it_opens_it(tmp_path):
    """A server (a held store) reads its shard's files when it opens it, so that its first
    searches do not wait on the disk; a one-off command's store does not."""
    writer = EdgeStore(tmp_path / "q")
    writer.upsert(_corpus(200)[1])
    writer.close()
    written = sum(f.stat().st_blocks * 512 for f in (tmp_path / "q" / "shards").rglob("*")
                  if f.is_file() and "segments" in f.parts)  # the files' data, not holes
    before = _bytes_read_by_this_process()
    EdgeStore(tmp_path / "q").count()
    one_off = _bytes_read_by_this_process() - before
    held = EdgeStore(tmp_path / "q", hold=True)
    before = _bytes_read_by_this_process()
    assert held.count() == 200
    read = _bytes_read_by_this_process() - before
    assert 0.5 * written <= read <= 2 * written and one_off < 0.5 * written
    held.close()


def test_a_writer_killed_mid_batch_loses_no_written_batch_and_a_rerun_doubles_nothing(
        tmp_path):
    writer = _run(WRITER, str(tmp_path / "q"), "400", str(Path(__file__).parent), "0")
    for line in writer.stdout:  # let a few batches land, then kill it mid-write
        if int(line) >= 50:
            break
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(30)
    store = EdgeStore(tmp_path / "q")
    after_kill = store.count()
    assert after_kill >= 50 and after_kill % 5 == 0  # whole batches only
    _, points = _corpus(400)
    assert all(p["video_id"] for p in store.get_many([p.video_id for p in points[:50]]))
    store.upsert(points)  # the rerun
    assert store.count() == 400
    store.close()


def test_a_local_mode_catalogue_moves_into_the_engine_counted_and_kept(tmp_path):
    """A catalogue made by the previous version (qdrant-client local mode behind an alias)
    is copied on first open; the old folder is moved aside, not deleted."""
    from qdrant_client import QdrantClient
    from qdrant_client import models as m

    from shortlist.store.records import DIMENSIONS, KEYWORDS

    folder = tmp_path / "qdrant"
    old = QdrantClient(path=str(folder))
    old.create_collection("videos-old", vectors_config={
        name: m.VectorParams(size=dim, distance=m.Distance.COSINE)
        for name, dim in older_layout(DIMENSIONS).items()},  # made before moments
        sparse_vectors_config={KEYWORDS: m.SparseVectorParams(modifier=m.Modifier.IDF)})
    old.update_collection_aliases(change_aliases_operations=[m.CreateAliasOperation(
        create_alias=m.CreateAlias(collection_name="videos-old", alias_name="videos"))])
    _, points = _corpus(12)
    from shortlist.store.ids import point_id_for

    def keywords(p: VideoPoint) -> m.SparseVector:
        idx = sorted(p.sparse)
        return m.SparseVector(indices=idx, values=[p.sparse[i] for i in idx])

    old.upsert("videos-old", points=[m.PointStruct(
        id=point_id_for(p.video_id), payload=p.payload, vector={**p.dense, KEYWORDS: keywords(p)})
        for p in points])
    old.close()
    (folder / "videos-old-index.db").write_bytes(b"side index of the old version")

    store = EdgeStore(folder)
    assert store.count() == 12
    assert store.get(points[4].video_id)["title"] == "T4"
    assert store.keyword_ranking("word4", limit=3) == [points[4].video_id]
    backup = folder / "local-mode-backup"
    assert (backup / "meta.json").exists() and (backup / "videos-old-index.db").exists()
    assert not (folder / "collection").exists()
    assert json.loads((folder / "videos.json").read_text())["shard"]
    store.close()
    assert EdgeStore(folder).count() == 12  # once: the second open finds the engine's shard


def test_a_shard_with_other_vector_sizes_is_refused_with_the_way_out(tmp_path):
    store = EdgeStore(tmp_path / "q")
    store.count()
    store.close()
    shard = next((tmp_path / "q" / "shards").iterdir())
    config = json.loads((shard / "edge_config.json").read_text())
    config["vectors"]["visual"]["size"] = 1280
    (shard / "edge_config.json").write_text(json.dumps(config))
    with pytest.raises(StoreUnavailable, match="SHORTLIST_DATA_DIR"):
        EdgeStore(tmp_path / "q").count()


def test_the_store_package_does_not_import_the_api_package():
    code = ("import sys, shortlist.store.edge_store, shortlist.store.qdrant_store, "
            "shortlist.store.migrate, shortlist.store.interface\n"
            "print(sorted(m for m in sys.modules if m.startswith('shortlist.api')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_a_catalogue_copies_to_a_server_store_counted_and_searchable(tmp_path):
    """How a catalogue moves from the embedded store to a Qdrant server: every point, its
    vectors and its words, and copying again doubles nothing."""
    from shortlist.store.copy import copy_catalogue

    vecs, points = _corpus(40)
    edge = EdgeStore(tmp_path / "q")
    edge.upsert(points)
    server = QdrantServerStore(location=":memory:")
    assert copy_catalogue(edge, server, batch=16) == 40
    assert copy_catalogue(edge, server, batch=16) == 40 and server.count() == 40
    query = [list(vecs[7])]
    assert ([h.video_id for h in server.hybrid_search(query, query_sparse("word7"), "", 5)]
            == [h.video_id for h in edge.hybrid_search(query, query_sparse("word7"), "", 5)])
    vid = points[3].video_id
    copied, kept = server.vectors([vid])[vid], edge.vectors([vid])[vid]
    assert set(copied) == set(kept)
    assert all(np.allclose(copied[name], kept[name], atol=1e-6) for name in kept)
    edge.close()
    server.close()


def test_an_unreachable_postgres_is_named_without_its_password():
    store = PgVectorStore("postgresql://shortlist:hunter2@127.0.0.1:1/videos", timeout_s=1)
    with pytest.raises(StoreUnavailable) as failure:
        store.count()
    assert "hunter2" not in str(failure.value) and "make postgres-up" in str(failure.value)


def test_a_postgres_catalogue_with_other_vector_sizes_is_refused_with_the_way_out(pg_dsn):
    store = PgVectorStore(pg_dsn, collection=f"t{uuid.uuid4().hex[:10]}")
    physical = store.physical_collection()
    with store._cursor() as cur:  # as a catalogue made by another text embedder would be
        cur.execute(f'ALTER TABLE "{physical}" ALTER COLUMN text TYPE vector(768)')
    store.close()
    with pytest.raises(StoreUnavailable, match="other vector sizes.*SHORTLIST_COLLECTION"):
        PgVectorStore(pg_dsn, collection=store.collection).count()


def test_another_models_query_vector_is_one_more_vote(tmp_path, request):
    """A video embedder's space (Marengo) ranks beside the text spaces: a video last by the
    text vectors but first by the video vector rises to share the top."""
    for kind in BACKENDS:
        sizes = {**dimensions(), MARENGO: 8}
        store = make_store(kind, tmp_path / kind, request, sizes)
        q = np.eye(384)[0]
        points = []
        for i, name in enumerate("abcd"):  # text: a nearest .. d farthest; Marengo: reverse
            text = (np.cos(0.2 * (i + 1)) * q + np.sin(0.2 * (i + 1)) * np.eye(384)[i + 1])
            video = np.cos(0.2 * (4 - i)) * np.eye(8)[0] + np.sin(0.2 * (4 - i)) * np.eye(8)[i + 1]
            point = _point(name * 16, text, "ice", name.upper())
            point.dense[MARENGO] = video.tolist()
            points.append(point)
        store.upsert(points)
        plain = [h.video_id[0] for h in store.hybrid_search([q.tolist()], {}, "", limit=4)]
        fused = [h.video_id[0] for h in store.hybrid_search(
            [q.tolist()], {}, "", limit=4, extra={MARENGO: np.eye(8)[0].tolist()})]
        assert plain == list("abcd"), kind
        assert set(fused[:2]) == {"a", "d"}, (kind, fused)
        # its vectors come back with the others (recommendations and copies read them)
        assert set(store.vectors(["a" * 16])["a" * 16]) == {TEXT, VISUAL, AUDIO, MARENGO}
        store.close()


def test_a_video_embedders_query_ranks_videos_by_their_best_clip(tmp_path, request):
    """With clips stored (Marengo's), a video whose one clip shows the query ranks above a
    video that is only roughly like it as a whole, and its clips come back to locate it."""
    for kind in BACKENDS:
        sizes = dimensions(video_dim=8)
        assert list(sizes)[-2:] == [MOMENTS, MARENGO_CLIPS]  # multivectors last
        store = make_store(kind, tmp_path / kind, request, sizes)
        q = np.eye(384)[0]
        clipped, whole = _point("a" * 16, q, "ice", "A"), _point("b" * 16, q, "ice", "B")
        clipped.dense[MARENGO] = _axis(1, 8)
        clipped.dense[MARENGO_CLIPS] = [_axis(1, 8), _axis(2, 8), _axis(0, 8)]
        rough = (0.8 * np.eye(8)[0] + 0.6 * np.eye(8)[3]).tolist()
        whole.dense[MARENGO], whole.dense[MARENGO_CLIPS] = rough, [rough]
        store.upsert([clipped, whole])
        ranked = [h.video_id[0] for h in store.hybrid_search(
            [q.tolist()], {}, "", limit=2, spaces=(), extra={MARENGO: _axis(0, 8)})]
        assert ranked == ["a", "b"], kind
        held = store.vectors(["a" * 16], spaces=[MARENGO_CLIPS])["a" * 16][MARENGO_CLIPS]
        assert np.allclose(held[2], _axis(0, 8)), kind
        store.close()


def _axis(i: int, n: int = 384) -> list[float]:
    return np.eye(n)[i].tolist()


def _talk(vid: str, speech: list[float], moments: list[list[float]] | None) -> VideoPoint:
    point = _point(vid, _axis(50 + len(vid)), "talk", vid, seconds=30.0)
    point.dense[SPEECH] = speech
    if moments is not None:
        point.dense[MOMENTS] = moments
    return point


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_video_ranks_by_its_best_moment(kind, tmp_path, request):
    """A long talk whose middle says what the query asks is found by that moment, above a
    talk that is only loosely about it as a whole; the moments come back when asked for."""
    store = make_store(kind, tmp_path, request)
    query = _axis(0)
    loose = (0.6 * np.eye(384)[0] + 0.8 * np.eye(384)[2]).tolist()
    store.upsert([_talk("a" * 16, _axis(1), [_axis(1), _axis(3), query]),
                  _talk("b" * 16, loose, [loose]),
                  _point("c" * 16, _axis(4), "silent", "silent")])  # no speech, no moments
    by_moment = store.hybrid_search([query], {}, "", limit=3, spaces=(MOMENTS,))
    assert [h.video_id for h in by_moment] == ["a" * 16, "b" * 16]
    by_whole = store.hybrid_search([query], {}, "", limit=3, spaces=(SPEECH,))
    assert by_whole[0].video_id == "b" * 16
    held = store.vectors(["a" * 16], spaces=[MOMENTS])["a" * 16][MOMENTS]
    assert len(held) == 3 and np.allclose(held[2], query, atol=1e-6)
    assert MOMENTS not in store.vectors(["a" * 16])["a" * 16]  # flat vectors by default
    store.close()


def _reopen(kind: str, tmp_path: Path, request, sizes, collection: str):
    if kind == "edge":
        return EdgeStore(tmp_path / "q", sizes=sizes)
    if kind == "pg":
        return PgVectorStore(request.getfixturevalue("pg_dsn"), collection=collection,
                             sizes=sizes)
    return QdrantServerStore(location=str(tmp_path / "local"), sizes=sizes)


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_catalogue_from_before_moments_works_and_a_rebuild_adds_them(kind, tmp_path, request):
    collection = f"t{uuid.uuid4().hex[:10]}"
    old = _reopen(kind, tmp_path, request, older_layout(dimensions()), collection)
    old.upsert([_talk("a" * 16, _axis(0), None), _talk("b" * 16, _axis(1), None)])
    old.close()
    store = _reopen(kind, tmp_path, request, dimensions(), collection)
    # searched by its speech vectors, written to without moments, until a rebuild
    assert store.hybrid_search([_axis(0)], {}, "", limit=1)[0].video_id == "a" * 16
    store.upsert([_talk("c" * 16, _axis(2), [_axis(2), _axis(0)])])
    assert store.vectors(["c" * 16], spaces=[MOMENTS]) == {"c" * 16: {}}
    target = store.begin_rebuild()
    store.copy_into(target, ["a" * 16, "b" * 16, "c" * 16])
    store.switch_to(target)  # the same process goes on with the new layout (serve reindexes)
    held = store.vectors(["a" * 16, "c" * 16], spaces=[MOMENTS])
    assert [len(held[v][MOMENTS]) for v in ("a" * 16, "c" * 16)] == [1, 1]
    assert np.allclose(held["a" * 16][MOMENTS][0], _axis(0), atol=1e-6)
    store.upsert([_talk("c" * 16, _axis(2), [_axis(2), _axis(3)])])
    found = store.hybrid_search([_axis(3)], {}, "", limit=1, spaces=(MOMENTS,))
    assert found[0].video_id == "c" * 16  # by its moment, now stored
    store.close()


def test_a_server_collection_is_made_and_searched_with_the_embedded_engines_index(
        monkeypatch):
    """What a Qdrant server is asked for: an int8 copy of each space kept in memory, and
    every dense ranking walked with the embedded engine's ef and rescored on the full
    vectors. The in-process stand-in ignores both, so the requests themselves are checked."""
    from qdrant_client import QdrantClient

    from shortlist.store.edge_store import HNSW_EF, OVERSAMPLING, QUANTILE, RECOMMEND_EF

    sent: list[tuple[str, dict]] = []

    class Recording:
        def __init__(self, client) -> None:
            self._client = client

        def __getattr__(self, name):
            def call(*args, **kwargs):
                sent.append((name, kwargs))
                return getattr(self._client, name)(*args, **kwargs)
            return call

    monkeypatch.setattr(QdrantServerStore, "_connect",
                        lambda self: Recording(QdrantClient(location=":memory:")))
    vecs, points = _corpus(12)
    store = QdrantServerStore(url="http://qdrant.invalid:6333")
    store.upsert(points)
    (created,) = [kw for name, kw in sent if name == "create_collection"]
    scalar = created["quantization_config"].scalar
    assert (scalar.type.value, scalar.quantile, scalar.always_ram) == ("int8", QUANTILE, True)

    def walks(params) -> tuple:
        return params.hnsw_ef, params.quantization.rescore, params.quantization.oversampling

    assert store.hybrid_search([list(vecs[0])], query_sparse("word0"), "word0", limit=3)
    (batch,) = [kw["requests"] for name, kw in sent if name == "query_batch_points"]
    assert {walks(r.params) for r in batch if r.using != "keywords"} == {
        (HNSW_EF, True, OVERSAMPLING)}
    assert store.nearest(list(vecs[1]), TEXT, 3)[0] == points[1].video_id
    assert walks(sent[-1][1]["search_params"]) == (HNSW_EF, True, OVERSAMPLING)
    assert store.liked_neighbours([points[2].dense], [], {TEXT: 1.0, VISUAL: 0.5}, 4,
                                  exclude=[points[2].video_id])
    assert {walks(p.params) for p in sent[-1][1]["prefetch"]} == {
        (RECOMMEND_EF, True, OVERSAMPLING)}
    assert store.fused_neighbours({TEXT: list(vecs[3])}, 3)
    assert {walks(p.params) for p in sent[-1][1]["prefetch"]} == {
        (HNSW_EF, True, OVERSAMPLING)}
