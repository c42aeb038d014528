"""QdrantServerStore: the catalogue on a Qdrant server or Qdrant Cloud (`QDRANT_URL`).

Tests (and the bench) run it against qdrant-client's in-process mode (`location=":memory:"`
or a folder), which speaks the same API as a server but scans every point exactly: it keeps
no int8 copy and ignores search parameters, so those are checked on the requests it is sent.

A collection is made and searched as the embedded engine's shards are (edge_store.py, where
the settings were measured): an int8 copy of every space held in memory, HNSW walked with
HNSW_EF candidates (RECOMMEND_EF for recommendations), the best OVERSAMPLING times as many
scored again on the full vectors. A server left to its defaults walks fewer candidates
(its ef_construct), so the two stores would rank a big catalogue differently.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from shortlist.errors import StoreUnavailable

# The index settings are the embedded engine's, measured there (it imports qdrant_edge lazily).
from shortlist.store.edge_store import HNSW_EF, OVERSAMPLING, QUANTILE, RECOMMEND_EF
from shortlist.store.ids import point_id_for
from shortlist.store.records import (
    DIMENSIONS,
    INDEXED_FIELDS,
    KEYWORDS,
    MULTIVECTOR_SPACES,
    RRF_K,
    TEXT_SPACES,
    Hit,
    RankRequest,
    SearchFilters,
    VideoPoint,
    by_best_part,
    check_point,
    dense_only,
    fit,
    fits_layout,
    flat,
    fuse_search,
    liked_spaces,
    page_of,
    searchable,
    with_moments,
)


class QdrantServerStore:
    def __init__(self, url: str | None = None, api_key: str | None = None,
                 collection: str = "videos", timeout_s: float = 3.0,
                 location: str | None = None, sizes: dict[str, int] | None = None) -> None:
        if (url is None) == (location is None):
            raise ValueError("give exactly one of url (a server) or location (in-process)")
        self.url, self.api_key, self.location = url, api_key, location
        self.collection = collection
        self.sizes = dict(sizes or DIMENSIONS)  # each space's size (records.dimensions)
        self._layout = dict(self.sizes)  # the live collection's spaces (an older one lacks some)
        self.timeout_s = timeout_s  # a server that does not answer in this time is down
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

        if self.location == ":memory:":
            return QdrantClient(location=self.location)
        if self.location:  # a folder: qdrant-client's local mode, for tests
            return QdrantClient(path=self.location)
        try:
            client = QdrantClient(url=self.url, api_key=self.api_key,
                                  timeout=self.timeout_s, check_compatibility=False)
            client.get_collections()
            return _Unreachable(client, self.url)
        except Exception as exc:
            raise StoreUnavailable(
                f"cannot reach Qdrant at {self.url}: {exc}. Check QDRANT_URL, or unset "
                "it to use the embedded store.") from exc

    def _ensure_collection(self, client) -> None:
        """`self.collection` is an alias of a physical collection, so a rebuild can be
        switched in atomically; a store made before aliases has a plain collection."""
        from qdrant_client import models as m

        if client.collection_exists(self.collection):
            self._check_sizes(client, self.collection)
            return
        physical = self._create_physical(client)
        client.update_collection_aliases(change_aliases_operations=[m.CreateAliasOperation(
            create_alias=m.CreateAlias(collection_name=physical, alias_name=self.collection))])

    def _check_sizes(self, client, name: str) -> None:
        """Refuse a collection made with other vectors (another embedder); one made before
        moments were stored is taken as it is (records.fits_layout)."""
        vectors = client.get_collection(name).config.params.vectors
        found = {vec: p.size for vec, p in (vectors or {}).items()}
        self._layout = found
        if not fits_layout(found, self.sizes):
            raise StoreUnavailable(
                f"collection {self.collection!r} was made with other vector sizes {found} "
                f"(this text embedder writes {self.sizes}): set SHORTLIST_COLLECTION to a new name")

    def _create_physical(self, client) -> str:
        from qdrant_client import models as m

        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{self.collection}-{stamp}-{uuid.uuid4().hex[:6]}"
        client.create_collection(
            name,
            vectors_config={vec: m.VectorParams(
                size=dim, distance=m.Distance.COSINE,
                multivector_config=m.MultiVectorConfig(comparator=m.MultiVectorComparator.MAX_SIM)
                if vec in MULTIVECTOR_SPACES else None) for vec, dim in self.sizes.items()},
            sparse_vectors_config={KEYWORDS: m.SparseVectorParams(modifier=m.Modifier.IDF)},
            quantization_config=m.ScalarQuantization(scalar=m.ScalarQuantizationConfig(
                type=m.ScalarType.INT8, quantile=QUANTILE, always_ram=True)),
        )
        kinds = {"keyword": m.PayloadSchemaType.KEYWORD, "float": m.PayloadSchemaType.FLOAT,
                 "bool": m.PayloadSchemaType.BOOL, "datetime": m.PayloadSchemaType.DATETIME}
        for field_name, kind in INDEXED_FIELDS.items():
            client.create_payload_index(name, field_name, kinds[kind])
        return name

    def layout(self) -> dict[str, int]:
        """The live collection's spaces (known once connected: an older one lacks some)."""
        self.client  # noqa: B018 - connecting reads the collection's layout
        return self._layout

    def physical_collection(self) -> str:
        """The collection the alias points at now (the alias itself for an old store)."""
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == self.collection:
                return alias.collection_name
        return self.collection

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # Writes -----------------------------------------------------------------

    def upsert(self, points: Sequence[VideoPoint], collection: str | None = None) -> None:
        """Write points to the live collection, or to a rebuild target (see begin_rebuild)."""
        from qdrant_client import models as m

        for p in points:
            check_point(p, self.sizes)
        structs = []
        for p in points:  # the live collection may predate moments; a rebuild has them
            vector: dict[str, Any] = dict(p.dense if collection else fit(p.dense, self.layout()))
            if p.sparse:
                idx = sorted(p.sparse)
                vector[KEYWORDS] = m.SparseVector(indices=idx, values=[p.sparse[i] for i in idx])
            structs.append(m.PointStruct(id=point_id_for(p.video_id), vector=vector,
                                         payload=p.payload))
        if structs:
            self.client.upsert(collection or self.collection, points=structs, wait=True)

    def optimize(self) -> None:
        """A server builds its indexes by itself, in the background."""

    # Rebuilds: a new collection beside the live one, switched in by moving the alias --------

    def begin_rebuild(self) -> str:
        """Create an empty collection to rebuild into; search keeps using the live one."""
        return self._create_physical(self.client)

    def copy_into(self, target: str, video_ids: Sequence[str], batch: int = 256) -> None:
        """Copy points as they are (vectors and payload) from the live collection."""
        from qdrant_client import models as m

        for start in range(0, len(video_ids), batch):
            ids = [point_id_for(v) for v in video_ids[start:start + batch]]
            found = self.client.retrieve(self.collection, ids, with_payload=True,
                                         with_vectors=True)
            if found:  # a point from an older collection gains its moments space
                self.client.upsert(target, wait=True, points=[
                    m.PointStruct(id=p.id, vector=with_moments(p.vector), payload=p.payload)
                    for p in found])

    def switch_to(self, target: str) -> str:
        """Point the alias at `target` in one operation, then drop the collection it replaced.

        Returns the replaced collection's name. A store made before aliases holds a plain
        collection under the alias's name: that one is deleted first (once, on the first
        rebuild), as an alias cannot share a collection's name.
        """
        from qdrant_client import models as m

        client = self.client
        old = self.physical_collection()
        if old == self.collection:
            client.delete_collection(old)
            ops = []
        else:
            ops = [m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=self.collection))]
        ops.append(m.CreateAliasOperation(create_alias=m.CreateAlias(
            collection_name=target, alias_name=self.collection)))
        client.update_collection_aliases(change_aliases_operations=ops)
        self._layout = dict(self.sizes)  # a rebuild is made with every space
        if old != self.collection:
            client.delete_collection(old)
        return old

    def abandon_rebuild(self, target: str) -> None:
        """Drop a rebuild that failed; the live collection is untouched."""
        self.client.delete_collection(target)

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
            record["_vectors"] = dense_only(found[0].vector)
        return record

    def get_many(self, video_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not video_ids:
            return []
        found = self.client.retrieve(self.collection, [point_id_for(v) for v in video_ids],
                                     with_payload=True)
        return [dict(p.payload or {}) for p in found]

    def durations(self, video_ids: Sequence[str]) -> dict[str, float]:
        if not video_ids:
            return {}
        found = self.client.retrieve(self.collection, [point_id_for(v) for v in video_ids],
                                     with_payload=["video_id", "duration_s"])
        return {p.payload["video_id"]: float(p.payload["duration_s"]) for p in found
                if p.payload and p.payload.get("duration_s") is not None}

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

    def hybrid_search(self, dense: list[list[float]], sparse: dict[int, float],
                      keyword_query: str, limit: int, offset: int = 0,
                      filters: SearchFilters | None = None,
                      spaces: Sequence[str] = TEXT_SPACES,
                      extra: dict[str, list[float]] | None = None) -> list[Hit]:
        """The server's rankings (each query vector in each space, the keywords, and another
        model's query vector per space in `extra`), filtered on the server, fused by
        records.fuse_search."""
        from qdrant_client import models as m

        query_filter = qdrant_filter(filters or SearchFilters())
        depth = max(50, (limit + offset) * 4)
        params = search_params()

        def rank(requests: Sequence[RankRequest]) -> list[list[tuple[str, float]]]:
            """Every ranking in one request to the server, not one round trip each."""
            asked = []
            for using, query in requests:
                if using == KEYWORDS:
                    idx = sorted(query)
                    query = m.SparseVector(indices=idx, values=[query[i] for i in idx])
                else:  # a multivector space takes a query of vectors
                    query = [list(query)] if using in MULTIVECTOR_SPACES else list(query)
                asked.append(m.QueryRequest(query=query, using=using, limit=depth,
                                            filter=query_filter, with_payload=["video_id"],
                                            params=None if using == KEYWORDS else params))
            answers = self.client.query_batch_points(self.collection, requests=asked)
            return [[(str((p.payload or {}).get("video_id")), float(p.score))
                     for p in answer.points] for answer in answers]

        fused = fuse_search(rank, dense, sparse, searchable(spaces, self.layout()),
                            by_best_part(extra, self.layout()), depth)[:offset + 2 * limit]
        payloads = {p["video_id"]: p for p in self.get_many([v for v, _ in fused])}
        return page_of([Hit(v, score, payloads[v]) for v, score in fused if v in payloads],
                       offset, limit)

    def fused_neighbours(self, vectors: dict[str, list[float]], limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]:
        """Nearest points by several named vectors at once (visual, audio, text), RRF-fused;
        with those vectors, and of their payloads only the id."""
        from qdrant_client import models as m

        query_filter = qdrant_filter(SearchFilters(), exclude)
        prefetch = [m.Prefetch(query=vec, using=name, limit=max(50, limit * 4),
                               filter=query_filter, params=search_params())
                    for name, vec in vectors.items()]
        result = self.client.query_points(
            self.collection, prefetch=prefetch, query=m.RrfQuery(rrf=m.Rrf(k=RRF_K)),
            limit=2 * limit, with_payload=["video_id"], with_vectors=list(vectors))
        return page_of([_hit(p) for p in result.points], 0, limit)

    def liked_neighbours(self, positives: Sequence[dict[str, list[float]]],
                         negatives: Sequence[dict[str, list[float]]],
                         weights: dict[str, float], limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]:
        """Videos near any liked video and away from the disliked, in each weighted space
        (the engine's best-score recommend), fused by weighted rank; with their vectors,
        and of their payloads only the id."""
        from qdrant_client import models as m

        query_filter = qdrant_filter(SearchFilters(), exclude)
        spaces = liked_spaces(positives, weights)
        if not spaces:
            return []
        params = search_params(RECOMMEND_EF)
        prefetch = [m.Prefetch(using=s, limit=limit, filter=query_filter, params=params,
                               query=m.RecommendQuery(recommend=m.RecommendInput(
                                   positive=[p[s] for p in positives if s in p],
                                   negative=[n[s] for n in negatives if s in n],
                                   strategy=m.RecommendStrategy.BEST_SCORE)))
                    for s in spaces]
        result = self.client.query_points(
            self.collection, prefetch=prefetch,
            query=m.RrfQuery(rrf=m.Rrf(k=RRF_K, weights=[weights[s] for s in spaces])),
            limit=limit, with_payload=["video_id"],
            with_vectors=flat(self.sizes))
        return page_of([_hit(p) for p in result.points], 0, limit)

    def nearest(self, vector: list[float], using: str, limit: int,
                exclude: Sequence[str] = ()) -> list[str]:
        """Video ids nearest to `vector` in the space `using`, leaving out `exclude`."""
        result = self.client.query_points(
            self.collection, query=vector, using=using, limit=limit, with_payload=["video_id"],
            query_filter=qdrant_filter(SearchFilters(), exclude), search_params=search_params())
        return [str(p.payload["video_id"]) for p in result.points]

    def keyword_ranking(self, text: str, limit: int, exclude: Sequence[str] = ()) -> list[str]:
        """Video ids ranked by the words of `text` (IDF-weighted sparse vectors)."""
        from qdrant_client import models as m

        from shortlist.text import query_sparse

        sparse = query_sparse(text)
        if not sparse:
            return []
        idx = sorted(sparse)
        result = self.client.query_points(
            self.collection, query=m.SparseVector(indices=idx, values=[sparse[i] for i in idx]),
            using=KEYWORDS, limit=limit, with_payload=["video_id"],
            query_filter=qdrant_filter(SearchFilters(), exclude))
        return [str(p.payload["video_id"]) for p in result.points]

    def vectors(self, video_ids: Sequence[str], spaces: Sequence[str] | None = None
                ) -> dict[str, dict[str, list]]:
        if not video_ids:
            return {}
        wanted = [s for s in (spaces or flat(self.sizes)) if s in self.layout()]
        found = self.client.retrieve(self.collection, [point_id_for(v) for v in video_ids],
                                     with_payload=["video_id"], with_vectors=wanted or False)
        return {str(p.payload["video_id"]): dense_only(p.vector, wanted) for p in found}

    def newest(self, limit: int) -> list[dict[str, Any]]:
        """The most recently ingested videos, by the payload index on `ingested_at`."""
        from qdrant_client import models as m

        points, _ = self.client.scroll(
            self.collection, limit=limit, with_payload=True, with_vectors=False,
            order_by=m.OrderBy(key="ingested_at", direction=m.Direction.DESC))
        return [dict(p.payload or {}) for p in points]


def search_params(ef: int = HNSW_EF):
    """How a dense ranking walks the server's index (see the module's docstring). Below its
    full-scan threshold a server scans instead, on the int8 copy, rescored alike."""
    from qdrant_client import models as m

    return m.SearchParams(hnsw_ef=ef, quantization=m.QuantizationSearchParams(
        rescore=True, oversampling=OVERSAMPLING))


def qdrant_filter(filters: SearchFilters, exclude_ids: Sequence[str] = ()):
    """SearchFilters (and ids to leave out) as a qdrant-client filter; None when nothing
    narrows."""
    from qdrant_client import models as m

    must: list[Any] = []
    if filters.tags:
        must.append(m.FieldCondition(key="tags", match=m.MatchAny(any=list(filters.tags))))
    if filters.genres:
        must.append(m.FieldCondition(key="genres", match=m.MatchAny(any=list(filters.genres))))
    if filters.min_duration_s is not None or filters.max_duration_s is not None:
        must.append(m.FieldCondition(key="duration_s", range=m.Range(
            gte=filters.min_duration_s, lte=filters.max_duration_s)))
    if filters.language:
        must.append(m.FieldCondition(key="language", match=m.MatchValue(value=filters.language)))
    if filters.has_speech is not None:
        must.append(m.FieldCondition(key="has_speech",
                                     match=m.MatchValue(value=filters.has_speech)))
    must_not = [m.HasIdCondition(has_id=[point_id_for(v) for v in exclude_ids])] \
        if exclude_ids else []
    if not must and not must_not:
        return None
    return m.Filter(must=must or None, must_not=must_not or None)


def _hit(p) -> Hit:
    payload = dict(p.payload or {})
    return Hit(str(payload.get("video_id")), float(p.score), payload,
               dense_only(p.vector) if p.vector else None)


class _Unreachable:
    """A Qdrant server's client whose transport failures become StoreUnavailable, so every
    caller (the API answers 503) sees one kind of error for "the store is down"."""

    def __init__(self, client, url: str) -> None:
        self._client, self._url = client, url

    def __getattr__(self, name: str):
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            try:
                return attr(*args, **kwargs)
            except Exception as exc:
                if _is_transport_failure(exc):
                    raise StoreUnavailable(f"the Qdrant server at {self._url} did not answer "
                                           f"({type(exc).__name__}): try again shortly") from exc
                raise

        return call


def _is_transport_failure(exc: Exception) -> bool:
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    if isinstance(exc, UnexpectedResponse):
        return exc.status_code >= 500
    return isinstance(exc, ResponseHandlingException | TimeoutError | ConnectionError)
