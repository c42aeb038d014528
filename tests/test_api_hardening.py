"""The API as an attacker on the same machine would try it: writes, files, redirects, hosts,
sizes, a store that hangs. Each test fails without the guard it names."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from fastapi.testclient import TestClient

from shortlist.api import app as api
from shortlist.api.schemas import PointIn
from shortlist.settings import Settings
from shortlist.store.records import MOMENTS, TEXT
from tests.points import make_point

TOKEN = "token-of-this-user"


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path)})


@pytest.fixture()
def client(settings):
    app = api.create_app(settings, admin_token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
    from shortlist.runtime import close_all

    close_all()


def _write(client, *points, key: str | bytes | None = TOKEN):
    headers = {"X-API-Key": key} if key is not None else {}
    return client.post("/admin/points", json={"points": [PointIn.of(p) for p in points]},
                       headers=headers)


def test_without_a_key_writes_still_need_the_servers_token(client, settings):
    point = make_point(1, "Penguin parade", settings.media_dir)
    assert _write(client, point, key=None).status_code == 401
    assert _write(client, point, key="guess").status_code == 401
    assert _write(client, point, key="clé".encode()).status_code == 401  # non-ASCII: no 500
    assert client.post("/admin/reindex", json={}).status_code == 401
    assert client.get("/videos").json()["total"] == 0
    assert _write(client, point).status_code == 200
    assert client.get("/videos").json()["total"] == 1


def test_with_a_key_set_only_the_key_writes(tmp_path):
    settings = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path),
                                  "SHORTLIST_API_KEY": "the-key"})
    with TestClient(api.create_app(settings, admin_token=TOKEN),
                    base_url="http://127.0.0.1") as client:
        point = make_point(1, "Penguin parade", settings.media_dir)
        assert _write(client, point).status_code == 401
        assert _write(client, point, key="the-key").status_code == 200
    from shortlist.runtime import close_all

    close_all()


def test_serve_leaves_its_token_for_this_user_only(tmp_path):
    from shortlist.api.auth import credential_for, make_token, remove_token, token_file

    token = make_token(tmp_path)
    assert token_file(tmp_path).stat().st_mode & 0o777 == 0o600
    assert credential_for(tmp_path, None) == token
    assert credential_for(tmp_path, "the-key") == "the-key"
    remove_token(tmp_path, "another-servers-token")
    assert token_file(tmp_path).exists()
    remove_token(tmp_path, token)
    assert not token_file(tmp_path).exists()


def test_a_talking_videos_moments_are_written_through_the_server(client, settings):
    """`shortlist ingest` while `serve` runs sends its points here: a talking video's moments
    are several vectors, each of the space's size, not one vector of that many numbers."""
    talk = make_point(1, "A talk in three parts", settings.media_dir)
    talk.dense[MOMENTS] = [talk.dense[TEXT]] * 3
    assert _write(client, talk).status_code == 200
    assert client.get("/videos").json()["total"] == 1

    odd = make_point(2, "A moment of the wrong size", settings.media_dir)
    odd.dense[MOMENTS] = [talk.dense[TEXT], [0.5, 0.5]]
    refused = _write(client, odd)
    assert refused.status_code == 422 and "dense.moments has 2 dimensions" in refused.text
    assert client.get("/videos").json()["total"] == 1


def test_a_bad_point_is_a_422_naming_the_field_and_harms_nothing(client, settings):
    good = make_point(1, "Penguin parade", settings.media_dir)
    assert _write(client, good).status_code == 200

    short = make_point(2, "Short vector", settings.media_dir)
    short.dense[TEXT] = [0.1, 0.2, 0.3]
    refused = _write(client, short)
    assert refused.status_code == 422 and "dense.text has 3 dimensions" in refused.text

    odd = make_point(3, "Odd payload", settings.media_dir)
    body = {"points": [PointIn.of(odd)]}
    body["points"][0]["payload"].update(title={"x": 1}, tags=[1, None])
    refused = client.post("/admin/points", json=body, headers={"X-API-Key": TOKEN})
    assert refused.status_code == 422
    fields = {tuple(e["loc"][-2:]) for e in refused.json()["detail"]}
    assert ("payload", "title") in fields and ("tags", 0) in fields

    # Nothing reached the catalogue: listing and search still work.
    assert [v["video_id"] for v in client.get("/videos").json()["videos"]] == [good.video_id]
    found = client.post("/search", json={"query": "penguin"})
    assert found.status_code == 200 and found.json()["results"][0]["video_id"] == good.video_id


def test_the_store_refuses_a_bad_vector_and_keeps_answering(tmp_path):
    from shortlist.store.edge_store import EdgeStore

    store = EdgeStore(tmp_path / "q")
    good = make_point(1, "Penguin parade", tmp_path / "media")
    store.upsert([good])
    bad = make_point(2, "Short vector", tmp_path / "media")
    bad.dense[TEXT] = [0.1, 0.2, 0.3]
    with pytest.raises(ValueError, match="3 dimensions"):
        store.upsert([bad])
    assert store.count() == 1
    assert store.nearest(good.dense[TEXT], TEXT, 5) == [good.video_id]
    store.close()


