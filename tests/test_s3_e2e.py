"""Upload -> S3 -> SQS -> bridge -> Prefect event -> deployment -> worker -> searchable.

Every part is real and on loopback: moto's S3/SQS server, a Prefect server, a process
worker, `prefect deploy --all` from prefect.yaml, and `shortlist s3-bridge`.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import httpx
import pytest

from tests.conftest import ROOT, run_cli
from tests.loopback import BIN, free_port, loopback_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.long]


@pytest.fixture()
def stack(tmp_path):
    with loopback_stack(tmp_path) as running:
        yield running


def test_an_upload_becomes_searchable_then_a_reindex_runs_while_search_answers(stack, media):
    """Then, with `serve` running, a second upload is written through the server."""
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
    poster = httpx.get(found[0]["poster_url"], timeout=30)  # published beside it, presigned
    assert found[0]["poster_url"].startswith(os.environ["AWS_ENDPOINT_URL"] + "/renditions/")
    assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"

    # The nightly reindex, run from its deployment while `shortlist serve` owns the store:
    # the worker's run asks the server to reindex, and search answers all the while.
    # Search reads the index beside the store, so it may find the video before the flow
    # run has let go of the store: wait for that before `serve` takes it.
    deadline = time.time() + 120
    while run_cli("list", data_dir=data, timeout=60).returncode != 0:
        assert time.time() < deadline, "the ingest run never released the store"
        time.sleep(2)
    port = free_port()
    stack.start(str(BIN / "shortlist"), "serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz")
    live_before = json.loads((data / "qdrant" / "videos.json").read_text())["shard"]
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
    live_after = json.loads((data / "qdrant" / "videos.json").read_text())["shard"]
    assert live_after != live_before  # switched to the new build
    assert [p.name for p in (data / "qdrant" / "shards").iterdir()] == [live_after]
    artifacts = subprocess.run([str(BIN / "prefect"), "artifact", "ls"],
                               env={**stack.env, "COLUMNS": "250"}, capture_output=True,
                               text=True)
    assert "reindex-summary" in artifacts.stdout

    # An upload while `serve` owns the store: the worker's run writes through the server,
    # and the running server answers with the new video, no restart.
    s3.upload_file(str(media["caption"]), "uploads", "inbox/penguins.mp4")
    deadline = time.time() + 240
    while time.time() < deadline:
        hits = httpx.post(f"{base}/search", json={"query": "penguin parade"}, timeout=30)
        if any(r["source"] == "s3://uploads/inbox/penguins.mp4" for r in hits.json()["results"]):
            break
        time.sleep(3)
    else:
        dump = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs.glob("*.log"))
        pytest.fail(f"an upload while serving never became searchable\n{dump}")
