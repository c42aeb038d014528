"""Fixed random orthogonal projections: smaller visual and audio vectors, cosine kept.

By Johnson-Lindenstrauss, projecting to a few hundred dimensions keeps cosines within a
few hundredths. The embedded store unpickles every vector when it opens, so 1280+521
floats per video cost a 10k-video catalogue ~2 s of start-up that 256+128 do not.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=8)
def projection_matrix(source_dim: int, target_dim: int, seed: int) -> np.ndarray:
    """[source_dim, target_dim] with orthonormal columns, the same in every process."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((source_dim, target_dim)))
    return q.astype(np.float32)


def project(vector: np.ndarray, target_dim: int, seed: int) -> np.ndarray:
    """Project and L2-normalise (the stores compare by cosine)."""
    v = np.asarray(vector, dtype=np.float32)
    out = v @ projection_matrix(v.shape[-1], target_dim, seed)
    return out / (np.linalg.norm(out) or 1.0)
