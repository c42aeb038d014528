"""PostgreSQL + pgvector as the store (SHORTLIST_PG_DSN): for a team that already runs
PostgreSQL and wants the catalogue beside its other tables.

Layout, per physical catalogue (a rebuild makes a new one beside the live one):
- `<name>`: one row per video: payload (jsonb), the columns filters use, and one pgvector
  column per dense space, each with an HNSW index (cosine); the moments are an array of
  vectors, ranked by each row's best one in an exact scan (pgvector indexes no arrays);
- `<name>_keywords`: the keyword vector as postings (token, weight), the same BM25 term
  weights every store holds, scored with the same IDF as Qdrant's sparse index, so keyword
  rankings agree across stores (PostgreSQL's tsvector would stem and weigh words its own
  way, and has no sound keys for misheard names);
- `shortlist_aliases`: the collection name -> the physical catalogue searches use; a reindex
  switches it in one transaction.
Search fuses its rankings by records.fuse_search, as every store does; "more like this" and
recommendations by the engine's reciprocal-rank formula (records.rrf_fuse), so the answers
match the embedded store's.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from shortlist.errors import StoreUnavailable
from shortlist.store.records import (
    DIMENSIONS,
    KEYWORDS,
    MULTIVECTOR_SPACES,
    RRF_K,
    TEXT_SPACES,
    Hit,
    SearchFilters,
    VideoPoint,
    by_best_part,
    check_point,
    fit,
    fits_layout,
    flat,
    fuse_search,
    liked_spaces,
    page_of,
    rrf_fuse,
    searchable,
)

EXACT_UP_TO = 20_000  # below this, exact scans (the index is approximate)
HNSW_EF = 256
ALIASES = "shortlist_aliases"
FILTER_COLUMNS = {"tags": "text[]", "genres": "text[]", "duration_s": "double precision",
                  "language": "text", "has_speech": "boolean", "ingested_at": "text"}


class PgVectorStore:
    def __init__(self, dsn: str, collection: str = "videos", timeout_s: float = 10.0,
                 sizes: dict[str, int] | None = None) -> None:
        self.dsn = dsn
        self.sizes = dict(sizes or DIMENSIONS)  # each space's size (records.dimensions)
        self._layout = dict(self.sizes)  # the live catalogue's spaces (an older one lacks some)
        self.collection = collection
        self.timeout_s = timeout_s
        self._conn = None
        self._lock = threading.RLock()  # one connection, one statement at a time
        self._size: int | None = None

    # Connection and schema ---------------------------------------------------------

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        import psycopg

        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            try:
                with self._conn.cursor() as cur:
                    yield cur
            except psycopg.OperationalError as exc:
                self._conn = None
                raise StoreUnavailable(f"PostgreSQL went away: {exc}") from exc

    def _connect(self):
        import psycopg
        from pgvector.psycopg import register_vector

        try:
            conn = psycopg.connect(self.dsn, autocommit=True,
                                   connect_timeout=max(1, round(self.timeout_s)))
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"cannot reach PostgreSQL at SHORTLIST_PG_DSN ({_redacted(self.dsn)}): "
                f"{str(exc).strip()}. Start it (`make postgres-up` for a local one) or unset "
                "SHORTLIST_PG_DSN to use the embedded store.") from exc
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as exc:
            conn.close()
            raise StoreUnavailable(f"PostgreSQL has no pgvector extension: {exc}") from exc
        register_vector(conn)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {ALIASES} "
                     "(alias text PRIMARY KEY, physical text NOT NULL)")
        row = conn.execute(f"SELECT physical FROM {ALIASES} WHERE alias = %s",
                           (self.collection,)).fetchone()
        if row is None:
            physical = self._create_physical(conn)
            conn.execute(f"INSERT INTO {ALIASES} VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (self.collection, physical))
        else:
            self._layout = _check_sizes(conn, row[0], self.collection, self.sizes)
        return conn

    def _create_physical(self, conn) -> str:
        from psycopg import sql

        stamp = time.strftime("%Y%m%dt%H%M%S", time.gmtime())
        name = f"{self.collection}_{stamp}_{uuid.uuid4().hex[:6]}".lower()
        table, postings = sql.Identifier(name), sql.Identifier(f"{name}_keywords")
        columns = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t))
                   for c, t in FILTER_COLUMNS.items()]
        columns += [sql.SQL("{} vector({}){}").format(
            sql.Identifier(s), sql.Literal(d), sql.SQL("[]" if s in MULTIVECTOR_SPACES else ""))
            for s, d in self.sizes.items()]
        with conn.transaction():
            conn.execute(sql.SQL("CREATE TABLE {} (video_id text PRIMARY KEY, "
                                 "payload jsonb NOT NULL, {})").format(
                table, sql.SQL(", ").join(columns)))
            for space in (s for s in self.sizes if s not in MULTIVECTOR_SPACES):
                conn.execute(sql.SQL("CREATE INDEX ON {} USING hnsw ({} vector_cosine_ops)")
                             .format(table, sql.Identifier(space)))
            for column in ("tags", "genres"):
                conn.execute(sql.SQL("CREATE INDEX ON {} USING gin ({})").format(
                    table, sql.Identifier(column)))
            for column in ("duration_s", "ingested_at"):
                conn.execute(sql.SQL("CREATE INDEX ON {} ({})").format(
                    table, sql.Identifier(column)))
            conn.execute(sql.SQL(
                "CREATE TABLE {} (token bigint NOT NULL, video_id text NOT NULL REFERENCES {} "
                "ON DELETE CASCADE, weight real NOT NULL, PRIMARY KEY (token, video_id))").format(
                postings, table))
            conn.execute(sql.SQL("CREATE INDEX ON {} (video_id)").format(postings))
        return name

    def _live(self, cur) -> str:
        cur.execute(f"SELECT physical FROM {ALIASES} WHERE alias = %s", (self.collection,))
        row = cur.fetchone()
        if row is None:
            raise StoreUnavailable(f"collection {self.collection!r} vanished from PostgreSQL")
        return row[0]

    def physical_collection(self) -> str:
        with self._cursor() as cur:
            return self._live(cur)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # Writes ------------------------------------------------------------------------

    def upsert(self, points: Sequence[VideoPoint], collection: str | None = None) -> None:
        """Write points (row and postings in one transaction) to the live catalogue or a
        rebuild target."""
        for p in points:
            check_point(p, self.sizes)
        if not points:
            return
        with self._cursor() as cur, cur.connection.transaction():
            if collection:  # a rebuild target has every space
                _write(cur, collection, points, list(self.sizes))
            else:  # the live catalogue may predate moments (records.fit)
                _write(cur, self._live(cur), [replace(p, dense=fit(p.dense, self._layout))
                                              for p in points], list(self._layout))
        self._size = None

    def delete(self, video_ids: Sequence[str]) -> None:
        from psycopg import sql

        with self._cursor() as cur:
            cur.execute(sql.SQL("DELETE FROM {} WHERE video_id = ANY(%s)").format(
                sql.Identifier(self._live(cur))), (list(video_ids),))
        self._size = None

    def optimize(self) -> None:
        """PostgreSQL keeps its indexes current on every write; refresh the planner's
        statistics after a large load."""
        from psycopg import sql

        with self._cursor() as cur:
            live = self._live(cur)
            for table in (live, f"{live}_keywords"):
                cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))

    # Rebuilds ----------------------------------------------------------------------

    def begin_rebuild(self) -> str:
        with self._cursor() as cur:
            return self._create_physical(cur.connection)

    def copy_into(self, target: str, video_ids: Sequence[str], batch: int = 256) -> None:
        """Copy rows and postings as they are from the live catalogue."""
        from psycopg import sql

        with self._cursor() as cur, cur.connection.transaction():
            live = self._live(cur)
            # Column by column: a catalogue from before moments lacks the last column,
            # which is then filled from the speech vector (records.with_moments).
            cur.execute(sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE video_id = ANY(%s) "
                                "ON CONFLICT (video_id) DO NOTHING").format(
                sql.Identifier(target), sql.Identifier(live)), (list(video_ids),))
            cur.execute(sql.SQL("UPDATE {} SET moments = ARRAY[speech] WHERE moments IS NULL "
                                "AND speech IS NOT NULL AND video_id = ANY(%s)").format(
                sql.Identifier(target)), (list(video_ids),))
            cur.execute(sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE video_id = ANY(%s) "
                                "ON CONFLICT DO NOTHING").format(
                sql.Identifier(f"{target}_keywords"), sql.Identifier(f"{live}_keywords")),
                (list(video_ids),))

    def switch_to(self, target: str) -> str:
        """Point the alias at `target` and drop the catalogue it replaced, in one transaction:
        a search sees the old catalogue or the new one, never a mix."""
        from psycopg import sql

        with self._cursor() as cur, cur.connection.transaction():
            cur.execute(f"SELECT physical FROM {ALIASES} WHERE alias = %s FOR UPDATE",
                        (self.collection,))
            old = cur.fetchone()[0]
            cur.execute(f"UPDATE {ALIASES} SET physical = %s WHERE alias = %s",
                        (target, self.collection))
            cur.execute(sql.SQL("DROP TABLE {}, {}").format(
                sql.Identifier(f"{old}_keywords"), sql.Identifier(old)))
        self._size = None
        self._layout = dict(self.sizes)  # a rebuild is made with every space
        return old

    def abandon_rebuild(self, target: str) -> None:
        from psycopg import sql

        with self._cursor() as cur:
            if target == self._live(cur):
                raise ValueError(f"{target} is the live catalogue, not a rebuild")
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(
                sql.Identifier(f"{target}_keywords"), sql.Identifier(target)))

    # Reads -------------------------------------------------------------------------

    def get(self, video_id: str, with_vectors: bool = False) -> dict[str, Any] | None:
        found = self._rows([video_id], with_vectors)
        if not found:
            return None
        payload, vectors = found[0]
        if with_vectors:
            payload["_vectors"] = vectors
        return payload

    def get_many(self, video_ids: Sequence[str]) -> list[dict[str, Any]]:
        return [payload for payload, _ in self._rows(video_ids, False)] if video_ids else []

    def durations(self, video_ids: Sequence[str]) -> dict[str, float]:
        from psycopg import sql

        if not video_ids:
            return {}
        with self._cursor() as cur:
            cur.execute(sql.SQL("SELECT video_id, duration_s FROM {} WHERE video_id = ANY(%s) "
                                "AND duration_s IS NOT NULL").format(
                sql.Identifier(self._live(cur))), (list(video_ids),))
            return {v: float(d) for v, d in cur.fetchall()}

    def vectors(self, video_ids: Sequence[str], spaces: Sequence[str] | None = None
                ) -> dict[str, dict[str, list]]:
        if not video_ids:
            return {}
        return {p["video_id"]: v for p, v in self._rows(video_ids, True, spaces)}

    def _rows(self, video_ids: Sequence[str], with_vectors: bool,
              spaces: Sequence[str] | None = None) -> list[tuple[dict[str, Any], dict[str, list]]]:
        from psycopg import sql

        spaces = [s for s in (spaces or flat(self.sizes)) if s in self._layout] if with_vectors \
            else []
        columns = sql.SQL(", ").join([sql.Identifier("payload"),
                                      *map(sql.Identifier, spaces)])
        with self._cursor() as cur:
            cur.execute(sql.SQL("SELECT {} FROM {} WHERE video_id = ANY(%s)").format(
                columns, sql.Identifier(self._live(cur))), (list(video_ids),))
            rows = cur.fetchall()
        return [(row[0], {s: [m.to_list() for m in v] if s in MULTIVECTOR_SPACES
                          else v.to_list() for s, v in zip(spaces, row[1:], strict=True)
                          if v is not None}) for row in rows]

    def count(self) -> int:
        from psycopg import sql

        with self._cursor() as cur:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(self._live(cur))))
            return int(cur.fetchone()[0])

    def scroll(self, batch: int = 256) -> Iterator[dict[str, Any]]:
        """Every payload, in pages by video id (no cursor held open between pages)."""
        from psycopg import sql

        after = ""
        while True:
            with self._cursor() as cur:
                cur.execute(sql.SQL("SELECT video_id, payload FROM {} WHERE video_id > %s "
                                    "ORDER BY video_id LIMIT %s").format(
                    sql.Identifier(self._live(cur))), (after, batch))
                rows = cur.fetchall()
            yield from (payload for _, payload in rows)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def newest(self, limit: int) -> list[dict[str, Any]]:
        from psycopg import sql

        with self._cursor() as cur:
            cur.execute(sql.SQL("SELECT payload FROM {} ORDER BY ingested_at DESC NULLS LAST "
                                "LIMIT %s").format(sql.Identifier(self._live(cur))), (limit,))
            return [row[0] for row in cur.fetchall()]

    # Rankings ----------------------------------------------------------------------

    def nearest(self, vector: list[float], using: str, limit: int,
                exclude: Sequence[str] = ()) -> list[str]:
        return [v for v, _ in self._nearest(vector, using, limit, SearchFilters(), exclude)]

    def _nearest(self, vector: Sequence[float], using: str, limit: int,
                 filters: SearchFilters, exclude: Sequence[str] = ()
                 ) -> list[tuple[str, float]]:
        """(video id, cosine) nearest in one space, filtered in the same statement: the
        index is scanned iteratively until enough rows pass the filter (pgvector 0.8)."""
        from psycopg import sql

        if using not in self.sizes:
            raise ValueError(f"unknown vector {using!r}")
        where, args = _where(filters, exclude)
        space = sql.Identifier(using)
        if using in MULTIVECTOR_SPACES:  # each row by its best vector, in an exact scan
            with self._cursor() as cur:
                cur.execute(sql.SQL(
                    "SELECT video_id, best FROM (SELECT video_id, (SELECT max(1 - (m <=> %s)) "
                    "FROM unnest({}) m) AS best FROM {} WHERE {} IS NOT NULL AND {}) scored "
                    "ORDER BY best DESC, video_id LIMIT %s").format(
                    space, sql.Identifier(self._live(cur)), space, where),
                    [np.asarray(vector, dtype=np.float32), *args, limit])
                return [(row[0], float(row[1])) for row in cur.fetchall()]
        with self._cursor() as cur, cur.connection.transaction():
            if self._count_cached(cur) <= EXACT_UP_TO:
                cur.execute("SET LOCAL enable_indexscan = off")
            else:
                cur.execute(f"SET LOCAL hnsw.ef_search = {HNSW_EF}")
                cur.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            cur.execute(sql.SQL("SELECT video_id, 1 - ({} <=> %s) FROM {} WHERE {} IS NOT NULL"
                                " AND {} ORDER BY {} <=> %s, video_id LIMIT %s").format(
                space, sql.Identifier(self._live(cur)), space, where, space),
                [np.asarray(vector, dtype=np.float32), *args,
                 np.asarray(vector, dtype=np.float32), limit])
            return [(row[0], float(row[1])) for row in cur.fetchall()]

    def _count_cached(self, cur) -> int:
        if self._size is None:
            from psycopg import sql

            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(self._live(cur))))
            self._size = int(cur.fetchone()[0])
        return self._size

    def keyword_ranking(self, text: str, limit: int, exclude: Sequence[str] = ()) -> list[str]:
        from shortlist.text import query_sparse

        return [v for v, _ in self._keywords(query_sparse(text), limit, SearchFilters(),
                                             exclude)]

    def _keywords(self, sparse: dict[int, float], limit: int, filters: SearchFilters,
                  exclude: Sequence[str] = ()) -> list[tuple[str, float]]:
        """Videos by the dot product of keyword weights, each token weighed by the IDF
        Qdrant's sparse index uses: ln(1 + (N - n + 0.5) / (n + 0.5))."""
        from psycopg import sql

        if not sparse:
            return []
        where, args = _where(filters, exclude)
        tokens = sorted(sparse)
        with self._cursor() as cur:
            live = self._live(cur)
            table, postings = sql.Identifier(live), sql.Identifier(f"{live}_keywords")
            cur.execute(sql.SQL(
                "WITH q AS (SELECT * FROM unnest(%s::bigint[], %s::real[]) AS q(token, w)), "
                "n AS (SELECT count(*)::float8 AS n FROM {table}), "
                "df AS (SELECT k.token, count(*)::float8 AS df FROM {postings} k "
                "       JOIN q USING (token) GROUP BY k.token) "
                "SELECT k.video_id, sum(q.w * k.weight * ln(1 + (n.n - df.df + 0.5) / "
                "(df.df + 0.5))) AS score FROM {postings} k JOIN q USING (token) "
                "JOIN df USING (token) CROSS JOIN n JOIN {table} USING (video_id) "
                "WHERE {where} GROUP BY k.video_id ORDER BY score DESC, k.video_id LIMIT %s"
            ).format(table=table, postings=postings, where=where),
                [tokens, [float(sparse[t]) for t in tokens], *args, limit])
            return [(row[0], float(row[1])) for row in cur.fetchall()]

    def hybrid_search(self, dense: list[list[float]], sparse: dict[int, float],
                      keyword_query: str, limit: int, offset: int = 0,
                      filters: SearchFilters | None = None,
                      spaces: Sequence[str] = TEXT_SPACES,
                      extra: dict[str, list[float]] | None = None) -> list[Hit]:
        """PostgreSQL's rankings (HNSW per space, the keyword postings), filtered in SQL,
        fused by records.fuse_search as on every store."""
        filters = filters or SearchFilters()
        depth = max(50, (limit + offset) * 4)
        with self._cursor() as cur:
            self._live(cur)  # the live catalogue's layout is known from here
        fused = fuse_search(lambda requests: [
            self._keywords(q, depth, filters) if s == KEYWORDS
            else self._nearest(q, s, depth, filters) for s, q in requests], dense, sparse,
                            searchable(spaces, self._layout),
                            by_best_part(extra, self._layout), depth)[:offset + 2 * limit]
        return page_of(self._hits(fused), offset, limit)

    def fused_neighbours(self, vectors: dict[str, list[float]], limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]:
        rankings = [[v for v, _ in self._nearest(vec, name, max(50, limit * 4),
                                                 SearchFilters(), exclude)]
                    for name, vec in vectors.items()]
        fused = rrf_fuse(rankings, k=RRF_K)[:2 * limit]
        return page_of(self._hits(fused, with_vectors=list(vectors)), 0, limit)

    def liked_neighbours(self, positives: Sequence[dict[str, list[float]]],
                         negatives: Sequence[dict[str, list[float]]],
                         weights: dict[str, float], limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]:
        """Per weighted space, candidates ranked by Qdrant's best-score rule (nearest liked
        video, unless a disliked one is nearer), then fused by weighted rank."""
        spaces = liked_spaces(positives, weights)
        if not spaces:
            return []
        rankings = []
        for s in spaces:
            pos = [p[s] for p in positives if s in p]
            neg = [n[s] for n in negatives if s in n]
            # The union of each liked video's own nearest holds the best-score top `limit`
            # (a candidate's score is its similarity to one of them); dislikes only lower
            # scores, so fetch past the limit when there are any.
            reach = limit * (2 if neg else 1)
            candidates = {v for p in pos for v, _ in self._nearest(p, s, reach,
                                                                   SearchFilters(), exclude)}
            rankings.append(_best_score_order(self.vectors(sorted(candidates)), s, pos, neg,
                                              limit))
        fused = rrf_fuse(rankings, [weights[s] for s in spaces], k=RRF_K)[:limit]
        return page_of(self._hits(fused, with_vectors=flat(self.sizes)), 0, limit)

    def _hits(self, scored: Sequence[tuple[str, float]],
              with_vectors: Sequence[str] = ()) -> list[Hit]:
        rows = {p["video_id"]: (p, v) for p, v in self._rows([v for v, _ in scored],
                                                             bool(with_vectors))}
        return [Hit(vid, score, rows[vid][0],
                    {s: rows[vid][1][s] for s in with_vectors if s in rows[vid][1]}
                    if with_vectors else None)
                for vid, score in scored if vid in rows]


