"""Twelve Labs Marengo as the video embedder, through the real `twelvelabs` SDK, against a
local stand-in that speaks the embed API and checks what the SDK sends
(tests/standin_twelvelabs.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shortlist.cloud.marengo import MarengoEmbedder
from shortlist.errors import CloudServiceError
from shortlist.settings import Settings
from tests.standin_twelvelabs import twelvelabs_standin

KEY = "tlk-test-key-not-a-secret-93d1"


@pytest.fixture()
def standin():
    with twelvelabs_standin() as s:
        s.slow_s = 2.0
        yield s


def _settings(standin, tmp_path: Path, **extra: str) -> Settings:
    return Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path), "TWELVELABS_API_KEY": KEY,
                              "SHORTLIST_TWELVELABS_BASE_URL": standin.base_url,
                              "SHORTLIST_VIDEO_EMBEDDER": "marengo",
                              "SHORTLIST_MARENGO_POLL_S": "0.05",
                              "SHORTLIST_CLOUD_RETRY_DELAY_S": "0.05",
                              "SHORTLIST_CLOUD_ATTEMPTS": "2",
                              "SHORTLIST_CLOUD_TIMEOUT_S": "1", **extra})


def test_a_video_is_uploaded_polled_until_ready_and_read_with_its_clips(standin, tmp_path,
                                                                        media):
    standin.video_words, standin.processing_polls = ["penguins on the ice"], 2
    embedder = MarengoEmbedder(_settings(standin, tmp_path))
    embedded = embedder.embed_video(media["silent"])
    assert len(embedded.vector) == 512 and np.isclose(np.linalg.norm(embedded.vector), 1.0)
    assert [(c.start_s, c.end_s) for c in embedded.clips] == [(0.0, 6.0), (6.0, 12.0)]
    create = standin.requests[0]
    assert create["path"] == "/embed/tasks" and create["fields"]["model_name"] == [b"marengo3.0"]
    polls = [r for r in standin.requests if r["path"].endswith("/status")]
    assert len(polls) == 3  # processing twice, then ready
    query = embedder.embed_query(["penguins", "a red car"])
    assert query.shape == (2, 512) and float(query[0] @ embedded.vector) > 0.4
    assert float(query[1] @ embedded.vector) < 0.1  # the stand-in's vectors decide


def test_a_429_is_retried_and_failures_are_named(standin, tmp_path, media):
    embedder = MarengoEmbedder(_settings(standin, tmp_path))
    standin.script = ["429"]
    assert embedder.embed_query(["penguins"]).shape == (1, 512)
    standin.script = ["500"] * 2
    with pytest.raises(CloudServiceError, match="creating the embedding task: answered 500 "
                                                "after 2 attempts"):
        embedder.embed_video(media["silent"])
    standin.script = ["failed"]
    with pytest.raises(CloudServiceError, match="could not embed the video .*failed"):
        embedder.embed_video(media["silent"])
    standin.script = ["ok", "ok", "ok", "malformed"]  # create, two polls, then the read
    with pytest.raises(CloudServiceError, match="511 numbers, Marengo gives 512"):
        embedder.embed_video(media["silent"])
    standin.script = ["slow"] * 2
    with pytest.raises(CloudServiceError, match="no answer within 1 s") as slow:
        embedder.embed_query(["penguins"])
    assert KEY not in str(slow.value)


def test_a_task_never_ready_fails_at_the_time_limit(standin, tmp_path, media):
    standin.processing_polls = 10_000
    embedder = MarengoEmbedder(_settings(standin, tmp_path, SHORTLIST_MARENGO_WAIT_S="0.3"))
    with pytest.raises(CloudServiceError, match="not ready within 0.3 s"):
        embedder.embed_video(media["silent"])


def test_no_key_is_named_and_the_video_embedder_changes_only_its_stage(tmp_path):
    from shortlist.runtime import Components

    env = {"SHORTLIST_DATA_DIR": str(tmp_path)}
    with pytest.raises(CloudServiceError, match="TWELVELABS_API_KEY"):
        MarengoEmbedder(Settings.load(env=env)).embed_query(["x"])
    local = Components(Settings.load(env=env)).stage_versions()
    marengo = Components(Settings.load(env={**env, "SHORTLIST_VIDEO_EMBEDDER": "marengo"}))
    assert set(marengo.stage_versions()) - set(local) == {"video_embed"}
    assert {k for k in local if local[k] != marengo.stage_versions()[k]} == set()
