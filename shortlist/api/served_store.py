"""The embedded store while `shortlist serve` owns it, as this user's other processes see it.

The embedded shard admits one process. Rather than fail while the server runs, the CLI's
reads, an ingest and a worker's flow run use the store through the server, which owns it:
each interface call goes to `POST /admin/store/{operation}` (shortlist/api/store_calls.py),
points to `POST /admin/points`; what they write is searchable the moment it is written.
Chosen once, in `Components.store()` (shortlist/runtime.py); callers never know.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pydantic_core import to_jsonable_python

from shortlist.api.client import ServeClient
from shortlist.api.store_calls import RETURNS_HITS
from shortlist.errors import StoreUnavailable
from shortlist.store.records import TEXT_SPACES, Hit, SearchFilters, VideoPoint


class ServedStore:
    """A `VideoStore` whose every call is answered by the `shortlist serve` that owns it."""

    def __init__(self, client: ServeClient, sizes: dict[str, int] | None = None) -> None:
        from shortlist.store.records import DIMENSIONS

        self.client = client
        self.sizes = dict(sizes or DIMENSIONS)  # as this process's settings say; serve checks

    def _ask(self, operation: str, **arguments: Any) -> Any:
        answer = self.client.store_call(operation, to_jsonable_python(arguments))
        return [Hit(**h) for h in answer] if operation in RETURNS_HITS else answer

    # Writes
    def upsert(self, points: Sequence[VideoPoint], collection: str | None = None) -> None:
        if collection is not None:
            self._refuse_rebuild()
        from shortlist.api.schemas import MAX_POINTS_PER_REQUEST as batch

        for start in range(0, len(points), batch):
            try:
                self.client.upsert(list(points[start:start + batch]))
            except ValueError as exc:  # the server refused: a wrong key, a reindex running
                hint = (" Ingest with the SHORTLIST_API_KEY the server was started with."
                        if "X-API-Key" in str(exc) else "")
                raise StoreUnavailable(f"`shortlist serve` at {self.client.base_url} owns the "
                                       f"store and refused the write: {exc}.{hint}") from exc

    def delete(self, video_ids: Sequence[str]) -> None:
        self._ask("delete", video_ids=list(video_ids))

    def optimize(self) -> None:
        self._ask("optimize")

    # Reads
    def get(self, video_id: str, with_vectors: bool = False) -> dict[str, Any] | None:
        return self._ask("get", video_id=video_id, with_vectors=with_vectors)

    def get_many(self, video_ids: Sequence[str]) -> list[dict[str, Any]]:
        return self._ask("get_many", video_ids=list(video_ids))

    def durations(self, video_ids: Sequence[str]) -> dict[str, float]:
        return self._ask("durations", video_ids=list(video_ids))

    def count(self) -> int:
        return self._ask("count")

    def scroll(self, batch: int = 256) -> Iterator[dict[str, Any]]:
        return self.client.store_scroll(batch)

    def vectors(self, video_ids: Sequence[str], spaces: Sequence[str] | None = None
                ) -> dict[str, dict[str, list]]:
        return self._ask("vectors", video_ids=list(video_ids),
                         spaces=list(spaces) if spaces is not None else None)

    def newest(self, limit: int) -> list[dict[str, Any]]:
        return self._ask("newest", limit=limit)

    # Rankings
    def hybrid_search(self, dense: list[list[float]], sparse: dict[int, float],
                      keyword_query: str, limit: int, offset: int = 0,
                      filters: SearchFilters | None = None,
                      spaces: Sequence[str] = TEXT_SPACES,
                      extra: dict[str, list[float]] | None = None) -> list[Hit]:
        return self._ask("hybrid_search", dense=dense, sparse=sparse,
                         keyword_query=keyword_query, limit=limit, offset=offset,
                         filters=filters, spaces=list(spaces), extra=extra or {})

    def fused_neighbours(self, vectors: dict[str, list[float]], limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]:
        return self._ask("fused_neighbours", vectors=vectors, limit=limit,
                         exclude=list(exclude))

    def liked_neighbours(self, positives: Sequence[dict[str, list[float]]],
                         negatives: Sequence[dict[str, list[float]]],
                         weights: dict[str, float], limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]:
        return self._ask("liked_neighbours", positives=list(positives),
                         negatives=list(negatives), weights=weights, limit=limit,
                         exclude=list(exclude))

    def nearest(self, vector: list[float], using: str, limit: int,
                exclude: Sequence[str] = ()) -> list[str]:
        return self._ask("nearest", vector=vector, using=using, limit=limit,
                         exclude=list(exclude))

    def keyword_ranking(self, text: str, limit: int,
                        exclude: Sequence[str] = ()) -> list[str]:
        return self._ask("keyword_ranking", text=text, limit=limit, exclude=list(exclude))

    # A rebuild runs in the process that owns the store
    def physical_collection(self) -> str:
        return self._ask("physical_collection")

    def begin_rebuild(self) -> str:
        self._refuse_rebuild()

    def copy_into(self, target: str, video_ids: Sequence[str], batch: int = 256) -> None:
        self._refuse_rebuild()

    def switch_to(self, target: str) -> str:
        self._refuse_rebuild()

    def abandon_rebuild(self, target: str) -> None:
        self._refuse_rebuild()

    def _refuse_rebuild(self):
        raise StoreUnavailable(
            f"`shortlist serve` at {self.client.base_url} owns the store, so a rebuild runs "
            "there: `shortlist reindex` asks it to (POST /admin/reindex)")

    def close(self) -> None:
        """Nothing to release: the server holds the store."""
