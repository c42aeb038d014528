"""Child processes that end with their parent, so a killed Shortlist leaves nothing running.

Linux's PR_SET_PDEATHSIG asks the kernel to signal a child when the thread that started it
ends; set between fork and exec (`preexec_fn`). Only for children started and waited on by
a thread that lives as long as they do (a blocking `subprocess.run`, or the main thread).
"""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1
try:  # resolved once here: the function run after fork must not load anything
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):
    _prctl = None


def exit_with_parent() -> None:
    """`preexec_fn` for a child that must not outlive its parent (SIGTERM when it dies)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def tied_to_parent() -> dict:
    """Keyword arguments for subprocess.run/Popen that tie the child to this process."""
    return {"preexec_fn": exit_with_parent} if _prctl is not None else {}


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
