"""Keyword retrieval for the embedded store: SQLite FTS5 with BM25.

Embedded Qdrant scores sparse vectors with a Python loop over every point (~35 ms at
10k videos, most of a search's budget); FTS5's inverted index answers in about a
millisecond. A Qdrant server scores its own sparse vectors natively, so this index
is only used beside the embedded folder.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

FIELDS = ("title", "tags", "genres", "transcript", "ocr", "labels")
# BM25 weight per field, in FIELDS order: a word in the title or tags says more.
WEIGHTS = (3.0, 3.0, 2.0, 1.0, 2.0, 1.0)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class KeywordIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(video_id UNINDEXED, "
            + ", ".join(FIELDS) + ", tokenize='porter unicode61 remove_diacritics 2')")

    def upsert(self, video_id: str, fields: dict[str, str]) -> None:
        values = [fields.get(f, "") for f in FIELDS]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM docs WHERE video_id = ?", (video_id,))
            self._db.execute(f"INSERT INTO docs VALUES (?, {', '.join('?' * len(FIELDS))})",
                             [video_id, *values])
            self._db.execute("COMMIT")

    def delete(self, video_ids: Sequence[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM docs WHERE video_id = ?",
                                 [(v,) for v in video_ids])

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
