"""Settings, text handling, ids, GPU slots, the store: fast tests on real parts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from shortlist.gpu import GpuSlots
from shortlist.settings import Settings
from shortlist.store.ids import point_id_for, video_id_for
from shortlist.store.qdrant_store import VideoStore
from shortlist.store.records import VideoPoint
from shortlist.text import sparse_weights, token_id, tokens


def test_settings_read_environment_over_profile(tmp_path):
    s = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path), "SHORTLIST_GPU_COUNT": "2",
                           "QDRANT_URL": "http://localhost:6333"})
    assert s.data_dir == tmp_path and s.gpu_count == 2
    assert s.qdrant_url == "http://localhost:6333"
    assert Settings.load(env={}, profile="gpu").device == "cuda"


def test_unknown_profile_is_an_error():
    with pytest.raises(ValueError, match="unknown settings profile"):
        Settings.load(env={}, profile="nope")


def test_tokens_drop_stop_words_and_fold_plurals():
    assert tokens("The Cats and the dogs, café!") == ["cat", "dog", "café"]


def test_sparse_weights_are_stable_and_field_weighted():
    w = sparse_weights([("penguin", 2.0), ("penguin ice", 1.0)])
    assert w[token_id("penguin")] > w[token_id("ice")]
    assert token_id("penguin") == token_id("penguin")  # crc32: same in every process


def test_ids_are_derived_from_content():
    sha = "ab" * 32
    assert video_id_for(sha) == "ab" * 8
    assert point_id_for("abc") == point_id_for("abc") != point_id_for("abd")


def test_gpu_slots_give_each_holder_its_own_device(tmp_path):
    slots = GpuSlots(2, tmp_path)
    holding: list[int] = []
    peak = []
    lock = threading.Lock()

    def work():
        with slots.acquire() as dev:
            with lock:
                assert dev not in holding
                holding.append(dev)
                peak.append(len(holding))
            time.sleep(0.05)
            with lock:
                holding.remove(dev)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(peak) == 2


def test_no_gpu_configured_means_cpu(tmp_path):
    with GpuSlots(0, tmp_path).acquire() as dev:
        assert dev is None


def _point(vid: str, text_vec, words: str, title: str) -> VideoPoint:
    from shortlist.store.search_index import fields_from_payload

    payload = {"video_id": vid, "title": title, "tags": words.split(),
               "duration_s": float(len(vid))}
    return VideoPoint(vid, payload, {"text": list(map(float, text_vec))},
                      sparse_weights([(words, 1.0)]), fields_from_payload(payload))


def test_store_upsert_is_idempotent_and_search_fuses_keywords(tmp_path):
    store = VideoStore(path=tmp_path / "q")
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(3, 384))
    store.upsert([_point("a", vecs[0], "zebra crossing", "A"),
                  _point("b", vecs[1], "penguin parade", "B"),
                  _point("c", vecs[2], "mountain lake", "C")])
    store.upsert([_point("b", vecs[1], "penguin parade", "B again")])
    assert store.count() == 3
    assert store.get("b")["title"] == "B again"
    # the dense part points at "a", the keyword at "b": both are found, keyword match ranks
    from shortlist.text import token_id as tid
    hits = store.hybrid_search([list(vecs[0])], {tid("penguin"): 1.0}, "penguins", limit=3)
    assert {h.video_id for h in hits[:2]} == {"a", "b"}
    assert store.get("zzz") is None
    # keyword hits obey filters too
    from shortlist.store.records import SearchFilters

    only_long = SearchFilters(min_duration_s=5)  # "b" has duration 1
    hits = store.hybrid_search([list(vecs[2])], {}, "penguin", limit=3, filters=only_long)
    assert hits == []
    store.delete(["b"])
    assert store.search_index.search("penguin") == []
    store.close()


def test_unfiltered_search_reads_the_index_and_matches_qdrant_without_its_lock(tmp_path):
    """A cold `shortlist search` reads only the index beside the folder: same answer as
    Qdrant's own ranking, even while another client holds the folder."""
    from shortlist.errors import StoreUnavailable
    from shortlist.store.records import SearchFilters

    owner = VideoStore(path=tmp_path / "q")
    rng = np.random.default_rng(2)
    vecs = rng.normal(size=(60, 384))
    owner.upsert([_point(f"{i:02d}", vecs[i], f"word{i} common", f"T{i}")
                  for i in range(60)])
    query = [list(vecs[5] + 0.5 * vecs[9])]
    via_qdrant = owner.hybrid_search(query, {}, "word3", limit=10,
                                     filters=SearchFilters(min_duration_s=0))
    reader = VideoStore(path=tmp_path / "q")  # the folder is held by `owner`
    via_index = reader.hybrid_search(query, {}, "word3", limit=10)
    assert [h.video_id for h in via_index] == [h.video_id for h in via_qdrant]
    assert via_index[0].payload["title"] == via_qdrant[0].payload["title"]
    with pytest.raises(StoreUnavailable, match="in use"):
        reader.hybrid_search(query, {}, "word3", limit=10, filters=SearchFilters(language="en"))
    reader.close()
    owner.close()

    # A lost index is rebuilt from Qdrant, the store of record.
    lost = list((tmp_path / "q").glob("*-index.db*"))
    assert lost
    for path in lost:
        path.unlink()
    rebuilt = VideoStore(path=tmp_path / "q")
    assert rebuilt.search_index.points_count() == 60
    again = rebuilt.hybrid_search(query, {}, "word3", limit=10)
    assert [h.video_id for h in again] == [h.video_id for h in via_index]
    rebuilt.close()


