"""Settings, text handling, ids, GPU slots: fast tests on real parts (the store: test_store.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from shortlist.gpu import GpuSlots
from shortlist.settings import Settings
from shortlist.store.ids import point_id_for, video_id_for
from shortlist.text import query_sparse, sparse_weights, tokens


def test_settings_read_environment_over_profile(tmp_path):
    s = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path), "SHORTLIST_GPU_COUNT": "2",
                           "QDRANT_URL": "http://localhost:6333"})
    assert s.data_dir == tmp_path and s.gpu_count == 2
    assert s.qdrant_url == "http://localhost:6333"
    assert Settings.load(env={}, profile="gpu").device == "cuda"


def test_a_relative_data_dir_names_the_same_files_from_any_working_folder(
        media, tmp_path, monkeypatch):
    """Its paths go into renditions' manifests and payloads: a relative data dir made a
    catalogue whose files another working folder could not find (or found elsewhere)."""
    from shortlist.pipeline import identify, transcode_video
    from shortlist.sources import LocalVideo

    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    settings = Settings.load(env={"SHORTLIST_DATA_DIR": "data"})
    assert settings.data_dir == tmp_path / "here" / "data"
    video = identify(LocalVideo(str(media["silent"]), str(media["silent"])))
    rendition = transcode_video(video, settings)
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert Path(rendition.video_path).exists()
    assert all(Path(p).exists() for p in rendition.frame_paths)


def test_unknown_profile_is_an_error():
    with pytest.raises(ValueError, match="unknown settings profile"):
        Settings.load(env={}, profile="nope")


def test_tokens_drop_stop_words_and_fold_plurals():
    assert tokens("The Cats and the dogs, café!") == ["cat", "dog", "café"]


def test_keyword_vectors_stem_weigh_fields_and_match_their_queries():
    doc = sparse_weights([("Penguins", 2.0), ("a penguin walking on ice", 1.0)])
    # both words match, stemmed alike on both sides ("walks" finds "walking")
    assert len(set(query_sparse("penguin walks")) & set(doc)) == 2
    penguin = next(i for i in query_sparse("penguin") if i in doc)
    (ice,) = query_sparse("ice")  # three letters: no sound key
    assert doc[penguin] > doc[ice]  # the title-like field counts twice
    assert query_sparse("the and of") == {}
    assert sparse_weights([("penguin", 1.0)]) == sparse_weights([("penguin", 1.0)])


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


def test_data_dir_defaults_to_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Settings.load(env={}).data_dir == Path(tmp_path) / "shortlist"


def test_a_comma_separated_querys_preferences_rank_in_words_and_speech_only():
    """The whole query ranks in every space; each preference only where words are said or
    written (records.PREFERENCE_SPACES), so a two-preference query costs 7 engine searches,
    not 9, and the store is asked for all of them (and the keywords) at once."""
    from shortlist.store.records import KEYWORDS, MOMENTS, SCENE, TEXT, fuse_search

    batches: list[list[tuple[str, float]]] = []

    def rank(requests):
        batches.append([(space, q if space == KEYWORDS else q[0]) for space, q in requests])
        return [[("c", 1.0)] if space == KEYWORDS
                else [("a", 0.9), ("b", 0.5)] if q[0] == 1.0 else [("b", 0.9)]
                for space, q in requests]

    fused = fuse_search(rank, [[0.0], [1.0], [2.0]], {7: 1.0}, [TEXT, MOMENTS, SCENE], None,
                        depth=10)
    assert len(batches) == 1
    assert sorted(batches[0], key=str) == sorted(
        [(TEXT, 0.0), (MOMENTS, 0.0), (SCENE, 0.0), (TEXT, 1.0), (MOMENTS, 1.0), (TEXT, 2.0),
         (MOMENTS, 2.0), (KEYWORDS, {7: 1.0})], key=str)
    # "b" is in three of the four votes; "a" and "c" lead one each and tie, in id order.
    assert [v for v, _ in fused] == ["b", "a", "c"]
