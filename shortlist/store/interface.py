"""The one store interface: what ingest, search, recommendations and reindex need.

Implementations, chosen once at start-up (shortlist/runtime.py) and handed in:
- EdgeStore (shortlist/store/edge_store.py): Qdrant's engine embedded, the default;
- QdrantServerStore (shortlist/store/qdrant_store.py): a Qdrant server or Qdrant Cloud;
- PgVectorStore (shortlist/store/pg_store.py): PostgreSQL + pgvector;
- ServedStore (shortlist/api/served_store.py): the catalogue of a running `shortlist serve`.
Ranking that no engine does (several preference rankings, multi-interest
recommendations) lives above this interface, in shortlist/recommend/.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from shortlist.store.records import TEXT_SPACES, Hit, SearchFilters, VideoPoint


class VideoStore(Protocol):
    sizes: dict[str, int]  # each dense space's size, fixed when the catalogue was made

    # Writes
    def upsert(self, points: Sequence[VideoPoint], collection: str | None = None) -> None: ...
    def delete(self, video_ids: Sequence[str]) -> None: ...
    def optimize(self) -> None: ...  # build the engine's indexes now (after many writes)

    # Reads
    def get(self, video_id: str, with_vectors: bool = False) -> dict[str, Any] | None: ...
    def get_many(self, video_ids: Sequence[str]) -> list[dict[str, Any]]: ...
    # Each video's length in seconds, without its payload (a user's history is up to
    # hundreds of videos, a payload a few KB); a video without one is left out.
    def durations(self, video_ids: Sequence[str]) -> dict[str, float]: ...
    def count(self) -> int: ...
    def scroll(self, batch: int = 256) -> Iterator[dict[str, Any]]: ...
    # The flat vectors by default; `spaces` names others (the moments' multivector).
    def vectors(self, video_ids: Sequence[str], spaces: Sequence[str] | None = None
                ) -> dict[str, dict[str, list]]: ...
    def newest(self, limit: int) -> list[dict[str, Any]]: ...

    # Rankings
    def hybrid_search(self, dense: list[list[float]], sparse: dict[int, float],
                      keyword_query: str, limit: int, offset: int = 0,
                      filters: SearchFilters | None = None,
                      spaces: Sequence[str] = TEXT_SPACES,
                      extra: dict[str, list[float]] | None = None) -> list[Hit]: ...
    # These two return candidates with their vectors; a hit's payload may hold only
    # `video_id` (the caller reads the payloads of what it shows: a real one is a few KB,
    # and the engine reads it whole to return any field).
    def fused_neighbours(self, vectors: dict[str, list[float]], limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]: ...
    def liked_neighbours(self, positives: Sequence[dict[str, list[float]]],
                         negatives: Sequence[dict[str, list[float]]],
                         weights: dict[str, float], limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]: ...
    def nearest(self, vector: list[float], using: str, limit: int,
                exclude: Sequence[str] = ()) -> list[str]: ...
    def keyword_ranking(self, text: str, limit: int,
                        exclude: Sequence[str] = ()) -> list[str]: ...

    # Rebuild beside the live catalogue, then switch atomically
    def physical_collection(self) -> str: ...
    def begin_rebuild(self) -> str: ...
    def copy_into(self, target: str, video_ids: Sequence[str], batch: int = 256) -> None: ...
    def switch_to(self, target: str) -> str: ...
    def abandon_rebuild(self, target: str) -> None: ...

    def close(self) -> None: ...
