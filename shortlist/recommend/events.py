"""User interaction events (watched, liked, skipped), stored durably in SQLite.

WAL mode and a busy timeout let several processes (the API server, `shortlist watch`)
append at once without losing an event; this module needs neither the vector store
nor any model, so `shortlist watch` starts in milliseconds.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

KINDS = ("watched", "liked", "skipped")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    video_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('watched', 'liked', 'skipped')),
    seconds REAL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user_at ON events (user_id, at);
CREATE INDEX IF NOT EXISTS events_video ON events (video_id);
"""


@dataclass(frozen=True)
class Event:
    user_id: str
    video_id: str
    kind: str
    seconds: float | None
    at: float


class EventLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    def record(self, user_id: str, video_id: str, kind: str, seconds: float | None = None,
               at: float | None = None) -> Event:
        validate_user_id(user_id)
        if kind not in KINDS:
            raise ValueError(f"unknown event {kind!r}: one of {', '.join(KINDS)}")
        if seconds is not None and seconds < 0:
            raise ValueError("seconds watched cannot be negative")
        event = Event(user_id, video_id, kind, seconds, time.time() if at is None else at)
        with self._connect() as db:
            db.execute("INSERT INTO events (user_id, video_id, kind, seconds, at) "
                       "VALUES (?, ?, ?, ?, ?)", (event.user_id, event.video_id, event.kind,
                                                  event.seconds, event.at))
        return event

    def for_user(self, user_id: str, limit: int = 500) -> list[Event]:
        """The user's most recent events, newest first."""
        with self._connect() as db:
            rows = db.execute("SELECT user_id, video_id, kind, seconds, at FROM events "
                              "WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?",
                              (user_id, limit)).fetchall()
        return [Event(*r) for r in rows]

    def popular(self, limit: int = 50, since: float | None = None) -> list[tuple[str, int]]:
        """Videos by number of distinct users who watched or liked them."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT video_id, COUNT(DISTINCT user_id) AS n FROM events "
                "WHERE kind != 'skipped' AND at >= ? GROUP BY video_id "
                "ORDER BY n DESC, MAX(at) DESC LIMIT ?", (since or 0.0, limit)).fetchall()
        return [(v, int(n)) for v, n in rows]

    def count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def validate_user_id(user_id: str) -> None:
    if not user_id or len(user_id) > 128 or not user_id.isprintable():
        raise ValueError("a user id is 1-128 printable characters")
