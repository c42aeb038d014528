"""VideoStore: the one place that talks to Qdrant (embedded folder or server)."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from shortlist.errors import StoreUnavailable
from shortlist.store.ids import point_id_for
from shortlist.store.records import (
    DIMENSIONS,
    INDEXED_FIELDS,
    KEYWORDS,
    TEXT,
    TEXT_SPACES,
    Hit,
    SearchFilters,
    VideoPoint,
    check_point,
)

# The keyword ranking counts twice in the fusion, against one per dense space: with three
# spaces a word match was outvoted (`shortlist eval`: keyword queries nDCG@10 .84 -> .92,
# all queries .706 -> .718, multi-preference .57 -> .53). A Qdrant server fuses unweighted.
KEYWORD_WEIGHT = 2.0


class VideoStore:
    def __init__(self, path: Path | None = None, url: str | None = None,
                 api_key: str | None = None, collection: str = "videos",
                 timeout_s: float = 3.0) -> None:
        if (path is None) == (url is None):
            raise ValueError("give exactly one of path (embedded) or url (server)")
        self.path, self.url, self.api_key = path, url, api_key
        self.collection = collection
        self.timeout_s = timeout_s  # a server that does not answer in this time is down
        self._client = None
        self._index = None  # the search index beside an embedded store
        self._target_indexes: dict[str, Any] = {}  # rebuilds in progress: name -> index
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
                client = QdrantClient(url=self.url, api_key=self.api_key,
                                      timeout=self.timeout_s, check_compatibility=False)
                client.get_collections()
                return _Unreachable(client, self.url)
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
        """`self.collection` is an alias of a physical collection, so a rebuild can be
        switched in atomically; a store made before aliases has a plain collection."""
        from qdrant_client import models as m

        if client.collection_exists(self.collection):
            self._check_sizes(client, self.collection)
            return
        physical = self._create_physical(client)
        client.update_collection_aliases(change_aliases_operations=[m.CreateAliasOperation(
            create_alias=m.CreateAlias(collection_name=physical, alias_name=self.collection))])
        if not self.url:
            self._point_index_at(physical)  # empty, like the new collection

    def _check_sizes(self, client, name: str) -> None:
        vectors = client.get_collection(name).config.params.vectors
        found = {vec: p.size for vec, p in (vectors or {}).items()}
        if found != DIMENSIONS:
            raise StoreUnavailable(
                f"collection {self.collection!r} was made with other vector sizes {found} "
                f"(this version writes {DIMENSIONS}): ingest into a new "
                "SHORTLIST_DATA_DIR, or set SHORTLIST_COLLECTION to a new name")

    def _create_physical(self, client) -> str:
        from qdrant_client import models as m

        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{self.collection}-{stamp}-{uuid.uuid4().hex[:6]}"
        client.create_collection(
            name,
            vectors_config={vec: m.VectorParams(size=dim, distance=m.Distance.COSINE)
                            for vec, dim in DIMENSIONS.items()},
            sparse_vectors_config={KEYWORDS: m.SparseVectorParams(modifier=m.Modifier.IDF)},
        )
        if self.url:
            kinds = {"keyword": m.PayloadSchemaType.KEYWORD, "float": m.PayloadSchemaType.FLOAT,
                     "bool": m.PayloadSchemaType.BOOL}
            for field_name, kind in INDEXED_FIELDS.items():
                client.create_payload_index(name, field_name, kinds[kind])
        return name

    def physical_collection(self) -> str:
        """The collection the alias points at now (the alias itself for an old store)."""
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == self.collection:
                return alias.collection_name
        return self.collection

    # The search index beside an embedded store (shortlist/store/search_index.py) --------

    def _index_path(self, physical: str) -> Path:
        return self.path / f"{physical}-index.db"

    def _index_pointer(self) -> Path:
        """Names the index of the collection the alias points at; written only once that
        index is complete, so a reader that finds it needs nothing from Qdrant."""
        return self.path / f"{self.collection}-index.json"

    def _point_index_at(self, physical: str) -> None:
        pointer = self._index_pointer()
        partial = pointer.with_suffix(".partial")
        partial.write_text(json.dumps({"collection": physical}))
        os.replace(partial, pointer)  # atomic: readers see the old name or the new one

    @property
    def search_index(self):
        """The index beside an embedded store; None for a Qdrant server. Opening it does not
        open the Qdrant folder, unless the index has to be built from it first."""
        if self.url:
            return None
        if self._index is not None:
            return self._index
        physical = self._indexed_collection()
        from shortlist.store.search_index import SearchIndex

        with self._lock:
            if self._index is None:
                self._index = SearchIndex(self._index_path(physical), DIMENSIONS)
        return self._index

    def _indexed_collection(self) -> str:
        try:
            physical = json.loads(self._index_pointer().read_text())["collection"]
            if self._index_path(physical).exists():
                return physical
        except (OSError, ValueError, KeyError):
            pass
        # No complete index yet (a store made by an older version, or a deleted file):
        # build it from Qdrant, the store of record.
        from shortlist.store.search_index import SearchIndex

        client = self.client
        physical = self.physical_collection()
        index = SearchIndex(self._index_path(physical), DIMENSIONS)
        try:
            if index.points_count() < client.count(self.collection, exact=True).count:
                self._copy_to_index(client, self.collection, index)
        finally:
            index.close()
        self._point_index_at(physical)
        _remove_sqlite(self.path / f"{physical}-keywords.db")  # its predecessor, keywords only
        return physical

    def _copy_to_index(self, client, collection: str, index, batch: int = 256) -> None:
        offset = None
        while True:
            points, offset = client.scroll(collection, limit=batch, offset=offset,
                                           with_payload=True, with_vectors=True)
            _index_points(index, points)
            if offset is None:
                return

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._index is not None:
                self._index.close()
                self._index = None
            for index in self._target_indexes.values():
                index.close()
            self._target_indexes.clear()

    # Writes -----------------------------------------------------------------

    def upsert(self, points: Sequence[VideoPoint], collection: str | None = None) -> None:
        """Write points to the live collection, or to a rebuild target (see begin_rebuild).

        The index first: if the process dies between the two writes, Qdrant (the store of
        record) lacks the video, so the next ingest does it again and both agree.
        """
        from qdrant_client import models as m

        for p in points:  # a point Qdrant would refuse must not reach the index either
            check_point(p)
        client = self.client  # the folder first: a process that cannot write it writes nothing
        index = self._target_indexes.get(collection) if collection else self.search_index
        if index is not None:
            index.upsert_many([(p.video_id, p.keywords, p.dense, p.payload) for p in points])
        structs = []
        for p in points:
            vector: dict[str, Any] = dict(p.dense)
            if p.sparse:
                idx = sorted(p.sparse)
                vector[KEYWORDS] = m.SparseVector(indices=idx, values=[p.sparse[i] for i in idx])
            structs.append(m.PointStruct(id=point_id_for(p.video_id), vector=vector,
                                         payload=p.payload))
        try:
            client.upsert(collection or self.collection, points=structs, wait=True)
        except Exception:
            if index is not None:  # put the index back as Qdrant has it
                self._reindex_from_qdrant(index, collection or self.collection,
                                          [p.video_id for p in points])
            raise

    def _reindex_from_qdrant(self, index, collection: str, video_ids: Sequence[str]) -> None:
        found = self.client.retrieve(collection, [point_id_for(v) for v in video_ids],
                                     with_payload=True, with_vectors=True)
        held = {str((p.payload or {}).get("video_id")) for p in found}
        index.delete([v for v in video_ids if v not in held])
        _index_points(index, found)

    # Rebuilds: a new collection beside the live one, switched in by moving the alias --------

    def begin_rebuild(self) -> str:
        """Create an empty collection to rebuild into; search keeps using the live one."""
        client = self.client
        target = self._create_physical(client)
        if not self.url:
            from shortlist.store.search_index import SearchIndex

            with self._lock:
                self._target_indexes[target] = SearchIndex(self._index_path(target),
                                                           DIMENSIONS)
        return target

    def copy_into(self, target: str, video_ids: Sequence[str], batch: int = 256) -> None:
        """Copy points as they are (vectors and payload) from the live collection."""
        from qdrant_client import models as m

        index = self._target_indexes.get(target)
        for start in range(0, len(video_ids), batch):
            ids = [point_id_for(v) for v in video_ids[start:start + batch]]
            found = self.client.retrieve(self.collection, ids, with_payload=True,
                                         with_vectors=True)
            self.client.upsert(target, wait=True, points=[
                m.PointStruct(id=p.id, vector=p.vector, payload=p.payload) for p in found])
            if index is not None:
                _index_points(index, found)

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
        with self._lock:
            if target in self._target_indexes:
                # Searches that already hold the old index finish on it; it closes when
                # they let go, so it is unlinked rather than closed here.
                self._index = self._target_indexes.pop(target)
        if not self.url:
            self._point_index_at(target)
        if old != self.collection:
            client.delete_collection(old)
        self._remove_index_files(old)
        return old

    def abandon_rebuild(self, target: str) -> None:
        """Drop a rebuild that failed; the live collection is untouched."""
        self.client.delete_collection(target)
        with self._lock:
            index = self._target_indexes.pop(target, None)
        if index is not None:
            index.close()
        self._remove_index_files(target)

    def _remove_index_files(self, physical: str) -> None:
        if not self.url:
            _remove_sqlite(self._index_path(physical))

    def delete(self, video_ids: Sequence[str]) -> None:
        from qdrant_client import models as m

        self.client.delete(self.collection, m.PointIdsList(
            points=[point_id_for(v) for v in video_ids]))
        if self.search_index is not None:
            self.search_index.delete(video_ids)

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

    def get_many(self, video_ids: Sequence[str]) -> list[dict[str, Any]]:
        if self.search_index is not None:
            return list(self.search_index.payloads(video_ids).values())
        found = self.client.retrieve(self.collection, [point_id_for(v) for v in video_ids],
                                     with_payload=True)
        return [dict(p.payload or {}) for p in found]

    def count(self) -> int:
        return self.client.count(self.collection, exact=True).count

    def scroll(self, batch: int = 256) -> Iterator[dict[str, Any]]:
        return self._scroll(self.client, batch)

    def _scroll(self, client, batch: int = 256) -> Iterator[dict[str, Any]]:
        offset = None
        while True:
            points, offset = client.scroll(self.collection, limit=batch, offset=offset,
                                           with_payload=True, with_vectors=False)
            for p in points:
                yield dict(p.payload or {})
            if offset is None:
                return

    def hybrid_search(self, dense: list[list[float]], sparse: dict[int, float],
                      keyword_query: str, limit: int, offset: int = 0,
                      filters: SearchFilters | None = None,
                      spaces: Sequence[str] = TEXT_SPACES) -> list[Hit]:
        """Dense text rankings (one per preference) and a keyword ranking, fused by RRF.

        Several dense vectors (one per preference of "comedy, sci-fi, dark tone") each
        get their own ranking, so one preference cannot drown the others. Keywords are
        Qdrant's sparse vectors on a server, the FTS5 index beside an embedded folder.
        """
        filters = filters or SearchFilters()
        depth = max(50, (limit + offset) * 4)
        index = self.search_index
        if index is None:  # a Qdrant server: dense and sparse prefetches, fused there
            from qdrant_client import models as m

            query_filter = filters.to_qdrant()
            prefetch = [m.Prefetch(query=q, using=space, limit=depth, filter=query_filter)
                        for q in dense for space in spaces]
            if sparse:
                idx = sorted(sparse)
                prefetch.append(m.Prefetch(
                    query=m.SparseVector(indices=idx, values=[sparse[i] for i in idx]),
                    using=KEYWORDS, limit=depth, filter=query_filter))
            result = self.client.query_points(
                self.collection, prefetch=prefetch, query=m.FusionQuery(fusion=m.Fusion.RRF),
                limit=limit, offset=offset, with_payload=True)
            return [_hit(p) for p in result.points]

        if filters.empty:  # everything from the index: the Qdrant folder is not opened
            rankings = [[v for v, _ in index.dense_ranking(q, depth, space)]
                        for q in dense for space in spaces]
            rankings.append([v for v, _ in index.search(keyword_query, limit=depth)])
            return _fused_page(rankings, offset, limit, index.payloads, KEYWORD_WEIGHT)

        query_filter = filters.to_qdrant()
        rankings = []
        for q in dense:
            for space in spaces:
                found = self.client.query_points(self.collection, query=q, using=space,
                                                 limit=depth, query_filter=query_filter,
                                                 with_payload=["video_id"])
                rankings.append([str(p.payload["video_id"]) for p in found.points])
        keyword_ids = [vid for vid, _ in index.search(keyword_query, limit=depth)]
        if keyword_ids:
            allowed = {p["video_id"] for p in self.get_many(keyword_ids) if filters.matches(p)}
            keyword_ids = [v for v in keyword_ids if v in allowed]
        rankings.append(keyword_ids)
        return _fused_page(rankings, offset, limit,
                           lambda ids: {p["video_id"]: p for p in self.get_many(ids)},
                           KEYWORD_WEIGHT)

    def fused_neighbours(self, vectors: dict[str, list[float]], limit: int,
                         query_filter=None) -> list[Hit]:
        """Nearest points by several named vectors at once (visual, audio, text), RRF-fused."""
        from qdrant_client import models as m

        prefetch = [m.Prefetch(query=vec, using=name, limit=max(50, limit * 4),
                               filter=query_filter) for name, vec in vectors.items()]
        result = self.client.query_points(
            self.collection, prefetch=prefetch, query=m.FusionQuery(fusion=m.Fusion.RRF),
            limit=limit, with_payload=True, with_vectors=list(vectors))
        return [_hit(p) for p in result.points]

    def recommend(self, positive: list, negative: list, limit: int, using: str = TEXT,
                  exclude: Sequence[str] = ()) -> list[Hit]:
        """Qdrant's recommend query (average-vector strategy); positives and negatives are
        video ids or vectors. Beside an embedded folder the index runs the same query
        without loading the folder (tests/test_core.py checks both agree)."""
        index = self.search_index
        if index is not None:
            ranked = index.recommend(positive, negative, limit, using, exclude)
            payloads = index.payloads([v for v, _ in ranked])
            vectors = index.vectors([v for v, _ in ranked])
            return [Hit(v, score, payloads[v], {using: vectors[v][using]})
                    for v, score in ranked if v in payloads]
        return self.qdrant_recommend(positive, negative, limit, using, exclude)

    def qdrant_recommend(self, positive: list, negative: list, limit: int, using: str = TEXT,
                         exclude: Sequence[str] = ()) -> list[Hit]:
        from qdrant_client import models as m

        def ref(x):
            return point_id_for(x) if isinstance(x, str) else x

        result = self.client.query_points(
            self.collection,
            query=m.RecommendQuery(recommend=m.RecommendInput(
                positive=[ref(x) for x in positive], negative=[ref(x) for x in negative],
                strategy=m.RecommendStrategy.AVERAGE_VECTOR)),
            using=using, limit=limit, query_filter=SearchFilters().to_qdrant(exclude),
            with_payload=True, with_vectors=[using])
        return [_hit(p) for p in result.points]

    def nearest(self, vector: list[float], using: str, limit: int,
                exclude: Sequence[str] = ()) -> list[str]:
        """Video ids nearest to `vector` in the space `using`, leaving out `exclude`."""
        index = self.search_index
        if index is not None:
            return [v for v, _ in index.dense_ranking(vector, limit, using, exclude)]
        result = self.client.query_points(
            self.collection, query=vector, using=using, limit=limit, with_payload=["video_id"],
            query_filter=SearchFilters().to_qdrant(list(exclude)))
        return [str(p.payload["video_id"]) for p in result.points]

    def keyword_ranking(self, text: str, limit: int, exclude: Sequence[str] = ()) -> list[str]:
        """Video ids ranked by the words of `text` (BM25 beside the embedded folder, IDF-weighted
        sparse vectors on a server), leaving out `exclude`."""
        from shortlist.text import token_id, tokens

        excluded = set(exclude)
        if self.search_index is not None:
            found = [v for v, _ in self.search_index.search(text, limit=limit + len(excluded))]
            return [v for v in found if v not in excluded][:limit]
        from qdrant_client import models as m

        sparse = {token_id(t): 1.0 for t in tokens(text)}
        if not sparse:
            return []
        idx = sorted(sparse)
        result = self.client.query_points(
            self.collection, query=m.SparseVector(indices=idx, values=[sparse[i] for i in idx]),
            using=KEYWORDS, limit=limit, with_payload=["video_id"],
            query_filter=SearchFilters().to_qdrant(list(excluded)))
        return [str(p.payload["video_id"]) for p in result.points]

    def vectors(self, video_ids: Sequence[str]) -> dict[str, dict[str, list[float]]]:
        if self.search_index is not None:
            return self.search_index.vectors(video_ids)
        found = self.client.retrieve(self.collection, [point_id_for(v) for v in video_ids],
                                     with_payload=["video_id"], with_vectors=True)
        return {str(p.payload["video_id"]): _dense_only(p.vector) for p in found}

    def newest(self, limit: int) -> list[dict[str, Any]]:
        """The most recently ingested videos (a scan on a server; the index has them in order)."""
        if self.search_index is not None:
            return self.search_index.newest(limit)
        rows = sorted(self.scroll(), key=lambda p: p.get("ingested_at", ""), reverse=True)
        return rows[:limit]


def _dense_only(vector) -> dict[str, list[float]]:
    if not isinstance(vector, dict):
        return {}
    return {k: v for k, v in vector.items() if isinstance(v, list)}


def _hit(p) -> Hit:
    payload = dict(p.payload or {})
    return Hit(str(payload.get("video_id")), float(p.score), payload,
               _dense_only(p.vector) if p.vector else None)


def _fused_page(rankings: list[list[str]], offset: int, limit: int, payloads_of,
                keyword_weight: float = 1.0) -> list[Hit]:
    """RRF over video-id rankings (the last one the keywords', weighted), one page of it,
    with payloads from `payloads_of(ids)`."""
    from shortlist.store.search_index import reciprocal_rank_fusion

    weights = [1.0] * (len(rankings) - 1) + [keyword_weight]
    fused = sorted(reciprocal_rank_fusion(rankings, weights=weights).items(),
                   key=lambda kv: -kv[1])
    page = fused[offset:offset + limit]
    payloads = payloads_of([vid for vid, _ in page])
    return [Hit(vid, score, payloads[vid]) for vid, score in page if vid in payloads]


def _index_points(index, points) -> None:
    """Qdrant records (payload and vectors) into the index beside the store."""
    from shortlist.store.search_index import fields_from_payload

    index.upsert_many([(p.payload["video_id"], fields_from_payload(p.payload),
                        _dense_only(p.vector), p.payload) for p in points])


def _remove_sqlite(db: Path) -> None:
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.unlink(missing_ok=True)


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
