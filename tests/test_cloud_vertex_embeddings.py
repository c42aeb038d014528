"""Vertex AI text embeddings as the text embedder, through the real google-genai SDK, against
the local Vertex stand-in (tests/standin_vertex.py), which checks task types and sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shortlist.cloud.vertex_embeddings import VertexTextEmbedder
from shortlist.errors import CloudServiceError, StoreUnavailable
from shortlist.settings import Settings
from tests.standin_vertex import vertex_standin

KEY = "test-key-not-a-secret-51c9"


@pytest.fixture()
def standin():
    with vertex_standin() as s:
        s.slow_s = 2.0
        yield s


def _settings(standin, tmp_path: Path, **extra: str) -> Settings:
    return Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path), "GOOGLE_API_KEY": KEY,
                              "SHORTLIST_VERTEX_BASE_URL": standin.base_url,
                              "SHORTLIST_TEXT_EMBEDDER": "vertex",
                              "SHORTLIST_VERTEX_EMBEDDING_DIM": "64",
                              "SHORTLIST_CLOUD_ATTEMPTS": "3",
                              "SHORTLIST_CLOUD_RETRY_DELAY_S": "0.05",
                              "SHORTLIST_CLOUD_TIMEOUT_S": "1", **extra})


@pytest.mark.parametrize(("model", "method"), [("gemini-embedding-001", "batchEmbedContents"),
                                                ("text-embedding-005", "predict")])
def test_documents_and_queries_go_with_their_task_types_at_the_configured_size(
        standin, tmp_path, model, method):
    embedder = VertexTextEmbedder(_settings(standin, tmp_path,
                                            SHORTLIST_VERTEX_EMBEDDING_MODEL=model))
    docs = embedder.embed(["penguins walk on the ice", "a red car in the city", ""])
    query = embedder.embed_query(["penguins"])
    assert docs.shape == (3, 64) and np.allclose(np.linalg.norm(docs, axis=1), 1.0)
    assert int(np.argmax(docs @ query[0])) == 0  # the stand-in's vectors decide the ranking
    sent = [(r["path"].rsplit(":", 1)[1], json.dumps(r["body"])) for r in standin.requests]
    assert [m for m, _ in sent] == [method, "embedContent" if method != "predict" else method]
    assert "RETRIEVAL_DOCUMENT" in sent[0][1] and "RETRIEVAL_QUERY" in sent[1][1]
    assert embedder.name == f"vertex-{model}" and embedder.version == "64d"


def test_a_429_is_retried_and_a_permanent_500_a_slow_or_malformed_answer_fail_clearly(
        standin, tmp_path):
    embedder = VertexTextEmbedder(_settings(standin, tmp_path))
    standin.script = ["429"]
    assert embedder.embed(["penguins"]).shape == (1, 64)
    standin.script = ["500"] * 3
    with pytest.raises(CloudServiceError, match="answered 500 INTERNAL after 3 attempts"):
        embedder.embed(["penguins"])
    standin.script = ["malformed"]
    with pytest.raises(CloudServiceError, match="sizes \\[63\\].*at 64 dimensions"):
        embedder.embed(["penguins"])
    standin.script = ["slow"] * 3
    with pytest.raises(CloudServiceError, match="no answer from Vertex AI within 1 s") as slow:
        embedder.embed(["penguins"])
    assert KEY not in str(slow.value)


def test_another_embedding_model_or_size_embeds_again_and_nothing_before_it(tmp_path):
    from shortlist.runtime import Components

    env = {"SHORTLIST_DATA_DIR": str(tmp_path), "SHORTLIST_TEXT_EMBEDDER": "vertex"}
    before = Components(Settings.load(env=env)).stage_versions()
    for change in ({"SHORTLIST_VERTEX_EMBEDDING_MODEL": "text-embedding-005"},
                   {"SHORTLIST_VERTEX_EMBEDDING_DIM": "1536"}):
        after = Components(Settings.load(env={**env, **change})).stage_versions()
        assert {k for k in before if before[k] != after[k]} == {"embed"}


def test_a_catalogue_embedded_by_another_model_of_the_same_size_is_not_searched(tmp_path):
    from shortlist.recommend.search import search
    from shortlist.store.edge_store import EdgeStore
    from tests.points import make_point

    store = EdgeStore(tmp_path / "q")
    point = make_point(1, "Penguin parade", tmp_path / "media")
    point.payload["models"]["embed"] = "vertex-text-embedding-005:384d:doc-4"
    store.upsert([point])
    from shortlist.models.text_embedding import MiniLMEmbedder

    with pytest.raises(StoreUnavailable, match="made by vertex-text-embedding-005:384d.*reindex"):
        search(store, MiniLMEmbedder(), "penguin")
