"""Child processes that end with their parent, so a killed Shortlist leaves nothing running.

Linux's PR_SET_PDEATHSIG asks the kernel to signal a child when the thread that started it
ends. util-linux's `setpriv --pdeathsig` sets it and then runs the command, so no Python
code runs between fork and exec: a `preexec_fn` made subprocess fork() the whole process,
which runs OpenBLAS's fork handler, and that handler waits for BLAS calls in other threads
to end — an ffmpeg started while another video was being embedded hung the ingest for good
(seen on a reindex). Without `preexec_fn`, subprocess starts children with vfork, which runs
no fork handlers. Only for children started and waited on by a thread that lives as long as
they do (a blocking `subprocess.run`, or the main thread).
"""

from __future__ import annotations

import shutil
import sys

_SETPRIV = shutil.which("setpriv") if sys.platform == "linux" else None


def tied_to_parent(cmd: list[str]) -> list[str]:
    """`cmd`, run so that it gets SIGTERM when the thread that started it ends (as it is,
    where setpriv is missing: util-linux is essential on Debian)."""
    return [_SETPRIV, "--pdeathsig", "TERM", *cmd] if _SETPRIV else cmd


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc (Linux; for tests and benchmarks that check
    what a command left running or how much memory its tree holds)."""
    from pathlib import Path

    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found
