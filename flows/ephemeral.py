"""Prefect's ephemeral API server, started so that it ends with the command that started it.

Without PREFECT_API_URL, Prefect starts its API server as a child process on the first
flow call and stops it at exit (atexit). A command killed with SIGKILL never gets there,
and the server lived on as an orphan. Here the server is started from the main thread
with PR_SET_PDEATHSIG set for it (shortlist/processes.py: `setpriv` sets it, then runs the
server in its place), so the kernel ends it when the command's process dies, however it dies.
"""

from __future__ import annotations

import os
import subprocess
import threading

from shortlist.processes import tied_to_parent

FIRST_START_TIMEOUT_S = 180


class _TiedSubprocess:
    """Prefect's server module's view of `subprocess`: the same, but every Popen it makes
    is tied to this process. Patched into that one module only (prefect is pinned)."""

    def __getattr__(self, name: str):
        return getattr(subprocess, name)

    @staticmethod
    def Popen(args, **kwargs):  # noqa: N802 - stands in for subprocess.Popen
        return subprocess.Popen(tied_to_parent(list(args)), **kwargs)


def start_tied_server() -> None:
    """Start the ephemeral server now, from the main thread (the kernel signals the child
    when the thread that forked it ends). No-op when a server is configured."""
    if os.environ.get("PREFECT_API_URL"):
        return
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the ephemeral Prefect server must be started from the main thread")
    from prefect.server.api import server
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    server.subprocess = _TiedSubprocess()
    # The first start on a new machine migrates Prefect's database, which took longer than
    # Prefect's 20 s default on two cores; a raised PREFECT_ setting still wins.
    timeout = max(FIRST_START_TIMEOUT_S, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    server.SubprocessASGIServer().start(timeout=timeout)
