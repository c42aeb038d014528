"""Writes from another process while `shortlist serve` owns the store: the endpoint's rules."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from shortlist.api import app as api
from shortlist.api.schemas import PointIn
from shortlist.settings import Settings
from tests.points import make_point


def test_a_point_survives_the_trip_as_json(tmp_path):
    point = make_point(1, "Penguin parade", tmp_path)
    assert PointIn(**PointIn.of(point)).to_point() == point


@pytest.fixture()
def served(tmp_path, monkeypatch):
    monkeypatch.setattr(api, "WRITE_WAIT_S", 0.3)
    release = threading.Event()

    def slow_reindex(tracked):
        release.wait(30)
        return {"done": True}

    settings = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path),
                                  "SHORTLIST_API_KEY": "k"})
    app = api.create_app(settings, reindexer=slow_reindex)
    yield app, release, settings
    release.set()


def test_points_need_the_key_and_are_served_at_once(served):
    app, _, settings = served
    client = TestClient(app, base_url="http://127.0.0.1")
    point = make_point(1, "Penguin parade", settings.media_dir)
    body = {"points": [PointIn.of(point)]}
    assert client.post("/admin/points", json=body).status_code == 401
    written = client.post("/admin/points", json=body, headers={"X-API-Key": "k"})
    assert written.status_code == 200 and written.json() == {"upserted": 1}
    assert client.get(f"/videos/{point.video_id}").json()["title"] == "Penguin parade"
    assert client.post("/admin/points", json={"points": []},
                       headers={"X-API-Key": "k"}).status_code == 422


def test_points_wait_for_a_running_reindex_then_are_refused(served):
    app, release, settings = served
    reindex = threading.Thread(target=lambda: TestClient(app, base_url="http://127.0.0.1").post(
        "/admin/reindex", json={}, headers={"X-API-Key": "k"}))
    reindex.start()
    client = TestClient(app, base_url="http://127.0.0.1")
    body = {"points": [PointIn.of(make_point(2, "Late arrival", settings.media_dir))]}
    refused, seen = None, []
    for _ in range(50):  # until the reindex holds the store
        answer = client.post("/admin/points", json=body, headers={"X-API-Key": "k"})
        seen.append((answer.status_code, answer.text[:120]))
        if answer.status_code == 409:
            refused = answer
            break
        time.sleep(0.1)
    assert refused is not None, seen[-3:]
    assert "reindex is running" in refused.json()["detail"]
    release.set()
    reindex.join(10)
    after = client.post("/admin/points", json=body, headers={"X-API-Key": "k"})
    assert after.status_code == 200
