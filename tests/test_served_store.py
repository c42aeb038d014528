"""Writes from another process while `shortlist serve` owns the store: the endpoint's rules."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from shortlist.api import app as api
from shortlist.api.schemas import PointIn
from shortlist.settings import Settings
from shortlist.store.records import DIMENSIONS, TEXT, VideoPoint


def _point(video_id: str, title: str) -> VideoPoint:
    vector = np.random.default_rng(int(video_id, 16)).normal(size=DIMENSIONS[TEXT])
    payload = {"video_id": video_id, "source": f"/videos/{title}.mp4", "title": title,
               "tags": ["penguin"], "genres": [], "duration_s": 3.0}
    return VideoPoint(video_id, payload, {TEXT: (vector / np.linalg.norm(vector)).tolist()},
                      {12345: 1.5}, {"title": title, "tags": "penguin"})


def test_a_point_survives_the_trip_as_json():
    point = _point("00000000000000ab", "Penguin parade")
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
    yield app, release
    release.set()


def test_points_need_the_key_and_are_served_at_once(served):
    app, _ = served
    client = TestClient(app)
    body = {"points": [PointIn.of(_point("00000000000000ab", "Penguin parade"))]}
    assert client.post("/admin/points", json=body).status_code == 401
    written = client.post("/admin/points", json=body, headers={"X-API-Key": "k"})
    assert written.status_code == 200 and written.json() == {"upserted": 1}
    assert client.get("/videos/00000000000000ab").json()["title"] == "Penguin parade"
    assert client.post("/admin/points", json={"points": []},
                       headers={"X-API-Key": "k"}).status_code == 422


def test_points_wait_for_a_running_reindex_then_are_refused(served):
    app, release = served
    reindex = threading.Thread(target=lambda: TestClient(app).post(
        "/admin/reindex", json={}, headers={"X-API-Key": "k"}))
    reindex.start()
    client = TestClient(app)
    body = {"points": [PointIn.of(_point("00000000000000cd", "Late arrival"))]}
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