def _best_score_order(vectors: dict[str, dict[str, list[float]]], space: str,
                      pos: Sequence[Sequence[float]], neg: Sequence[Sequence[float]],
                      limit: int) -> list[str]:
    """Qdrant's best-score recommend: the best similarity to a liked vector when that beats
    the best to a disliked one, else minus the disliked similarity."""
    ids = [v for v in vectors if space in vectors[v]]
    if not ids:
        return []
    matrix = _unit(np.array([vectors[v][space] for v in ids], dtype=np.float64))
    best_pos = (matrix @ _unit(np.array(pos, dtype=np.float64)).T).max(axis=1)
    score = best_pos
    if neg:
        best_neg = (matrix @ _unit(np.array(neg, dtype=np.float64)).T).max(axis=1)
        score = np.where(best_pos > best_neg, best_pos, -best_neg)
    order = sorted(range(len(ids)), key=lambda i: (-score[i], ids[i]))
    return [ids[i] for i in order[:limit]]


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def _write(cur, table: str, points: Sequence[VideoPoint], spaces: list[str]) -> None:
    from psycopg import sql
    from psycopg.types.json import Jsonb

    columns = ["video_id", "payload", *FILTER_COLUMNS, *spaces]
    updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
                                 for c in columns[1:])
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (video_id) DO UPDATE "
                        "SET {}").format(sql.Identifier(table),
                                         sql.SQL(", ").join(map(sql.Identifier, columns)),
                                         sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                                         updates)
    rows = []
    for p in points:
        pl = p.payload
        duration = pl.get("duration_s")
        rows.append([p.video_id, Jsonb(pl), list(pl.get("tags") or []),
                     list(pl.get("genres") or []),
                     float(duration) if isinstance(duration, int | float) else None,
                     pl.get("language"), bool(pl.get("has_speech")), pl.get("ingested_at"),
                     *[_column_value(p.dense[s], s) if s in p.dense else None
                       for s in spaces]])
    cur.executemany(statement, rows)
    postings = sql.Identifier(f"{table}_keywords")
    cur.execute(sql.SQL("DELETE FROM {} WHERE video_id = ANY(%s)").format(postings),
                ([p.video_id for p in points],))
    cur.executemany(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(postings),
                    [(int(t), p.video_id, float(w)) for p in points for t, w in p.sparse.items()])


