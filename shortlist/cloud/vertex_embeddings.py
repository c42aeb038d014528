"""Text embeddings from a Vertex AI model (`SHORTLIST_TEXT_EMBEDDER=vertex`): the catalogue's
text, speech and scene vectors, and the queries', through google-genai.

Documents and queries go with their task types (RETRIEVAL_DOCUMENT, RETRIEVAL_QUERY), as
the models are trained for asymmetric search; the size is asked for (output
dimensionality) and checked on every answer, since a store is made for one size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shortlist.cloud.vertex import call_vertex, vertex_client
from shortlist.errors import CloudServiceError
from shortlist.settings import Settings

BATCH = 16  # texts per request: within every Vertex embedding model's limit
MAX_CHARS = 8000  # about 2k tokens, the models' input limit; auto-truncation cuts the rest


class VertexTextEmbedder:
    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.settings = settings
        self.model = settings.vertex_embedding_model
        self.dim = settings.vertex_embedding_dim
        self.name = f"vertex-{self.model}"
        self._client = client

    @property
    def version(self) -> str:
        """Part of the embed stage's cache key: another model or size embeds again."""
        return f"{self.dim}d"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Catalogue text: what a search should find."""
        return self._embed(texts, "RETRIEVAL_DOCUMENT")

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, "RETRIEVAL_QUERY")

    def _embed(self, texts: Sequence[str], task: str) -> np.ndarray:
        from google.genai import types

        if self._client is None:
            self._client = vertex_client(self.settings)
        config = types.EmbedContentConfig(task_type=task, output_dimensionality=self.dim,
                                          auto_truncate=True)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            # An empty text is refused by the service; a space embeds as "nothing said".
            chunk = [(t or " ")[:MAX_CHARS] for t in texts[start:start + BATCH]]
            answer = call_vertex(f"embedding with {self.model}", self.settings,
                                 lambda chunk=chunk: self._client.models.embed_content(
                                     model=self.model, contents=chunk, config=config))
            vectors = [e.values or [] for e in (answer.embeddings or [])]
            if len(vectors) != len(chunk) or any(len(v) != self.dim for v in vectors):
                raise CloudServiceError(
                    f"embedding with {self.model}: Vertex AI answered "
                    f"{len(vectors)} vectors of sizes {sorted({len(v) for v in vectors})} for "
                    f"{len(chunk)} texts at {self.dim} dimensions")
            block = np.asarray(vectors, dtype=np.float32)
            norms = np.linalg.norm(block, axis=1, keepdims=True)
            out[start:start + len(chunk)] = block / np.maximum(norms, 1e-12)
        return out
