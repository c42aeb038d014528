"""The search index beside an embedded store: SQLite with FTS5 (BM25) keywords, the text
vectors and the payloads.

Embedded Qdrant loads every point of the folder into memory when it opens (over a second
at 10k videos) and admits one process. Unfiltered search needs only the text vectors, the
keywords and the payloads of the hits; a user's recommendations need a few vectors and
one average-vector query. So the index keeps each point's dense vectors and payload too,
and those commands read them here: cold, they answer in a fraction of a second, even
while an ingest holds the Qdrant folder.
FTS5 also answers keyword queries in about a millisecond, where embedded Qdrant scores
sparse vectors with a Python loop. A Qdrant server does both natively, so this index is
only kept beside the embedded folder. Qdrant stays the store of record: the index is
rebuilt from it when missing.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shortlist.text import STOPWORDS, sound_keys

FIELDS = ("title", "tags", "genres", "transcript", "ocr", "labels", "sounds")
# BM25 weight per field, in FIELDS order: a word in the title or tags says more; a word
# that only sounds alike (shortlist/text.py, sound_keys) says less.
WEIGHTS = (3.0, 3.0, 2.0, 1.0, 2.0, 1.0, 0.5)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class SearchIndex:
    """`dimensions`: the dense vectors kept per point, name -> size (text, visual, audio)."""

    def __init__(self, path: Path, dimensions: dict[str, int]) -> None:
        self.path = path
        self.dimensions = dict(dimensions)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        # name -> (ids, normalised matrix), loaded on first use, dropped on every write
        self._matrices: dict[str, tuple[list[str], np.ndarray]] = {}
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(video_id UNINDEXED, "
            + ", ".join(FIELDS) + ", tokenize='porter unicode61 remove_diacritics 2')")
        vector_columns = "".join(f", {name} BLOB" for name in self.dimensions)
        self._db.execute(f"CREATE TABLE IF NOT EXISTS points (video_id TEXT PRIMARY KEY"
                         f"{vector_columns}, ingested_at TEXT, payload TEXT NOT NULL)")

    def upsert(self, video_id: str, fields: dict[str, str],
               dense: dict[str, Sequence[float]] | None = None,
               payload: dict[str, Any] | None = None) -> None:
        self.upsert_many([(video_id, fields, dense or {}, payload)])

    def upsert_many(self, rows: Sequence[tuple[str, dict[str, str], dict[str, Sequence[float]],
                                              dict[str, Any] | None]]) -> None:
        """(video id, searchable fields, dense vectors by name, payload) rows, in one
        transaction."""
        names = list(self.dimensions)
        marks = ", ".join("?" * (len(names) + 3))
        with self._lock:
            self._db.execute("BEGIN")
            for video_id, fields, dense, payload in rows:
                payload = payload or {"video_id": video_id}
                blobs = [None if dense.get(n) is None else _unit(dense[n]).tobytes()
                         for n in names]
                self._db.execute("DELETE FROM docs WHERE video_id = ?", (video_id,))
                self._db.execute(f"INSERT INTO docs VALUES (?, {', '.join('?' * len(FIELDS))})",
                                 [video_id, *(fields.get(f, "") for f in FIELDS)])
                self._db.execute(f"INSERT OR REPLACE INTO points VALUES ({marks})", [
                    video_id, *blobs, payload.get("ingested_at"),
                    json.dumps(payload, ensure_ascii=False)])
            self._db.execute("COMMIT")
            self._matrices.clear()

    def delete(self, video_ids: Sequence[str]) -> None:
        rows = [(v,) for v in video_ids]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM docs WHERE video_id = ?", rows)
            self._db.executemany("DELETE FROM points WHERE video_id = ?", rows)
            self._db.execute("COMMIT")
            self._matrices.clear()

    def dense_ranking(self, query: Sequence[float], limit: int, name: str = "text",
                      exclude: Sequence[str] = ()) -> list[tuple[str, float]]:
        """(video id, cosine similarity) of the points nearest to `query` in space `name`,
        best first, as Qdrant's cosine distance ranks them."""
        ids, matrix = self._matrix(name)
        if not ids:
            return []
        q = np.asarray(query, dtype=np.float32)
        scores = matrix @ (q / (np.linalg.norm(q) or 1.0))
        excluded = set(exclude)
        out = []
        for i in np.argsort(-scores, kind="stable")[:limit + len(excluded)]:
            if ids[i] not in excluded:
                out.append((ids[i], float(scores[i])))
        return out[:limit]

    def recommend(self, positive: list, negative: list, limit: int, name: str = "text",
                  exclude: Sequence[str] = ()) -> list[tuple[str, float]]:
        """Qdrant's recommend query with the average-vector strategy, on this index:
        query = avg(positives) + (avg(positives) - avg(negatives)); examples are video ids
        (their stored vector) or vectors."""
        def as_vectors(examples: list) -> list[np.ndarray]:
            ids = [x for x in examples if isinstance(x, str)]
            stored = self.vectors(ids)
            out = [np.asarray(stored[x][name]) for x in ids if name in stored.get(x, {})]
            return out + [np.asarray(x) for x in examples if not isinstance(x, str)]

        pos, neg = as_vectors(positive), as_vectors(negative)
        if not pos:
            return []
        query = np.mean(pos, axis=0)
        if neg:
            query = query + (query - np.mean(neg, axis=0))
        return self.dense_ranking(query, limit, name, exclude)

    def _matrix(self, name: str) -> tuple[list[str], np.ndarray]:
        with self._lock:
            if name not in self._matrices:
                rows = self._db.execute(f"SELECT video_id, {name} FROM points WHERE {name} "
                                        "IS NOT NULL ORDER BY video_id").fetchall()
                matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                matrix = matrix.reshape(len(rows), self.dimensions[name])
                norms = np.linalg.norm(matrix, axis=1, keepdims=True)
                self._matrices[name] = ([r[0] for r in rows],
                                        matrix / np.where(norms == 0, 1, norms))
            return self._matrices[name]

    def vectors(self, video_ids: Sequence[str]) -> dict[str, dict[str, list[float]]]:
        """The stored dense vectors of these videos, name -> vector."""
        names = list(self.dimensions)
        rows = self._select(f"{', '.join(names)}", video_ids)
        return {row[0]: {n: np.frombuffer(blob, dtype=np.float32).tolist()
                         for n, blob in zip(names, row[1:], strict=True) if blob is not None}
                for row in rows}

    def payloads(self, video_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {row[0]: json.loads(row[1]) for row in self._select("payload", video_ids)}

    def _select(self, columns: str, video_ids: Sequence[str]) -> list[tuple]:
        if not video_ids:
            return []
        marks = ", ".join("?" * len(video_ids))
        with self._lock:
            return self._db.execute(f"SELECT video_id, {columns} FROM points WHERE video_id "
                                    f"IN ({marks})", list(video_ids)).fetchall()

    def video_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT video_id FROM points ORDER BY video_id")]

    def newest(self, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT payload FROM points ORDER BY ingested_at DESC, "
                                    "video_id LIMIT ?", (limit,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def points_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def search(self, query: str, limit: int = 100) -> list[tuple[str, float]]:
        """Video ids by BM25 over the words of `query` (any word matches), best first.

        Stop words are left out: with "any word matches", "and" in "computers and
        programming" matched every "Food and espresso" title, and fusion counts ranks, not
        scores, so those matches pushed real ones down."""
        words = [w for w in _WORD.findall(query.lower()) if len(w) > 1 and w not in STOPWORDS]
        if not words:
            return []
        match = " OR ".join([*(f'"{w}"' for w in dict.fromkeys(words)),
                             *(f'sounds : "{k}"' for k in sound_keys(query, query=True))])
        weights = ", ".join(str(w) for w in WEIGHTS)
        with self._lock:
            rows = self._db.execute(
                f"SELECT video_id, bm25(docs, 0, {weights}) AS score FROM docs "
                "WHERE docs MATCH ? ORDER BY score LIMIT ?", (match, limit)).fetchall()
        return [(vid, -score) for vid, score in rows]  # bm25() is lower-is-better

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _unit(vector: Sequence[float]) -> np.ndarray:
    """Stored normalised, as Qdrant stores vectors of a cosine collection."""
    v = np.asarray(vector, dtype=np.float32)
    return v / (np.linalg.norm(v) or 1.0)


def fields_from_payload(payload: dict) -> dict[str, str]:
    """The searchable text of a catalogue point, field by field, from its payload."""
    return {
        "title": payload.get("title") or "",
        "tags": " ".join(payload.get("tags") or []),
        "genres": " ".join(payload.get("genres") or []),
        "transcript": payload.get("transcript") or "",
        "ocr": payload.get("ocr_text") or "",
        "labels": " ".join(lb["name"] for lb in payload.get("visual_labels") or []),
        "sounds": " ".join(sound_keys(" ".join(filter(None, [
            payload.get("title"), payload.get("transcript"), payload.get("ocr_text")])))),
    }


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 2,
                           weights: Sequence[float] | None = None) -> dict[str, float]:
    """score = sum over rankings of weight / (rank + k - 1), rank from 1; k = 2 as Qdrant's
    default; every weight 1 unless given."""
    scores: dict[str, float] = {}
    for n, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[n]
        for rank, vid in enumerate(ranking, start=1):
            scores[vid] = scores.get(vid, 0.0) + weight / (rank + k - 1)
    return scores
