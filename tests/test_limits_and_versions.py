"""Long inputs cost bounded memory, over-long ones are refused by name, and every setting
that changes a result changes its stage's version (so no cache hands back stale work)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from shortlist.settings import Settings
from tests.conftest import ffmpeg


def _wav(path: Path, seconds: float) -> Path:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * 16000)) / 16000
    signal = 0.3 * np.sin(2 * np.pi * 440 * t) * (t % 3 < 1.5) + 0.05 * rng.normal(size=len(t))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_audio_read_in_windows_gives_the_patches_of_one_pass(tmp_path):
    from shortlist.models.audio import log_mel_patch_stream, log_mel_patches, wav_windows

    wav = _wav(tmp_path / "a.wav", 70.3)
    whole = log_mel_patches(np.concatenate(list(wav_windows(wav, 1000))))
    for seconds in (60, 7.3, 0.01):
        streamed = np.concatenate(list(log_mel_patch_stream(wav_windows(wav, seconds))))
        assert streamed.shape == whole.shape
        assert np.abs(streamed - whole).max() < 1e-5


def test_a_long_video_gets_a_bounded_number_of_model_frames(tmp_path):
    from shortlist.media.probe import probe
    from shortlist.media.transcode import TranscodeOptions, transcode

    src = tmp_path / "long.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x48:r=5:d=40", "-c:v", "libx264",
           "-preset", "ultrafast", str(src))
    r = transcode(src, probe(src), tmp_path / "out", TranscodeOptions(max_model_frames=10))
    assert 9 <= len(r.frame_paths) <= 11
    assert r.frame_interval_s == pytest.approx(4.0)
    assert probe(Path(r.video_path)).duration_s == pytest.approx(40, abs=1.5)  # still 1 fps
    short = transcode(src, probe(src), tmp_path / "all", TranscodeOptions())
    assert len(short.frame_paths) >= 39 and short.frame_interval_s == 1.0


def test_a_video_over_the_duration_limit_is_refused_by_name(tmp_path, media):
    from shortlist.errors import MediaError, VideoRefused
    from shortlist.pipeline import check_duration, identify
    from shortlist.sources import LocalVideo

    video = identify(LocalVideo(str(media["speech"]), str(media["speech"])))
    check_duration(video, Settings(max_duration_s=600))
    with pytest.raises(VideoRefused, match=r"up to 0:02 \(SHORTLIST_MAX_DURATION_S\)") as err:
        check_duration(video, Settings(max_duration_s=2))
    assert not isinstance(err.value, MediaError)  # not remembered as a broken file


# setting -> value, and the stages whose output it changes (every other stage keeps its
# version, so a rerun recomputes exactly those).
SETTING_CHANGES = [
    ("SHORTLIST_RENDITION_SIZE", "512", {"transcode"}),
    ("SHORTLIST_RENDITION_FPS", "2", {"transcode"}),
    ("SHORTLIST_X264_PRESET", "veryfast", {"transcode"}),
    ("SHORTLIST_MAX_MODEL_FRAMES", "100", {"transcode"}),
    ("SHORTLIST_ASR_MODEL", "base", {"asr"}),
    ("SHORTLIST_ASR_BEAM_SIZE", "5", {"asr"}),
    ("SHORTLIST_DESCRIBER", "gemini", {"describe"}),
    ("SHORTLIST_MAX_TAG_FRAMES", "4", {"visual"}),
    ("SHORTLIST_OCR_FRAMES", "3", {"ocr"}),
]


@pytest.mark.parametrize(("variable", "value", "stages"), SETTING_CHANGES)
def test_each_setting_changes_the_version_of_its_stage_only(tmp_path, variable, value, stages):
    from shortlist.runtime import Components

    base_env = {"SHORTLIST_DATA_DIR": str(tmp_path)}
    before = Components(Settings.load(env=base_env)).stage_versions()
    after = Components(Settings.load(env={**base_env, variable: value})).stage_versions()
    changed = {k for k in before if before[k] != after[k]}
    assert changed == stages


def test_the_asr_version_follows_the_compute_type_where_it_is_used(tmp_path):
    from shortlist.runtime import Components

    def asr(**env):
        s = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path), **env})
        return Components(s).stage_versions()["asr"]

    assert asr(SHORTLIST_ASR_COMPUTE_TYPE="float16") == asr()  # the CPU runs int8 anyway
    assert asr(SHORTLIST_DEVICE="cuda", SHORTLIST_ASR_COMPUTE_TYPE="float16") != \
        asr(SHORTLIST_DEVICE="cuda", SHORTLIST_ASR_COMPUTE_TYPE="int8_float16")


def test_editing_a_table_a_component_reads_changes_its_version(monkeypatch):
    from shortlist import describe
    from shortlist.models import vision

    before = describe.LocalDescriber(embedder=None).version
    monkeypatch.setitem(describe.GENRES, "origami", "origami, paper folding")
    assert describe.LocalDescriber(embedder=None).version != before
    tagger = vision.FrameTagger().version
    monkeypatch.setattr(vision, "HYPERNYM_LEVELS", vision.HYPERNYM_LEVELS + 1)
    assert vision.FrameTagger().version != tagger


def test_the_transcode_stage_version_is_the_renditions_own_fingerprint(tmp_path):
    from shortlist.pipeline import transcode_options
    from shortlist.runtime import Components

    s = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path)})
    assert Components(s).stage_versions()["transcode"] == transcode_options(s).fingerprint


@pytest.mark.slow
def test_transcription_in_windows_keeps_the_words_and_their_times(tmp_path, media):
    from shortlist.media.probe import probe
    from shortlist.media.transcode import TranscodeOptions, transcode
    from shortlist.models.asr import FasterWhisperTranscriber

    r = transcode(media["speech"], probe(media["speech"]), tmp_path / "r", TranscodeOptions())
    whole = FasterWhisperTranscriber().transcribe(Path(r.audio_path))
    windowed = FasterWhisperTranscriber(window_s=3.0).transcribe(Path(r.audio_path))
    starts = [s.start for s in windowed.segments]
    assert starts == sorted(starts) and max(starts) >= 3.0  # later windows keep their offset
    assert "galax" in windowed.text.lower() and "galax" in whole.text.lower()
