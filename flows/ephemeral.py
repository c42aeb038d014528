"""Prefect's ephemeral API server for one command: tied to it, and started before Prefect loads.

Without PREFECT_API_URL, Prefect starts its API server as a child process on the first
flow call and stops it at exit (atexit). Two things are done differently here:
- A command killed with SIGKILL never gets to atexit, and the server lived on as an orphan.
  Here the server is started from the main thread with PR_SET_PDEATHSIG set for it
  (shortlist/processes.py: `setpriv` sets it, then runs the server in its place), so the
  kernel ends it when the command's process dies, however it dies.
- Prefect's own starter (`SubprocessASGIServer`) imports the whole server package into the
  command's process, only to start a child that imports it again, and then waits for that
  child. Here the child is started first, with the command line Prefect's starter uses
  (prefect is pinned), and PREFECT_API_URL names it before the command imports Prefect, so
  Prefect uses it as it would any server; the command loads its flow while the server
  starts, and waits for it just before the flow runs (bench/cli_ingest_bench.py: a one-clip
  ingest 24.2 -> 18.3 s).
This module imports nothing of Prefect's until `wait_until_up`, when the flow is loaded.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from shortlist.errors import ShortlistError
from shortlist.processes import tied_to_parent

FIRST_START_TIMEOUT_S = 180
WAY_OUT = ("or run one (`prefect server start`) and set PREFECT_API_URL to its API "
           "(http://127.0.0.1:4200/api), which this command then uses")


class EphemeralServer:
    """Prefect's API server as this command's child; `wait_until_up` before a flow runs."""

    def __init__(self, process: subprocess.Popen | None, api_url: str) -> None:
        self.process = process  # None: a server configured by PREFECT_API_URL, not ours
        self.api_url = api_url

    def wait_until_up(self) -> None:
        if self.process is None:
            return
        # The first start on a new machine migrates Prefect's database, which took longer than
        # Prefect's 20 s default on two cores; a raised PREFECT_ setting still wins.
        from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

        timeout = max(FIRST_START_TIMEOUT_S,
                      PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ShortlistError(f"Prefect's server stopped as it started (exit code "
                                     f"{self.process.returncode}, its messages above); "
                                     f"try again, {WAY_OUT}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise ShortlistError(f"Prefect's server did not answer within {timeout:.0f} s "
                             f"(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS raises "
                             f"that), {WAY_OUT}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_tied_server() -> EphemeralServer:
    """Start the server now, from the main thread (the kernel signals the child when the
    thread that forked it ends), and point PREFECT_API_URL at it. Call before Prefect is
    imported. A server configured by PREFECT_API_URL is left as it is."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        return EphemeralServer(None, configured)
    if "prefect" in sys.modules:
        raise RuntimeError("start the ephemeral Prefect server before importing Prefect")
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the ephemeral Prefect server must be started from the main thread")
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise RuntimeError("package 'prefect' is not installed")
    port = _free_port()
    process = subprocess.Popen(tied_to_parent([
        sys.executable, "-m", "uvicorn", "--app-dir", str(Path(spec.origin).parents[1]),
        "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "error", "--lifespan", "on"]),
        env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
             "PREFECT__SERVER_FINAL": "1"})
    server = EphemeralServer(process, f"http://127.0.0.1:{port}/api")
    os.environ["PREFECT_API_URL"] = server.api_url
    atexit.register(server.stop)
    return server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
