"""Build an Edge shard's index in a process of its own.

Qdrant Edge 0.9.0's `optimize()` holds Python's global lock for its whole run, so a build
inside `shortlist serve` stopped every request: 5 s at 8k unindexed videos, over 4
minutes at 64k, and writes meanwhile timed out. In a child process the server's threads
go on; the shard being built is a copy or a new build that nobody else has open.

    python -m shortlist.store.index_build SHARD_DIR
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# The command that builds a shard's index; tests put a gate in front of it.
BUILDER = [sys.executable, "-m", "shortlist.store.index_build"]


class IndexBuildFailed(RuntimeError):
    """The child process could not build the index (what it said is in the message)."""


def start_build(shard_dir: Path) -> subprocess.Popen:
    """The child that builds `shard_dir`'s index; `finish_build` waits for it."""
    return subprocess.Popen([*BUILDER, str(shard_dir)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def finish_build(child: subprocess.Popen) -> None:
    """Wait for the child (the wait releases Python's lock) and raise if it failed."""
    _, err = child.communicate()
    if child.returncode != 0:
        said = (err or "").strip().splitlines()[-3:]
        raise IndexBuildFailed(f"building the index in a child process failed (exit "
                               f"{child.returncode}): {' / '.join(said) or 'no message'}")


def build_in_child(shard_dir: Path) -> None:
    finish_build(start_build(shard_dir))


def main(argv: list[str]) -> int:
    from qdrant_edge import EdgeShard

    if len(argv) != 1:
        print("usage: python -m shortlist.store.index_build SHARD_DIR", file=sys.stderr)
        return 2
    shard = EdgeShard.load(argv[0])
    try:
        shard.optimize()
        shard.flush()
    finally:
        shard.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