def test_a_point_naming_a_file_outside_the_renditions_is_refused_and_never_served(
        client, settings, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for you")
    point = make_point(1, "Hijack", settings.media_dir)
    point.payload["rendition_path"] = str(secret)
    refused = _write(client, point)
    assert refused.status_code == 422 and "rendition_path" in refused.text

    # Written some other way (an old catalogue, a bug): still never served.
    from shortlist.runtime import components_for

    components_for(settings).store().upsert([point])
    assert client.get(f"/videos/{point.video_id}/stream").status_code == 404
    # Nor through a symlink inside the renditions folder.
    link = settings.media_dir / point.video_id / "rendition.mp4"
    link.unlink()
    link.symlink_to(secret)
    point.payload["rendition_path"] = str(link)
    components_for(settings).store().upsert([point])
    answer = client.get(f"/videos/{point.video_id}/stream", headers={"Range": "bytes=0-3"})
    assert answer.status_code == 404 and "not for you" not in answer.text


def test_redirects_go_only_to_the_configured_bucket(tmp_path):
    settings = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path),
                                  "SHORTLIST_PUBLISH_BUCKET": "pub",
                                  "SHORTLIST_PUBLISH_BASE_URL": "https://cdn.example.org/v"})
    app = api.create_app(settings, admin_token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        evil = make_point(1, "Evil url", settings.media_dir)
        evil.payload["url"] = "https://evil.example/x.mp4"
        other = make_point(2, "Other bucket", settings.media_dir)
        other.payload["rendition_s3"] = "s3://not-ours/renditions/x.mp4"
        ours = make_point(3, "Our bucket", settings.media_dir)
        ours.payload["rendition_s3"] = f"s3://pub/renditions/{ours.video_id}.mp4"
        assert _write(client, evil, other, ours).status_code == 200
        for p in (evil, other):
            answer = client.get(f"/videos/{p.video_id}/stream")
            assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
        answer = client.get(f"/videos/{ours.video_id}/stream")
        assert answer.status_code == 307
        assert answer.headers["location"] == \
            f"https://cdn.example.org/v/renditions/{ours.video_id}.mp4"
        found = client.post("/search", json={"query": "evil url"}).json()["results"]
        assert all("evil.example" not in (r["url"] or "") for r in found)
    from shortlist.runtime import close_all

    close_all()


def test_readers_without_a_credential_see_no_server_paths(client, settings):
    point = make_point(1, "Penguin parade", settings.media_dir)
    assert _write(client, point).status_code == 200
    public = client.get(f"/videos/{point.video_id}").json()
    listed = client.get("/videos").json()["videos"][0]
    hits = client.post("/search", json={"query": "penguin"}).json()["results"]
    for record in (public, listed, hits[0]):
        text = json.dumps(record)
        assert "/srv/videos" not in text and str(settings.data_dir) not in text
        assert record["source"] == "Penguin parade.mp4"
        assert record["url"] == f"/videos/{point.video_id}/stream"
    trusted = client.get(f"/videos/{point.video_id}", headers={"X-API-Key": TOKEN}).json()
    assert trusted["rendition_path"] == point.payload["rendition_path"]


def test_other_host_names_are_refused(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": "localhost:8000"}).status_code == 200


def test_bodies_have_a_limit_and_errors_do_not_echo_them(client):
    big = {"video_id": "0" * 16, "kind": "watched", "pad": "x" * 200_000}
    assert client.post("/users/u/events", json=big).status_code == 413
    chunked = client.post("/search", content=iter([b'{"query": "', b"x" * 100_000, b'"}']),
                          headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413
    long_query = client.post("/search", json={"query": "y" * 60_000})
    assert long_query.status_code == 422 and len(long_query.content) < 2_000


def _hung_server() -> tuple[socket.socket, int]:
    """Accepts connections and never answers: a store that is up but stuck."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(100)
    held: list[socket.socket] = []

    def accept():
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return sock, sock.getsockname()[1]


def test_a_store_that_hangs_is_a_quick_503_and_the_page_still_loads(tmp_path):
    sock, port = _hung_server()
    settings = Settings.load(env={"SHORTLIST_DATA_DIR": str(tmp_path),
                                  "QDRANT_URL": f"http://127.0.0.1:{port}",
                                  "SHORTLIST_STORE_TIMEOUT_S": "1"})
    app = api.create_app(settings, admin_token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        started = time.monotonic()
        health = client.get("/healthz")
        assert health.status_code == 503 and "Qdrant" in health.json()["detail"]
        assert time.monotonic() - started < 5
        started = time.monotonic()
        for path in ("/videos", "/videos/0000000000000000", "/videos/0000000000000000/stream"):
            assert client.get(path).status_code == 503
        assert client.post("/search", json={"query": "cat"}).status_code == 503
        assert time.monotonic() - started < 1  # remembered: no time-out per request
        assert client.get("/").status_code == 200
        assert client.get("/docs").status_code == 200
    sock.close()


def test_store_health_tries_again_after_a_while(monkeypatch):
    from shortlist.errors import StoreUnavailable

    monkeypatch.setattr(api, "STORE_RETRY_S", 0.2)
    health = api.StoreHealth()
    health.check()
    health.failed("down")
    with pytest.raises(StoreUnavailable, match="down"):
        health.check()
    time.sleep(0.25)
    health.check()  # the next request asks the store again
