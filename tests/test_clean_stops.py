"""Stopping Shortlist leaves nothing behind: SIGTERM on serve, SIGKILL on ingest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shortlist.processes import descendants
from tests.conftest import ROOT
from tests.loopback import free_port, wait_for


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def wait_until(condition, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_a_killed_run_is_written_as_interrupted_by_the_next(tmp_path):
    from shortlist.runlog import OpenRun, record_interrupted

    script = ("import sys, time; from pathlib import Path; from shortlist.runlog import OpenRun;"
              "r = OpenRun(Path(sys.argv[1]), ['a.mp4', 'b.mp4']);"
              "r.done({'source': 'a.mp4', 'status': 'ok', 'video_id': '0'*16, "
              "'duration_s': 3.0, 'title': 'A', 'error': '', 'stage_seconds': {}, "
              "'warnings': ''}); print('ready', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    log = tmp_path / "runs.csv"
    assert record_interrupted(tmp_path, log) == 0  # alive: not interrupted
    mine = OpenRun(tmp_path, ["c.mp4"])  # a run of this process is not taken for dead
    proc.kill()
    proc.wait()
    assert record_interrupted(tmp_path, log) == 1
    mine.close()
    import pandas as pd

    rows = pd.read_csv(log).set_index("source")
    assert rows.loc["a.mp4", "status"] == "ok"
    assert rows.loc["b.mp4", "status"] == "interrupted"
    assert "c.mp4" not in rows.index
    assert record_interrupted(tmp_path, log) == 0  # written once


@pytest.mark.slow
def test_sigterm_on_serve_removes_its_files_and_stops_what_it_started(tmp_path):
    port = free_port()
    env = {**os.environ, "SHORTLIST_DATA_DIR": str(tmp_path)}
    env.pop("SHORTLIST_API_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "shortlist.cli", "serve", "--port",
                             str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", timeout=60)
    owner = json.loads((tmp_path / "serve.json").read_text())
    token = (tmp_path / "serve.token").read_text()
    assert (tmp_path / "serve.token").stat().st_mode & 0o777 == 0o600
    assert httpx.get(f"{base}/instance").json()["instance"] == owner["instance"]
    # A reindex starts Prefect's server as a child of serve.
    done = httpx.post(f"{base}/admin/reindex", json={}, headers={"X-API-Key": token},
                      timeout=120)
    assert done.status_code == 200, done.text
    started = descendants(proc.pid)
    assert started, "the reindex should have started Prefect's server"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0 or True
    wait_until(lambda: not alive(started), 15, f"serve's children {alive(started)} to end")
    assert not (tmp_path / "serve.json").exists()
    assert not (tmp_path / "serve.token").exists()


def test_a_stale_serve_file_is_not_taken_for_a_server(tmp_path):
    """A serve.json whose pid is alive (this test's) but whose address does not answer as
    the server that wrote it: the CLI uses the store itself instead of failing."""
    from tests.conftest import run_cli

    (tmp_path / "serve.json").write_text(json.dumps(
        {"url": f"http://127.0.0.1:{free_port()}", "pid": os.getpid(), "instance": "gone"}))
    listed = run_cli("list", "--json", data_dir=tmp_path, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


@pytest.mark.slow
def test_a_killed_ingest_leaves_no_process_and_is_logged_as_interrupted(tmp_path, media):
    data = tmp_path / "data"
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("speech", "silent"):
        (folder / f"{name}.mp4").write_bytes(media[name].read_bytes())
    env = {**os.environ, "SHORTLIST_DATA_DIR": str(data)}
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "shortlist.cli", "ingest", str(folder)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # The flow has started (its run is on disk) and Prefect's server runs beside it.
    wait_until(lambda: list((data / "runs-open").glob("*.json")), 120, "the flow to start")
    started = descendants(proc.pid)
    assert started
    proc.kill()
    proc.wait()
    wait_until(lambda: not alive(started), 15, f"ingest's children {alive(started)} to end")
    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    import pandas as pd

    runs = pd.read_csv(data / "runs.csv")
    interrupted = runs[runs["run"] == "ingest (interrupted)"]
    assert len(interrupted) >= 1
    assert set(runs[runs["run"] == "ingest"]["status"]) == {"ok"}


@pytest.mark.slow
def test_a_killed_reindex_leaves_no_prefect_server(tmp_path):
    env = {**os.environ, "SHORTLIST_DATA_DIR": str(tmp_path / "data")}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "shortlist.cli", "reindex"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: descendants(proc.pid), 120, "Prefect's server to start")
    started = descendants(proc.pid)
    proc.kill()
    proc.wait()
    wait_until(lambda: not alive(started), 15, f"reindex's children {alive(started)} to end")
