"""Who owns the embedded store: `shortlist serve` leaves its address in the data dir.

The embedded Qdrant folder admits one process. While `serve` holds it, a job that needs
the store (the nightly reindex) finds the owner here and asks it to do the work, so
search keeps answering.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoreOwner:
    url: str  # http://host:port of the serving process
    pid: int


def owner_file(data_dir: Path) -> Path:
    return data_dir / "serve.json"


def claim(data_dir: Path, url: str) -> Path:
    path = owner_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    return path


def release(data_dir: Path) -> None:
    path = owner_file(data_dir)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def current_owner(data_dir: Path) -> StoreOwner | None:
    """The serving process, if one is alive; a file left by a crashed one is ignored."""
    try:
        record = json.loads(owner_file(data_dir).read_text())
        owner = StoreOwner(str(record["url"]), int(record["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return owner
