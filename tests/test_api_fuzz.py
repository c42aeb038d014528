"""Schemathesis against a running `shortlist serve` on loopback: every operation of its
OpenAPI schema, with the credential and without, answers below 500 and within its size."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from shortlist.api.schemas import PointIn
from tests.conftest import ROOT
from tests.loopback import free_port, wait_for
from tests.points import make_point

pytestmark = pytest.mark.slow
MAX_ANSWER_BYTES = 1024 * 1024  # the largest JSON answer: 100 results, or 1000 listed videos


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """serve on loopback over a small catalogue (points written through the API)."""
    data = tmp_path_factory.mktemp("fuzz-data")
    port = free_port()
    env = {**os.environ, "SHORTLIST_DATA_DIR": str(data)}
    env.pop("SHORTLIST_API_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "shortlist.cli", "serve", "--port",
                             str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", timeout=60)
    token = (data / "serve.token").read_text()
    points = [make_point(i, title, data / "media", tags=(tag,)) for i, (title, tag) in
              enumerate([("Penguin parade", "penguin"), ("City at night", "city"),
                         ("Cooking pasta", "food")])]
    written = httpx.post(f"{base}/admin/points", headers={"X-API-Key": token},
                         json={"points": [PointIn.of(p) for p in points]}, timeout=30)
    assert written.status_code == 200, written.text
    yield base, token
    proc.terminate()
    proc.wait(timeout=30)


def _openapi() -> dict:
    """The server's OpenAPI document; the same app `serve` runs (checked below), read
    here so that pytest can list an item per operation before any server starts."""
    import tempfile
    from pathlib import Path

    from shortlist.api.app import create_app
    from shortlist.settings import Settings

    with tempfile.TemporaryDirectory() as data:
        return create_app(Settings(data_dir=Path(data))).openapi()


OPENAPI = _openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


def test_the_fuzzed_schema_is_the_served_one(live):
    served = httpx.get(f"{live[0]}/openapi.json").json()
    assert served["paths"].keys() == OPENAPI["paths"].keys()


FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.filter_too_much])


def _check(case, base: str, headers: dict[str, str]) -> None:
    response = case.call(base_url=base, headers=headers, timeout=120)
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    assert len(response.content) <= MAX_ANSWER_BYTES


@schema.parametrize()
@FUZZ
def test_every_operation_without_a_credential(case, live):
    _check(case, live[0], {})


@schema.parametrize()
@FUZZ
def test_every_operation_with_the_credential(case, live):
    _check(case, live[0], {"X-API-Key": live[1]})
