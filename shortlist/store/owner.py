"""Who owns the embedded store: `shortlist serve` leaves its address in the data dir.

The embedded store admits one process at a time. While `serve` holds it, a job that needs
the store (ingest, the nightly reindex, the read commands) finds the owner here and asks
it to do the work, so search keeps answering.

A file left behind by a server that is gone (killed, or its machine restarted, so that
another process may now have its pid) is recognised by asking the address who it is:
only the server that wrote the file answers with its instance id.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

ASK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class StoreOwner:
    url: str  # http://host:port of the serving process
    pid: int
    instance: str = ""


def owner_file(data_dir: Path) -> Path:
    return data_dir / "serve.json"


def claim(data_dir: Path, url: str, instance: str) -> Path:
    path = owner_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"url": url, "pid": os.getpid(), "instance": instance}))
    os.replace(partial, path)
    return path


def release(data_dir: Path, instance: str) -> None:
    """Remove the file if it is still this server's."""
    path = owner_file(data_dir)
    try:
        if json.loads(path.read_text()).get("instance") == instance:
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def current_owner(data_dir: Path) -> StoreOwner | None:
    """The serving process, if the address in the file answers as the server that wrote it."""
    try:
        record = json.loads(owner_file(data_dir).read_text())
        owner = StoreOwner(str(record["url"]), int(record["pid"]), str(record["instance"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if owner.pid == os.getpid():
        return owner
    return owner if _answers_as(owner) else None


def _answers_as(owner: StoreOwner) -> bool:
    # Imported here: 31 ms of every command's start otherwise, and only a command that
    # finds a server's file asks it.
    import urllib.request

    try:
        with urllib.request.urlopen(f"{owner.url}/instance", timeout=ASK_TIMEOUT_S) as resp:
            return json.loads(resp.read()).get("instance") == owner.instance
    except (OSError, ValueError, AttributeError):
        return False
