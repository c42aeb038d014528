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


@pytest.fixture()
def through_the_server(tmp_path):
    """A real server on loopback (uvicorn in a thread) that owns an embedded store, and a
    `ServedStore` talking to it as another process of the same user would."""
    import uvicorn

    from shortlist.api.client import ServeClient
    from shortlist.api.served_store import ServedStore
    from shortlist.runtime import close_all, components_for
    from tests.loopback import free_port, wait_for

    settings = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path),
                                  "SHORTLIST_API_KEY": "k"})
    app = api.create_app(settings, admin_token="reader-token")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/instance")
    owned = components_for(settings).store()
    yield owned, ServedStore(ServeClient(base, "k")), ServedStore(ServeClient(base,
                                                                               "reader-token"))
    server.should_exit = True
    thread.join(10)
    close_all()


def test_every_store_call_answers_through_the_server_as_the_store_itself(through_the_server,
                                                                         tmp_path):
    """ServedStore is the store interface over HTTP: the same answers, types included."""
    from shortlist.store.records import TEXT, SearchFilters
    from shortlist.text import query_sparse

    owned, served, _ = through_the_server
    media = tmp_path / "media"
    points = [make_point(i, f"Clip {i}", media, tags=(("penguin",) if i % 2 else ("lake",)))
              for i in range(12)]
    served.upsert(points)
    assert served.count() == owned.count() == 12
    ids = [p.video_id for p in points]
    assert served.get(ids[0]) == owned.get(ids[0]) and served.get("0" * 16) is None
    assert served.get(ids[0], with_vectors=True) == owned.get(ids[0], with_vectors=True)
    assert served.get_many(ids[:3]) == owned.get_many(ids[:3])
    assert served.durations(ids[:3]) == owned.durations(ids[:3]) and len(owned.durations(ids)) == 12
    assert sorted(p["video_id"] for p in served.scroll(batch=5)) == sorted(ids)
    assert served.vectors(ids[:2]) == owned.vectors(ids[:2])
    assert served.newest(4) == owned.newest(4)
    query = points[3].dense[TEXT]
    for filters in (None, SearchFilters(tags=("penguin",))):
        mine = owned.hybrid_search([query], query_sparse("penguin"), "penguin", limit=5,
                                   filters=filters)
        theirs = served.hybrid_search([query], query_sparse("penguin"), "penguin", limit=5,
                                      filters=filters)
        assert theirs == mine and ids[3] in {h.video_id for h in theirs}
    assert (served.fused_neighbours(points[1].dense, 4, exclude=[ids[1]])
            == owned.fused_neighbours(points[1].dense, 4, exclude=[ids[1]]))
    liked = dict(positives=[points[1].dense], negatives=[points[2].dense],
                 weights={TEXT: 1.0}, limit=4, exclude=[ids[1]])
    assert served.liked_neighbours(**liked) == owned.liked_neighbours(**liked)
    assert served.nearest(query, TEXT, 3) == owned.nearest(query, TEXT, 3)
    assert served.keyword_ranking("lake", 6) == owned.keyword_ranking("lake", 6)
    assert served.physical_collection() == owned.physical_collection()
    served.delete(ids[:1])
    assert owned.get(ids[0]) is None and served.count() == 11


def test_served_store_reads_with_the_token_writes_only_with_the_key(through_the_server,
                                                                   tmp_path):
    from shortlist.errors import NotFound, StoreUnavailable

    owned, _, reader = through_the_server
    point = make_point(1, "Penguin parade", tmp_path / "media")
    owned.upsert([point])
    assert reader.get(point.video_id)["title"] == "Penguin parade"
    with pytest.raises(StoreUnavailable, match="X-API-Key"):
        reader.upsert([make_point(2, "Not mine to add", tmp_path / "media")])
    with pytest.raises(ValueError, match="X-API-Key"):
        reader.delete([point.video_id])
    with pytest.raises(StoreUnavailable, match="reindex"):
        reader.begin_rebuild()
    with pytest.raises(NotFound, match="no store operation"):
        reader.client.store_call("close", {})
    with pytest.raises(ValueError, match="limit"):
        reader.client.store_call("newest", {"limit": "many"})
    assert owned.count() == 1


def test_a_scroll_cut_short_by_the_server_is_an_error_not_a_smaller_catalogue(
        through_the_server, tmp_path):
    from shortlist.errors import StoreUnavailable

    owned, served, _ = through_the_server
    owned.upsert([make_point(i, f"Clip {i}", tmp_path / "media") for i in range(3)])
    assert len(list(served.scroll())) == 3

    def breaks_after_two(batch: int = 256):
        yield from list(type(owned).scroll(owned, batch))[:2]
        raise StoreUnavailable("the shard went away")

    owned.scroll = breaks_after_two
    with pytest.raises(StoreUnavailable, match="stopped sending the catalogue after 2"):
        list(served.scroll())


def test_a_reindex_told_a_location_it_cannot_read_answers_400_with_the_reason(tmp_path):
    from shortlist.reindex import TrackedSources

    def reindex_with_locations(tracked):  # the reindex's first step with what it was told
        TrackedSources(tracked or [])
        return {"done": True}

    settings = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path),
                                  "SHORTLIST_API_KEY": "k"})
    client = TestClient(api.create_app(settings, reindexer=reindex_with_locations),
                        base_url="http://127.0.0.1")
    answer = client.post("/admin/reindex", json={"tracked": ["~0"]}, headers={"X-API-Key": "k"})
    assert answer.status_code == 400
    assert "'~0' names no home folder" in answer.json()["detail"]
    ok = client.post("/admin/reindex", json={"tracked": [str(tmp_path)]},
                     headers={"X-API-Key": "k"})
    assert ok.status_code == 200 and ok.json() == {"done": True}
