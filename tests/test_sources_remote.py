"""Remote sources without the internet: yt-dlp against a loopback HTTP server, S3 through moto."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from shortlist.errors import SourceError
from shortlist.media.fetch import fetch_url
from shortlist.media.s3 import fetch_s3


@pytest.fixture()
def http_root(tmp_path, media):
    root = tmp_path / "www"
    root.mkdir()
    (root / "clip.mp4").write_bytes(media["silent"].read_bytes())
    (root / "page.html").write_text('<html><body><video src="clip.mp4"></video></body></html>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_direct_file_url_downloads_once(http_root, tmp_path, media):
    dest = tmp_path / "dl"
    first = fetch_url(f"{http_root}/clip.mp4", dest)
    assert len(first) == 1 and first[0].read_bytes() == media["silent"].read_bytes()
    mtime = first[0].stat().st_mtime_ns
    second = fetch_url(f"{http_root}/clip.mp4", dest)  # the archive says: already fetched
    assert second == first and second[0].stat().st_mtime_ns == mtime


def test_page_with_video_tag(http_root, tmp_path, media):
    found = fetch_url(f"{http_root}/page.html", tmp_path / "dl")
    assert [p.read_bytes() for p in found] == [media["silent"].read_bytes()]


def test_missing_url_is_a_source_error(http_root, tmp_path):
    with pytest.raises(SourceError, match="cannot fetch"):
        fetch_url(f"{http_root}/nothing-here.mp4", tmp_path / "dl")


def test_s3_object_and_prefix(tmp_path, media, mock_s3):
    s3 = mock_s3
    s3.create_bucket(Bucket="videos")
    s3.put_object(Bucket="videos", Key="in/a clip.mp4", Body=media["silent"].read_bytes())
    s3.put_object(Bucket="videos", Key="in/b.mp4", Body=media["short"].read_bytes())
    one = fetch_s3("s3://videos/in/a+clip.mp4", tmp_path, client=s3)
    assert one[0][1] == "s3://videos/in/a clip.mp4"
    assert one[0][0].read_bytes() == media["silent"].read_bytes()
    both = fetch_s3("s3://videos/in/", tmp_path, client=s3)
    assert sorted(url for _, url in both) == ["s3://videos/in/a clip.mp4",
                                              "s3://videos/in/b.mp4"]
    with pytest.raises(SourceError, match="cannot read"):
        fetch_s3("s3://videos/in/missing.mp4", tmp_path, client=s3)


def test_published_renditions_get_a_fresh_presigned_url(tmp_path, media, mock_s3):
    from shortlist.media.s3 import publish_file
    from shortlist.recommend.search import PlayableUrls

    s3 = mock_s3
    s3.create_bucket(Bucket="public")
    url = publish_file(media["silent"], "public", "renditions/abc.mp4", client=s3)
    assert url == "s3://public/renditions/abc.mp4"
    body = s3.get_object(Bucket="public", Key="renditions/abc.mp4")["Body"].read()
    assert body == media["silent"].read_bytes()
    payload = {"url": "file:///local.mp4", "rendition_s3": url}
    signed = PlayableUrls(ttl_s=600, bucket="public").for_payload(payload)
    assert signed.startswith("https://") and "renditions/abc.mp4" in signed
    assert "Signature=" in signed and "Expires=" in signed  # SigV2 or SigV4 query auth
    public = PlayableUrls("https://cdn.example.org/v", bucket="public").for_payload(payload)
    assert public == "https://cdn.example.org/v/renditions/abc.mp4"
    assert PlayableUrls().for_payload({"url": "file:///x.mp4"}) == "file:///x.mp4"
    # Only the configured bucket is trusted: another bucket, or a URL in the payload, is
    # never handed out as a link.
    assert PlayableUrls(ttl_s=600, bucket="other").for_payload(payload) == "file:///local.mp4"
    assert PlayableUrls(bucket="public").for_payload(
        {"url": "https://evil.example/x.mp4"}) is None
