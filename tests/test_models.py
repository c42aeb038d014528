"""The offline models on real media: each must find what is really there."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from shortlist.media.probe import probe
from shortlist.media.transcode import TranscodeOptions, transcode
from shortlist.models.asr import FasterWhisperTranscriber
from shortlist.models.audio import AudioTagger
from shortlist.models.ocr import TextReader, pick_text_frames
from shortlist.models.text_embedding import MiniLMEmbedder
from shortlist.models.vision import FrameTagger

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def renditions(media, tmp_path_factory):
    out = tmp_path_factory.mktemp("renditions")
    return {name: transcode(media[name], probe(media[name]), out / name, TranscodeOptions())
            for name in ("speech", "vertical", "caption", "silent")}


def test_whisper_transcribes_spoken_words(renditions):
    t = FasterWhisperTranscriber("tiny.en").transcribe(Path(renditions["speech"].audio_path))
    text = t.text.lower()
    assert t.language == "en"
    assert "telescope" in text and "galax" in text
    assert t.segments[0].start < t.segments[-1].end


def test_whisper_asked_for_cuda_where_it_cannot_run_transcribes_on_the_cpu(renditions, caplog):
    # The lent H100 had CUDA 13 only, which the pip CTranslate2 cannot use; this machine
    # has no GPU at all. Either way the words come out, and a warning says why.
    transcriber = FasterWhisperTranscriber("tiny.en", device="cuda", compute_type="float16")
    with caplog.at_level("WARNING", logger="shortlist.models.asr"):
        t = transcriber.transcribe(Path(renditions["speech"].audio_path))
    assert (transcriber.device, transcriber.compute_type) == ("cpu", "int8")
    assert "cannot run on CUDA" in caplog.text
    assert "telescope" in t.text.lower()


def test_multilingual_base_model_loads_from_its_two_packages(renditions):
    t = FasterWhisperTranscriber("base").transcribe(Path(renditions["speech"].audio_path))
    assert t.language == "en"  # detected, not forced: base is multilingual
    assert "galax" in t.text.lower() and "solar system" in t.text.lower()


def test_audio_tagger_hears_speech_and_a_tone(renditions):
    tagger = AudioTagger(Path(renditions["speech"].directory).parent / "models")
    speech = tagger.tag(renditions["speech"].audio_path)
    tone = tagger.tag(renditions["vertical"].audio_path)  # a 440 Hz sine
    assert speech.labels[0].name in ("Speech", "Speech synthesizer", "Narration, monologue")
    assert speech.speech_ratio > 0.5
    assert tone.speech_ratio < 0.2
    tonal = {"Sine wave", "Beep, bleep", "Dial tone", "Busy signal", "Tuning fork"}
    assert tonal & {lb.name for lb in tone.labels}
    assert speech.scores.shape == (521,)


def test_ocr_reads_burnt_in_caption(renditions):
    frames = pick_text_frames(renditions["caption"].frame_paths, 1)
    lines = TextReader().read(frames)
    assert "PENGUIN PARADE" in " ".join(lines).upper().replace("  ", " ")


def test_frame_tagger_names_a_cat(corpus):
    clip = corpus / "photo-chelsea.mp4"
    r = transcode(clip, probe(clip), corpus.parent / ".cache" / "test-chelsea",
                  TranscodeOptions())
    tags = FrameTagger().tag(r.frame_paths)
    assert any("cat" in w.name for w in tags.words[:3])
    assert tags.features.shape == (1280,)
    assert abs(np.linalg.norm(tags.features) - 1.0) < 1e-4


def test_text_embedding_puts_related_sentences_closer():
    e = MiniLMEmbedder()
    v = e.embed(["a kitten sleeping on a sofa", "a cat resting on a couch",
                 "parliament passed the budget law"])
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_minilm_matches_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    from shortlist.models.text_embedding import bundled_minilm_dir

    texts = ["sci-fi, dark tone", "A long talk about taxes and budgets. " * 30, "ok"]
    ours = MiniLMEmbedder().embed(texts)
    reference = SentenceTransformer(str(bundled_minilm_dir()), device="cpu").encode(
        texts, normalize_embeddings=True)
    assert np.allclose((ours * reference).sum(axis=1), 1.0, atol=1e-5)


def test_queries_run_an_8bit_graph_whose_vectors_match_the_catalogues(tmp_path):
    import onnx

    e = MiniLMEmbedder(cache_dir=tmp_path)
    texts = ["sci-fi, dark tone", "a cat", "A long talk about taxes and budgets. " * 30,
             "the Ajanta caves are famous for their paintings", "ok"]
    catalogue, queries = e.embed(texts), e.embed_query(texts)
    agreement = (catalogue * queries).sum(axis=1)
    assert agreement.min() > 0.998 and not np.allclose(catalogue, queries, atol=1e-4)
    graph = onnx.load(str(next(tmp_path.glob("minilm-*/query.onnx"))), load_external_data=False)
    assert [n.op_type for n in graph.graph.node].count("MatMulNBits") == 6 * 6  # every layer's


def test_minilm_graph_is_built_once_and_works_without_a_writable_cache(tmp_path):
    cache = tmp_path / "cache"
    first = MiniLMEmbedder(cache_dir=cache).embed(["a red bicycle"])
    built = list(cache.glob("minilm-*/model.onnx"))
    assert len(built) == 1 and not list(cache.glob(".minilm-*"))
    stamp = built[0].stat().st_mtime_ns
    again = MiniLMEmbedder(cache_dir=cache).embed(["a red bicycle"])
    assert built[0].stat().st_mtime_ns == stamp
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    without = MiniLMEmbedder(cache_dir=blocked).embed(["a red bicycle"])
    assert np.allclose(first, again) and np.allclose(first, without, atol=1e-6)


def test_a_query_may_use_more_threads_than_catalogue_text_and_gets_the_same_vector(tmp_path):
    from shortlist.runtime import components_for
    from shortlist.settings import Settings

    texts = ["sci-fi, dark tone", "a cat", "the Ajanta caves are famous for their paintings"]
    alone = MiniLMEmbedder(cache_dir=tmp_path).embed_query(texts)
    shared = MiniLMEmbedder(cache_dir=tmp_path, query_threads=2)
    assert np.allclose(shared.embed_query(texts), alone, atol=1e-6)
    assert shared.load(for_queries=True).get_session_options().intra_op_num_threads == 2
    assert shared.load().get_session_options().intra_op_num_threads == 1  # ingest's share

    def embedder(env: dict[str, str]) -> MiniLMEmbedder:
        settings = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path), **env})
        return components_for(settings).embedder()

    assert embedder({"SHORTLIST_QUERY_THREADS": "3"}).query_threads == 3
    assert embedder({}).query_threads == min(4, os.cpu_count() or 1)
