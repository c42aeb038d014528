"""More like this: neighbours by picture, sound and words together, minus the video's own copies."""

from __future__ import annotations

import numpy as np

from shortlist.errors import NotFound
from shortlist.store.qdrant_store import AUDIO, TEXT, VISUAL, Hit, VideoStore

# Cosine above which two videos are the same content (a re-encode, a re-upload).
DUPLICATE_COSINE = 0.97


def similar(store: VideoStore, video_id: str, limit: int = 10) -> list[Hit]:
    if limit < 1 or limit > 100:
        raise ValueError("limit must be between 1 and 100")
    own = store.vectors([video_id]).get(video_id)
    if own is None:
        raise NotFound(f"no video with id {video_id!r}")
    vectors = {k: v for k, v in own.items() if k in (VISUAL, AUDIO, TEXT)}
    from shortlist.store.qdrant_store import SearchFilters

    hits = store.fused_neighbours(vectors, limit=limit * 3 + 5,
                                  query_filter=SearchFilters().to_qdrant([video_id]))
    kept = [h for h in hits if h.video_id != video_id and not is_duplicate(own, h.vectors or {})]
    return kept[:limit]


def is_duplicate(a: dict[str, list[float]], b: dict[str, list[float]]) -> bool:
    """Same content: visual and text vectors both almost identical."""
    shared = [k for k in (VISUAL, TEXT) if k in a and k in b]
    if VISUAL not in shared:
        return False
    return all(_cos(a[k], b[k]) >= DUPLICATE_COSINE for k in shared)


def _cos(x: list[float], y: list[float]) -> float:
    u, v = np.asarray(x), np.asarray(y)
    return float(u @ v / ((np.linalg.norm(u) * np.linalg.norm(v)) or 1.0))
