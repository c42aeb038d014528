"""Ids derived from content: the same bytes ingested twice, or from two sources, are one point."""

from __future__ import annotations

import functools
import hashlib
import uuid
from pathlib import Path

_NAMESPACE = uuid.UUID("6f1c7a3e-2b8d-5e4f-9a10-53686f72746c")


def content_hash(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of the file's bytes, hex."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def video_id_for(sha256: str) -> str:
    """The short id users type: the first 16 hex digits of the content hash."""
    return sha256[:16]


@functools.lru_cache(maxsize=1 << 16)  # a uuid5 per lookup showed in recommendation profiles
def point_id_for(video_id: str) -> str:
    """Qdrant needs a UUID or an integer; derive a UUID from the video id."""
    return str(uuid.uuid5(_NAMESPACE, video_id))