def _column_value(value: list, space: str):
    """A vector as pgvector takes it; the moments as an array of them."""
    if space in MULTIVECTOR_SPACES:
        return [np.asarray(v, dtype=np.float32) for v in value]
    return np.asarray(value, dtype=np.float32)


def _where(filters: SearchFilters, exclude: Sequence[str] = ()):
    """SearchFilters (and ids to leave out) as one SQL condition and its arguments."""
    from psycopg import sql

    parts, args = [sql.SQL("TRUE")], []
    if filters.tags:
        parts.append(sql.SQL("tags && %s::text[]"))
        args.append(list(filters.tags))
    if filters.genres:
        parts.append(sql.SQL("genres && %s::text[]"))
        args.append(list(filters.genres))
    if filters.min_duration_s is not None:
        parts.append(sql.SQL("duration_s >= %s"))
        args.append(filters.min_duration_s)
    if filters.max_duration_s is not None:
        parts.append(sql.SQL("duration_s <= %s"))
        args.append(filters.max_duration_s)
    if filters.language:
        parts.append(sql.SQL("language = %s"))
        args.append(filters.language)
    if filters.has_speech is not None:
        parts.append(sql.SQL("has_speech = %s"))
        args.append(filters.has_speech)
    if exclude:
        parts.append(sql.SQL("NOT (video_id = ANY(%s))"))
        args.append(list(exclude))
    return sql.SQL(" AND ").join(parts), args


def _check_sizes(conn, physical: str, collection: str, sizes: dict[str, int]
                 ) -> dict[str, int]:
    """The catalogue's spaces; refuses one made with other vector sizes (another embedder).
    One made before moments were stored is taken as it is (records.fits_layout)."""
    rows = conn.execute(
        "SELECT a.attname, a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s::regclass AND t.typname IN ('vector', '_vector') "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (f'"{physical}"',)
    ).fetchall()
    found = {name: size for name, size in rows}
    if not fits_layout(found, sizes):
        raise StoreUnavailable(
            f"collection {collection!r} in PostgreSQL was made with other vector sizes {found} "
            f"(this text embedder writes {sizes}): set SHORTLIST_COLLECTION to a new name, or "
            "`shortlist reindex` from the sources")
    return found


def _redacted(dsn: str) -> str:
    """The DSN without its password, for messages."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:
        return "unparsable DSN"
    if "password" in parts:
        parts["password"] = "***"
    return make_conninfo(**parts)
