"""VideoStore: the one place that talks to Qdrant (embedded folder or server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shortlist.errors import StoreUnavailable
from shortlist.store.ids import point_id_for

TEXT, VISUAL, AUDIO, KEYWORDS = "text", "visual", "audio", "keywords"
DIMENSIONS = {TEXT: 384, VISUAL: 1280, AUDIO: 521}
# Payload fields that filters use get an index (a server uses them; embedded mode ignores them).
INDEXED_FIELDS = {"tags": "keyword", "genres": "keyword", "language": "keyword",
                  "duration_s": "float", "has_speech": "bool", "video_id": "keyword",
                  "status": "keyword"}


@dataclass(frozen=True)
class VideoPoint:
    video_id: str
    payload: dict[str, Any]
    dense: dict[str, list[float]]  # name -> vector; a missing name means "no such signal"
    sparse: dict[int, float]


@dataclass(frozen=True)
class Hit:
    video_id: str
    score: float
    payload: dict[str, Any]


class VideoStore:
    def __init__(self, path: Path | None = None, url: str | None = None,
                 api_key: str | None = None, collection: str = "videos") -> None:
        if (path is None) == (url is None):
            raise ValueError("give exactly one of path (embedded) or url (server)")
        self.path, self.url, self.api_key = path, url, api_key
        self.collection = collection
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = self._connect()
                self._ensure_collection(self._client)
        return self._client

    def _connect(self):
        from qdrant_client import QdrantClient

        if self.url:
            try:
                client = QdrantClient(url=self.url, api_key=self.api_key, timeout=10)
                client.get_collections()
                return client
            except Exception as exc:
                raise StoreUnavailable(
                    f"cannot reach Qdrant at {self.url}: {exc}. Check QDRANT_URL, or unset "
                    "it to use the embedded store.") from exc
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            return QdrantClient(path=str(self.path))
        except RuntimeError as exc:
            if "already accessed" in str(exc) or "lock" in str(exc).lower():
                raise StoreUnavailable(
                    f"the embedded store at {self.path} is in use by another Shortlist process "
                    "(for example `shortlist serve`). Stop it, or run a Qdrant server and set "
                    "QDRANT_URL so several processes can share it.") from exc
            raise

    def _ensure_collection(self, client) -> None:
        from qdrant_client import models as m

        if client.collection_exists(self.collection):
            return
        client.create_collection(
            self.collection,
            vectors_config={name: m.VectorParams(size=dim, distance=m.Distance.COSINE)
                            for name, dim in DIMENSIONS.items()},
            sparse_vectors_config={KEYWORDS: m.SparseVectorParams(modifier=m.Modifier.IDF)},
        )
        if self.url:
            kinds = {"keyword": m.PayloadSchemaType.KEYWORD, "float": m.PayloadSchemaType.FLOAT,
                     "bool": m.PayloadSchemaType.BOOL}
            for field, kind in INDEXED_FIELDS.items():
                client.create_payload_index(self.collection, field, kinds[kind])

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # Writes -----------------------------------------------------------------

    def upsert(self, points: Sequence[VideoPoint]) -> None:
        from qdrant_client import models as m

        structs = []
        for p in points:
            vector: dict[str, Any] = dict(p.dense)
            if p.sparse:
                idx = sorted(p.sparse)
                vector[KEYWORDS] = m.SparseVector(indices=idx, values=[p.sparse[i] for i in idx])
            structs.append(m.PointStruct(id=point_id_for(p.video_id), vector=vector,
                                         payload=p.payload))
        self.client.upsert(self.collection, points=structs, wait=True)

    def delete(self, video_ids: Sequence[str]) -> None:
        from qdrant_client import models as m

        self.client.delete(self.collection, m.PointIdsList(
            points=[point_id_for(v) for v in video_ids]))

    # Reads ------------------------------------------------------------------

    def get(self, video_id: str, with_vectors: bool = False) -> dict[str, Any] | None:
        found = self.client.retrieve(self.collection, [point_id_for(video_id)],
                                     with_payload=True, with_vectors=with_vectors)
        if not found:
            return None
        record = dict(found[0].payload or {})
        if with_vectors:
            record["_vectors"] = found[0].vector
        return record

    def count(self) -> int:
        return self.client.count(self.collection, exact=True).count

    def scroll(self, batch: int = 256) -> Iterator[dict[str, Any]]:
        offset = None
        while True:
            points, offset = self.client.scroll(self.collection, limit=batch, offset=offset,
                                                with_payload=True, with_vectors=False)
            for p in points:
                yield dict(p.payload or {})
            if offset is None:
                return

    def hybrid_search(self, dense: list[float], sparse: dict[int, float], limit: int,
                      offset: int = 0, query_filter=None) -> list[Hit]:
        """Dense text vector and sparse keywords, fused by reciprocal rank."""
        from qdrant_client import models as m

        depth = max(50, (limit + offset) * 4)
        prefetch = [m.Prefetch(query=dense, using=TEXT, limit=depth, filter=query_filter)]
        if sparse:
            idx = sorted(sparse)
            prefetch.append(m.Prefetch(
                query=m.SparseVector(indices=idx, values=[sparse[i] for i in idx]),
                using=KEYWORDS, limit=depth, filter=query_filter))
        result = self.client.query_points(
            self.collection, prefetch=prefetch, query=m.FusionQuery(fusion=m.Fusion.RRF),
            limit=limit, offset=offset, with_payload=True)
        return [Hit(str(p.payload.get("video_id")), float(p.score), dict(p.payload or {}))
                for p in result.points]
