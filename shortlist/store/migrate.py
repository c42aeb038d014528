"""Move a catalogue made by an older Shortlist (qdrant-client's local mode) into Edge.

Runs once, on the first open of a folder that holds a local-mode catalogue and no Edge
pointer. Every point is copied with its dense vectors and payload (its keyword vector is
made again from the payload's words, as this version tokenizes them); the copy is counted
against the source, and only then are the old files moved aside (to `local-mode-backup/`),
never deleted: a user can go back to the old version by moving them back.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from shortlist.errors import StoreUnavailable
from shortlist.store.records import VideoPoint, keyword_vector, with_moments

BACKUP = "local-mode-backup"


def has_local_mode_catalogue(path: Path) -> bool:
    return (path / "meta.json").exists() and (path / "collection").is_dir()


def migrate_local_mode(path: Path, collection: str,
                       write: Callable[[Sequence[VideoPoint]], None], batch: int = 256) -> int:
    """Copy every point of the local-mode catalogue at `path` through `write`; returns how
    many. Raises StoreUnavailable (and moves nothing aside) if the counts disagree."""
    from qdrant_client import QdrantClient

    try:
        client = QdrantClient(path=str(path))
    except RuntimeError as exc:
        raise StoreUnavailable(f"cannot read the old catalogue at {path} to move it into "
                               f"the new store: {exc}") from exc
    try:
        names = {c.name for c in client.get_collections().collections}
        aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
        collection = aliases.get(collection, collection)
        if collection not in names:
            expected = copied = 0
        else:
            expected = client.count(collection, exact=True).count
            copied = _copy(client, collection, write, batch)
    finally:
        client.close()
    if copied != expected:
        raise StoreUnavailable(f"moving the old catalogue at {path}: copied {copied} of "
                               f"{expected} videos; the old folder is left as it was")
    backup = path / BACKUP
    backup.mkdir(exist_ok=True)
    for entry in path.iterdir():
        if entry.name in ("collection", "meta.json", ".lock") or entry.name.endswith(
                (".db", ".db-wal", ".db-shm", "-index.json")):
            shutil.move(str(entry), str(backup / entry.name))
    return copied


def _copy(client, collection: str, write: Callable[[Sequence[VideoPoint]], None],
          batch: int) -> int:
    copied, offset = 0, None
    while True:
        records, offset = client.scroll(collection, limit=batch, offset=offset,
                                        with_payload=True, with_vectors=True)
        points = [_point(r) for r in records]
        write(points)
        copied += len(points)
        if offset is None:
            return copied


def _point(record) -> VideoPoint:
    vectors = record.vector if isinstance(record.vector, dict) else {}
    dense = with_moments({k: list(v) for k, v in vectors.items() if isinstance(v, list)})
    payload = dict(record.payload or {})
    return VideoPoint(str(payload.get("video_id")), payload, dense, keyword_vector(payload))
