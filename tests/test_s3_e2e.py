"""Upload -> S3 -> SQS -> bridge -> Prefect event -> deployment -> worker -> searchable.

Every part is real and on loopback: moto's S3/SQS server, a Prefect server, a process
worker, `prefect deploy --all` from prefect.yaml, and `shortlist s3-bridge`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import boto3
import httpx
import pytest

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(url)


@pytest.fixture()
def stack(tmp_path, monkeypatch):
    moto_port, prefect_port = _port(), _port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
           "PREFECT_HOME": str(tmp_path / "prefect"),
           "PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "SHORTLIST_DATA_DIR": str(tmp_path / "data"), "PWD": str(ROOT),
           "SHORTLIST_PUBLISH_BUCKET": "renditions"}
    procs = []

    def start(*cmd: str) -> None:
        log = open(tmp_path / f"{Path(cmd[0]).name}-{len(procs)}.log", "w")
        procs.append(subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log,
                                      stderr=subprocess.STDOUT))

    try:
        start(str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port))
        start(str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
              str(prefect_port))
        _wait(f"http://127.0.0.1:{moto_port}/")
        _wait(f"http://127.0.0.1:{prefect_port}/api/health")
        subprocess.run([str(BIN / "prefect"), "work-pool", "create", "shortlist-process",
                        "--type", "process", "--overwrite"], env=env, check=True,
                       capture_output=True)
        deploy = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
                                env={**env, "PATH": f"{BIN}:{env['PATH']}"}, cwd=ROOT,
                                capture_output=True, text=True)
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        start(str(BIN / "prefect"), "worker", "start", "--pool", "shortlist-process")
        for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                    "AWS_ENDPOINT_URL"):
            monkeypatch.setenv(var, env[var])
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        s3.create_bucket(Bucket="uploads")
        s3.create_bucket(Bucket="renditions")
        queue = sqs.create_queue(QueueName="uploads-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        start(str(BIN / "shortlist"), "s3-bridge", "--queue", queue)
        yield SimpleNamespace(s3=s3, data=tmp_path / "data", logs=tmp_path, env=env,
                              start=start)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_an_upload_becomes_searchable_then_a_reindex_runs_while_search_answers(stack, media):
    s3, data, logs = stack.s3, stack.data, stack.logs
    s3.upload_file(str(media["speech"]), "uploads", "inbox/talk about galaxies.mp4")
    deadline = time.time() + 240
    found = []
    while time.time() < deadline and not found:
        time.sleep(3)
        proc = run_cli("search", "galaxies", "--json", data_dir=data, timeout=60)
        if proc.returncode == 0:  # the store is busy while the flow run holds it
            found = [r for r in json.loads(proc.stdout)
                     if r["source"] == "s3://uploads/inbox/talk about galaxies.mp4"]
    if not found:
        dump = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs.glob("*.log"))
        pytest.fail(f"the upload never became searchable\n{dump}")
    # The rendition was published: the result carries a presigned URL that plays.
    url = found[0]["url"]
    assert url.startswith(os.environ["AWS_ENDPOINT_URL"] + "/renditions/renditions/")
    video = httpx.get(url, timeout=30)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"

    # The nightly reindex, run from its deployment while `shortlist serve` owns the store:
    # the worker's run asks the server to reindex, and search answers all the while.
    # Search reads the index beside the store, so it may find the video before the flow
    # run has let go of the store: wait for that before `serve` takes it.
    deadline = time.time() + 120
    while run_cli("list", data_dir=data, timeout=60).returncode != 0:
        assert time.time() < deadline, "the ingest run never released the store"
        time.sleep(2)
    port = _port()
    stack.start(str(BIN / "shortlist"), "serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    _wait(f"{base}/healthz")
    aliases_before = json.loads((data / "qdrant" / "meta.json").read_text())["aliases"]
    answers: list[tuple[int, str]] = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            r = httpx.post(f"{base}/search", json={"query": "galaxies"}, timeout=30)
            answers.append((r.status_code,
                            r.json()["results"][0]["source"] if r.status_code == 200 else r.text))
            time.sleep(0.1)

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        run = subprocess.run(
            [str(BIN / "prefect"), "deployment", "run", "reindex/reindex",
             "--param", 'tracked=["s3://uploads/inbox/"]', "--watch", "--watch-timeout", "300"],
            env=stack.env, cwd=ROOT, capture_output=True, text=True, timeout=360)
    finally:
        stop.set()
        thread.join()
    if run.returncode != 0:
        dump = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs.glob("*.log"))
        pytest.fail(f"the reindex run failed\n{run.stdout}\n{run.stderr}\n{dump}")
    assert len(answers) > 3
    assert set(answers) == {(200, "s3://uploads/inbox/talk about galaxies.mp4")}, answers
    aliases_after = json.loads((data / "qdrant" / "meta.json").read_text())["aliases"]
    assert aliases_after["videos"] != aliases_before["videos"]  # switched to the new index
    artifacts = subprocess.run([str(BIN / "prefect"), "artifact", "ls"],
                               env={**stack.env, "COLUMNS": "250"}, capture_output=True,
                               text=True)
    assert "reindex-summary" in artifacts.stdout
