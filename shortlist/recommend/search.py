"""Text search: the query's dense vector and its keywords, fused by Qdrant (reciprocal rank)."""

from __future__ import annotations

from typing import Any

from shortlist.models.text_embedding import TextEmbedder
from shortlist.store.qdrant_store import Hit, VideoStore
from shortlist.text import token_id, tokens

RESULT_FIELDS = ("video_id", "score", "source", "url", "title", "tags", "genres", "duration_s")


def search(store: VideoStore, embedder: TextEmbedder, query: str, limit: int = 10,
           offset: int = 0) -> list[Hit]:
    query = query.strip()
    if not query:
        raise ValueError("empty query: type some words to search for")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    dense = embedder.embed([query])[0].tolist()
    sparse = {token_id(t): 1.0 for t in tokens(query)}
    return store.hybrid_search(dense, sparse, limit=limit, offset=offset)


def result_record(hit: Hit) -> dict[str, Any]:
    """The shape every result takes in JSON output, CLI and HTTP alike."""
    p = hit.payload
    return {
        "video_id": hit.video_id,
        "score": round(hit.score, 4),
        "source": p.get("source"),
        "url": p.get("url"),
        "title": p.get("title", ""),
        "tags": p.get("tags", []),
        "genres": p.get("genres", []),
        "duration_s": p.get("duration_s"),
        "description": p.get("description", ""),
    }