def test_the_index_runs_qdrants_recommend_query_with_the_same_answer(tmp_path):
    store = VideoStore(path=tmp_path / "q")
    rng = np.random.default_rng(4)
    vecs = rng.normal(size=(80, 384))
    store.upsert([_point(f"{i:02d}", vecs[i], f"word{i}", f"T{i}") for i in range(80)])
    taste = list(vecs[3] + vecs[7])
    for positive, negative in (([taste, "03", "07"], []), (["03"], ["10", "11"])):
        exclude = ["03", "07", "12"]
        ours = store.recommend(positive, negative, limit=10, exclude=exclude)
        qdrant = store.qdrant_recommend(positive, negative, limit=10, exclude=exclude)
        assert [h.video_id for h in ours] == [h.video_id for h in qdrant]
        assert np.allclose([h.score for h in ours], [h.score for h in qdrant], atol=1e-4)
        assert not {"03", "07", "12"} & {h.video_id for h in ours}
        assert len(ours[0].vectors["text"]) == 384
    store.close()


def test_keyword_index_ranks_title_words_over_transcript_words(tmp_path):
    from shortlist.store.search_index import SearchIndex

    index = SearchIndex(tmp_path / "k.db", {"text": 4})
    index.upsert("t", {"title": "Penguins on ice", "transcript": "birds"})
    index.upsert("s", {"title": "Birds", "transcript": "a penguin walked by, then birds"})
    index.upsert("t", {"title": "Penguins on ice again", "transcript": "birds"})  # replaces
    assert index.count() == 2
    assert [v for v, _ in index.search("penguin")] == ["t", "s"]  # porter stemming
    assert index.search("zebra") == [] and index.search("   ") == []


def test_keyword_index_ignores_stop_words_of_the_query(tmp_path):
    # Fusion counts ranks: a video matched only by "and" would still climb the fused list.
    from shortlist.store.search_index import SearchIndex

    index = SearchIndex(tmp_path / "k.db", {"text": 4})
    index.upsert("food", {"title": "Food and espresso"})
    index.upsert("talk", {"title": "Talk", "transcript": "the master programmer's computers"})
    assert [v for v, _ in index.search("computers and programming")] == ["talk"]
    assert index.search("and the of") == []


def test_second_process_on_the_embedded_store_gets_a_clear_error(tmp_path):
    import subprocess
    import sys

    store = VideoStore(path=tmp_path / "q")
    store.count()
    code = ("from pathlib import Path; from shortlist.store.qdrant_store import VideoStore\n"
            f"VideoStore(path=Path({str(tmp_path / 'q')!r})).count()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0 and "in use by another Shortlist process" in proc.stderr
    store.close()


def test_data_dir_defaults_to_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Settings.load(env={}).data_dir == Path(tmp_path) / "shortlist"


def test_a_collection_with_other_vector_sizes_is_refused_with_the_way_out(tmp_path):
    from qdrant_client import QdrantClient
    from qdrant_client import models as m

    from shortlist.errors import StoreUnavailable

    old = QdrantClient(path=str(tmp_path / "q"))
    old.create_collection("videos", vectors_config={
        "text": m.VectorParams(size=384, distance=m.Distance.COSINE),
        "visual": m.VectorParams(size=1280, distance=m.Distance.COSINE)})
    old.close()
    with pytest.raises(StoreUnavailable, match="SHORTLIST_COLLECTION"):
        VideoStore(path=tmp_path / "q").count()
