"""A whole Shortlist deployment on loopback, for the end-to-end tests and the S3 burst bench:
moto's S3/SQS server, a Prefect server and process worker (`prefect deploy --all` from
prefect.yaml), and `shortlist s3-bridge` reading the bucket's notifications."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import boto3
import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(url)


@contextmanager
def loopback_stack(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """moto S3/SQS, a Prefect server and process worker with every deployment, and the
    S3 bridge, all on loopback; AWS_* variables and the publish bucket are set in this
    process while it lasts (the CLI trusts only the bucket it is configured with)."""
    moto_port, prefect_port = free_port(), free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
           "PREFECT_HOME": str(tmp_path / "prefect"),
           "PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "SHORTLIST_DATA_DIR": str(tmp_path / "data"), "PWD": str(ROOT),
           "SHORTLIST_PUBLISH_BUCKET": "renditions"}
    procs = []
    aws_vars = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                "AWS_ENDPOINT_URL", "SHORTLIST_PUBLISH_BUCKET")
    saved = {var: os.environ.get(var) for var in aws_vars}

    def start(*cmd: str) -> None:
        log = open(tmp_path / f"{Path(cmd[0]).name}-{len(procs)}.log", "w")
        procs.append(subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log,
                                      stderr=subprocess.STDOUT))

    try:
        start(str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port))
        start(str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
              str(prefect_port))
        wait_for(f"http://127.0.0.1:{moto_port}/")
        wait_for(f"http://127.0.0.1:{prefect_port}/api/health")
        subprocess.run([str(BIN / "prefect"), "work-pool", "create", "shortlist-process",
                        "--type", "process", "--overwrite"], env=env, check=True,
                       capture_output=True)
        deploy = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
                                env={**env, "PATH": f"{BIN}:{env['PATH']}"}, cwd=ROOT,
                                capture_output=True, text=True)
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        start(str(BIN / "prefect"), "worker", "start", "--pool", "shortlist-process")
        for var in aws_vars:
            os.environ[var] = env[var]
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
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
