"""The embedded store while `shortlist serve` owns it, as ingest sees it.

The embedded shard admits one process. Rather than fail while the server runs, an ingest (the
CLI's or a worker's flow run) looks videos up and writes its points through the server,
which owns the store: they are searchable the moment they are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shortlist.api.client import ServeClient
from shortlist.errors import NotFound, StoreUnavailable
from shortlist.store.records import VideoPoint


class ServedStore:
    """The two things ingest asks of a store: `get` and `upsert`."""

    def __init__(self, client: ServeClient) -> None:
        self.client = client

    def get(self, video_id: str) -> dict[str, Any] | None:
        try:
            return self.client.video(video_id)
        except NotFound:
            return None

    def upsert(self, points: Sequence[VideoPoint], collection: str | None = None) -> None:
        if collection is not None:
            raise StoreUnavailable(
                f"cannot write into the rebuild collection {collection!r} through the server "
                f"at {self.client.base_url}: run the reindex through it instead")
        from shortlist.api.schemas import MAX_POINTS_PER_REQUEST as batch

        for start in range(0, len(points), batch):
            try:
                self.client.upsert(list(points[start:start + batch]))
            except ValueError as exc:  # the server refused: a wrong key, a reindex running
                hint = (" Ingest with the SHORTLIST_API_KEY the server was started with."
                        if "X-API-Key" in str(exc) else "")
                raise StoreUnavailable(f"`shortlist serve` at {self.client.base_url} owns the "
                                       f"store and refused the write: {exc}.{hint}") from exc
