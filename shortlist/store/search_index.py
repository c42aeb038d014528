"""The search index beside an embedded store: SQLite with FTS5 (BM25) keywords, the text
vectors and the payloads.

Embedded Qdrant loads every point of the folder into memory when it opens (over a second
at 10k videos) and admits one process. Unfiltered search needs only the text vectors, the
keywords and the payloads of the hits, so it reads them here: a cold `shortlist search`
answers in a fraction of a second, even while an ingest holds the Qdrant folder.
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

FIELDS = ("title", "tags", "genres", "transcript", "ocr", "labels")
# BM25 weight per field, in FIELDS order: a word in the title or tags says more.
WEIGHTS = (3.0, 3.0, 2.0, 1.0, 2.0, 1.0)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class SearchIndex:
    def __init__(self, path: Path, dimension: int = 384) -> None:
        self.path = path
        self.dimension = dimension
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._matrix: tuple[list[str], np.ndarray] | None = None  # loaded on first dense query
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(video_id UNINDEXED, "
            + ", ".join(FIELDS) + ", tokenize='porter unicode61 remove_diacritics 2')")
        self._db.execute("CREATE TABLE IF NOT EXISTS points (video_id TEXT PRIMARY KEY, "
                         "text BLOB, payload TEXT NOT NULL)")

    def upsert(self, video_id: str, fields: dict[str, str], text_vector: Sequence[float] | None
               = None, payload: dict[str, Any] | None = None) -> None:
        self.upsert_many([(video_id, fields, text_vector, payload)])

    def upsert_many(self, rows: Sequence[tuple[str, dict[str, str], Sequence[float] | None,
                                              dict[str, Any] | None]]) -> None:
        """(video id, searchable fields, text vector, payload) rows, in one transaction."""
        with self._lock:
            self._db.execute("BEGIN")
            for video_id, fields, text_vector, payload in rows:
                blob = None if text_vector is None else \
                    np.asarray(text_vector, dtype=np.float32).tobytes()
                self._db.execute("DELETE FROM docs WHERE video_id = ?", (video_id,))
                self._db.execute(f"INSERT INTO docs VALUES (?, {', '.join('?' * len(FIELDS))})",
                                 [video_id, *(fields.get(f, "") for f in FIELDS)])
                self._db.execute("INSERT OR REPLACE INTO points VALUES (?, ?, ?)", (
                    video_id, blob,
                    json.dumps(payload or {"video_id": video_id}, ensure_ascii=False)))
            self._db.execute("COMMIT")
            self._matrix = None

    def delete(self, video_ids: Sequence[str]) -> None:
        rows = [(v,) for v in video_ids]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM docs WHERE video_id = ?", rows)
            self._db.executemany("DELETE FROM points WHERE video_id = ?", rows)
            self._db.execute("COMMIT")
            self._matrix = None

    def dense_ranking(self, query: Sequence[float], limit: int) -> list[str]:
        """Video ids by cosine similarity of their text vector to `query` (vectors are
        stored normalised, as Qdrant keeps them for cosine distance)."""
        ids, matrix = self._vectors()
        if not ids:
            return []
        q = np.asarray(query, dtype=np.float32)
        scores = matrix @ (q / (np.linalg.norm(q) or 1.0))
        top = np.argsort(-scores, kind="stable")[:limit]
        return [ids[i] for i in top]

    def _vectors(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            if self._matrix is None:
                rows = self._db.execute(
                    "SELECT video_id, text FROM points WHERE text IS NOT NULL "
                    "ORDER BY video_id").fetchall()
                matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                matrix = matrix.reshape(len(rows), self.dimension)
                norms = np.linalg.norm(matrix, axis=1, keepdims=True)
                self._matrix = ([r[0] for r in rows], matrix / np.where(norms == 0, 1, norms))
            return self._matrix

    def payloads(self, video_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not video_ids:
            return {}
        marks = ", ".join("?" * len(video_ids))
        with self._lock:
            rows = self._db.execute(f"SELECT video_id, payload FROM points WHERE video_id IN "
                                    f"({marks})", list(video_ids)).fetchall()
        return {vid: json.loads(payload) for vid, payload in rows}

    def points_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def search(self, query: str, limit: int = 100) -> list[tuple[str, float]]:
        """Video ids by BM25 over the words of `query` (any word matches), best first."""
        words = [w for w in _WORD.findall(query.lower()) if len(w) > 1]
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
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


def fields_from_payload(payload: dict) -> dict[str, str]:
    """The searchable text of a catalogue point, field by field, from its payload."""
    return {
        "title": payload.get("title") or "",
        "tags": " ".join(payload.get("tags") or []),
        "genres": " ".join(payload.get("genres") or []),
        "transcript": payload.get("transcript") or "",
        "ocr": payload.get("ocr_text") or "",
        "labels": " ".join(lb["name"] for lb in payload.get("visual_labels") or []),
    }


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 2) -> dict[str, float]:
    """score = sum over rankings of 1 / (rank + k), rank from 1; k = 2 as Qdrant's default."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, vid in enumerate(ranking, start=1):
            scores[vid] = scores.get(vid, 0.0) + 1.0 / (rank + k - 1)
    return scores
