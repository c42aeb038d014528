"""Gemini on Vertex AI as the describer, through the real google-genai SDK, against a local
stand-in that speaks the wire protocol and checks what the SDK sends (tests/standin_vertex.py).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from shortlist.cloud.gemini import GeminiDescriber
from shortlist.errors import CloudServiceError
from shortlist.media.transcode import Rendition
from shortlist.models.asr import Segment, Transcript
from shortlist.settings import Settings
from shortlist.signals import Signals
from tests.standin_vertex import vertex_standin

KEY = "test-key-not-a-secret-7f3a"


@pytest.fixture()
def standin():
    with vertex_standin() as s:
        yield s


def _settings(standin, tmp_path: Path, **extra: str) -> Settings:
    return Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path), "GOOGLE_API_KEY": KEY,
                              "SHORTLIST_VERTEX_BASE_URL": standin.base_url,
                              "SHORTLIST_CLOUD_ATTEMPTS": "3",
                              "SHORTLIST_CLOUD_RETRY_DELAY_S": "0.05",
                              "SHORTLIST_CLOUD_TIMEOUT_S": "5", **extra})


def _rendition(tmp_path: Path, size: int = 4096) -> Rendition:
    folder = tmp_path / "media" / "0123456789abcdef"
    folder.mkdir(parents=True)
    video = folder / "rendition.mp4"
    video.write_bytes(os.urandom(size))
    return Rendition(str(folder), str(video), None, (), 3.0, "libx264")


SIGNALS = Signals(3.0, Transcript("en", 0.99, (Segment(0, 2, "Penguins walk on the ice."),)),
                  None, None, ("ANTARCTICA",))


def test_gemini_watches_the_video_and_answers_in_the_description_shape(standin, tmp_path):
    rendition = _rendition(tmp_path)
    described = GeminiDescriber(_settings(standin, tmp_path)).describe(SIGNALS, rendition)
    assert described.title == "Penguins waddle on the ice"
    assert described.genres == ("animals", "nature")
    assert described.tags == ("penguin", "ice", "colony")  # cleaned: lowercase, once each
    assert described.describer == "gemini:gemini-3.6-flash+prompt-1"
    [request] = standin.requests
    assert ":generateContent" in request["path"] and "gemini-3.6-flash" in request["path"]
    assert standin.video_bytes() == Path(rendition.video_path).read_bytes()
    assert "Penguins walk on the ice." in standin.prompt() and "ANTARCTICA" in standin.prompt()
    assert request["headers"].get("x-goog-api-key") == KEY
    assert KEY not in repr(described) and KEY not in repr(_settings(standin, tmp_path))


def test_a_rate_limit_is_retried_then_answered(standin, tmp_path):
    standin.script = ["429", "429"]
    described = GeminiDescriber(_settings(standin, tmp_path)).describe(
        SIGNALS, _rendition(tmp_path))
    assert described.title and len(standin.requests) == 3


def test_a_permanent_server_error_fails_the_stage_with_the_reason(standin, tmp_path):
    standin.script = ["500"] * 10
    with pytest.raises(CloudServiceError, match=r"500.*after 3 attempts") as failed:
        GeminiDescriber(_settings(standin, tmp_path)).describe(SIGNALS, _rendition(tmp_path))
    assert len(standin.requests) == 3 and KEY not in str(failed.value)


def test_a_malformed_answer_is_an_error_not_an_invented_title(standin, tmp_path):
    standin.script = ["malformed"]
    with pytest.raises(CloudServiceError, match="did not follow the schema"):
        GeminiDescriber(_settings(standin, tmp_path)).describe(SIGNALS, _rendition(tmp_path))


def test_a_slow_answer_past_the_time_limit_fails_in_time(standin, tmp_path):
    standin.script, standin.slow_s = ["slow"] * 5, 3.0
    settings = _settings(standin, tmp_path, SHORTLIST_CLOUD_TIMEOUT_S="0.5",
                         SHORTLIST_CLOUD_ATTEMPTS="1")
    started = time.monotonic()
    with pytest.raises(CloudServiceError, match=r"within 0.5 s"):
        GeminiDescriber(settings).describe(SIGNALS, _rendition(tmp_path))
    assert time.monotonic() - started < 2.5


def test_mirrored_renditions_go_by_their_gs_uri_and_big_ones_are_refused_inline(standin,
                                                                               tmp_path):
    mirrored = _settings(standin, tmp_path, SHORTLIST_GEMINI_VIDEO_URI_PREFIX="gs://cat/r/")
    GeminiDescriber(mirrored).describe(SIGNALS, _rendition(tmp_path))
    assert standin.file_uri() == "gs://cat/r/0123456789abcdef.mp4"
    assert standin.video_bytes() is None
    small = _settings(standin, tmp_path / "b", SHORTLIST_GEMINI_INLINE_MAX_MB="0.001")
    with pytest.raises(CloudServiceError, match="SHORTLIST_GEMINI_VIDEO_URI_PREFIX"):
        GeminiDescriber(small).describe(SIGNALS, _rendition(tmp_path / "b"))
    assert len(standin.requests) == 1  # the refused one was never sent


def test_without_a_project_or_key_the_message_says_what_to_set(tmp_path):
    settings = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path)})
    with pytest.raises(CloudServiceError, match="GOOGLE_CLOUD_PROJECT"):
        GeminiDescriber(settings).describe(SIGNALS, _rendition(tmp_path))


def test_another_gemini_model_describes_again_and_nothing_else_is_redone(tmp_path):
    from shortlist.runtime import Components

    env = {"SHORTLIST_DATA_DIR": str(tmp_path), "SHORTLIST_DESCRIBER": "gemini"}
    before = Components(Settings.load(env=env)).stage_versions()
    after = Components(Settings.load(env={**env, "SHORTLIST_GEMINI_MODEL": "gemini-3.8-flash"})
                       ).stage_versions()
    assert {k for k in before if before[k] != after[k]} == {"describe"}
    assert "gemini-3.8-flash" in after["describe"]


def test_a_project_uses_its_credentials_and_missing_ones_are_named(standin, tmp_path,
                                                                  monkeypatch):
    """Project and location with Application Default Credentials: the project's route and
    a Bearer token; without credentials, a message that says how to get them."""
    import google.auth
    from google.oauth2.credentials import Credentials

    env = {"SHORTLIST_DATA_DIR": str(tmp_path), "GOOGLE_CLOUD_PROJECT": "my-proj",
           "GOOGLE_CLOUD_LOCATION": "us-central1", "SHORTLIST_VERTEX_BASE_URL": standin.base_url,
           "SHORTLIST_CLOUD_ATTEMPTS": "1"}
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(CloudServiceError, match="application-default login"):
        GeminiDescriber(Settings.load(env=env)).describe(SIGNALS, _rendition(tmp_path))
    monkeypatch.setattr(google.auth, "default",
                        lambda *a, **k: (Credentials(token="adc-token"), "my-proj"))
    described = GeminiDescriber(Settings.load(env=env)).describe(SIGNALS,
                                                                 _rendition(tmp_path / "b"))
    assert described.title
    request = standin.requests[-1]
    assert "/projects/my-proj/locations/us-central1/" in request["path"]
    assert request["headers"].get("Authorization") == "Bearer adc-token"
