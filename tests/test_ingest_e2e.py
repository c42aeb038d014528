"""The CLI contract end to end: a mixed folder in, a searchable catalogue out, reruns cheap."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.conftest import cli_json, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.long]

GOOD = ("speech", "silent", "vertical", "short", "unicode", "caption")
BAD = ("empty", "text", "corrupt")


@pytest.fixture(scope="module")
def ingested(media, tmp_path_factory):
    folder = tmp_path_factory.mktemp("inbox")
    for name in GOOD + BAD:
        sub = folder / ("broken" if name in BAD else "good")
        sub.mkdir(exist_ok=True)
        shutil.copy(media[name], sub / media[name].name)
    data = tmp_path_factory.mktemp("data")
    started = time.perf_counter()
    first = run_cli("ingest", str(folder), data_dir=data)
    first_s = time.perf_counter() - started
    return folder, data, first, first_s


def test_mixed_folder_ingests_good_files_and_reports_bad_ones(ingested):
    folder, data, first, _ = ingested
    assert first.returncode == 1, first.stdout + first.stderr  # some failed
    assert "ingested 6, unchanged 0, failed 3" in first.stdout
    assert "empty file (0 bytes)" in first.stdout
    assert "notes.mp4" in first.stdout and "corrupt.mp4" in first.stdout
    listed = cli_json("list", data_dir=data)
    assert len(listed) == 6
    assert {r["source"].split("/")[-1] for r in listed} == {
        "speech clip.mp4", "silent.mp4", "vertical.mp4", "half-second.mp4",
        "café vidéo ñ.mp4", "caption.mp4"}
    for row in listed:
        assert set(row) >= {"video_id", "source", "title", "duration_s", "tags"}
    failed = cli_json("list", "--failed", data_dir=data)
    assert {f["source"].split("/")[-1] for f in failed} == {"empty.mp4", "notes.mp4",
                                                             "corrupt.mp4"}
    assert all(f["error"] for f in failed)


def test_search_contract_and_relevance(ingested):
    _, data, _, _ = ingested
    hits = cli_json("search", "telescopes and galaxies", "--limit", "3", data_dir=data)
    assert 1 <= len(hits) <= 3
    assert hits[0]["source"].endswith("speech clip.mp4")
    for h in hits:
        assert set(h) >= {"video_id", "score", "source", "url", "title", "tags", "genres",
                          "duration_s"}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    on_screen = cli_json("search", "penguin", "--limit", "1", data_dir=data)
    assert on_screen[0]["source"].endswith("caption.mp4")  # found through OCR text


def test_show_gives_the_full_record(ingested):
    _, data, _, _ = ingested
    speech = next(r for r in cli_json("list", data_dir=data) if "speech" in r["source"])
    record = cli_json("show", speech["video_id"], data_dir=data)
    assert "telescope" in record["transcript"].lower()
    assert record["language"] == "en" and record["has_speech"] is True
    assert record["url"].startswith("file://") and record["url"].endswith("rendition.mp4")
    assert {"asr", "visual", "transcode"} <= set(record["models"])
    assert record["title"] and record["description"]


def test_rerun_adds_nothing_and_is_cheap(ingested):
    folder, data, _, first_s = ingested
    before = cli_json("list", data_dir=data)
    started = time.perf_counter()
    again = run_cli("ingest", str(folder), data_dir=data)
    rerun_s = time.perf_counter() - started
    assert again.returncode == 1  # the bad files are still bad
    assert "unchanged 6" in again.stdout
    assert cli_json("list", data_dir=data) == before
    assert rerun_s < first_s  # the ratio itself is measured in bench/, not asserted here


def test_same_bytes_from_another_path_is_one_point(ingested, media, tmp_path):
    _, data, _, _ = ingested
    copy = tmp_path / "copy of silent.mp4"
    shutil.copy(media["silent"], copy)
    proc = run_cli("ingest", str(copy), data_dir=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = cli_json("list", data_dir=data)
    assert len(listed) == 6
    assert any(r["source"] == str(copy.resolve()) for r in listed)


def test_user_errors_have_clear_messages_and_exit_codes(ingested, tmp_path):
    _, data, _, _ = ingested
    missing = run_cli("ingest", str(tmp_path / "nowhere"), data_dir=data)
    assert missing.returncode == 1 and "no such file or folder" in missing.stdout
    assert run_cli("ingest", data_dir=data).returncode == 2  # no source: usage error
    assert run_cli("search", "x", "--limit", "0", data_dir=data).returncode == 2
    empty = run_cli("search", "   ", data_dir=data)
    assert empty.returncode == 2 and "empty query" in empty.stderr
    unknown = run_cli("show", "0000000000000000", data_dir=data)
    assert unknown.returncode == 1 and "no video with id" in unknown.stderr


def test_reindex_from_the_cli_keeps_every_video(ingested):
    """`shortlist reindex` starts Prefect's server itself (flows/ephemeral.py) and rebuilds
    beside the live catalogue: nothing changed, so every video is kept and still listed."""
    _, data, _, _ = ingested
    before = cli_json("list", data_dir=data)
    report = cli_json("reindex", data_dir=data)
    assert len(report["kept"]) == len(before) == 6 and not report["failed"]
    assert report["new_collection"] != report["old_collection"]
    assert cli_json("list", data_dir=data) == before


def test_unreachable_url_is_reported_and_the_batch_goes_on(media, tmp_path):
    proc = run_cli("ingest", "http://127.0.0.1:9/missing.mp4", str(media["silent"]),
                   data_dir=tmp_path)
    assert proc.returncode == 1
    assert "ingested 1" in proc.stdout and "cannot fetch http://127.0.0.1:9/missing.mp4" \
        in proc.stdout


def test_ten_minute_clip_is_ingested_with_bounded_work(tmp_path):
    from tests.conftest import ffmpeg

    long_clip = tmp_path / "ten minutes.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=160x120:r=5:d=600", "-f", "lavfi", "-i",
           "sine=f=300:d=600", "-shortest", "-c:v", "libx264", "-preset", "ultrafast",
           "-c:a", "aac", "-b:a", "32k", str(long_clip))
    data = tmp_path / "data"
    proc = run_cli("ingest", str(long_clip), data_dir=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [row] = cli_json("list", data_dir=data)
    assert 599 <= row["duration_s"] <= 601
    record = cli_json("show", row["video_id"], data_dir=data)
    assert record["has_speech"] is False and record["transcript"] == ""  # a tone, no speech
    frames = list((data / "media" / row["video_id"] / "frames").glob("*.jpg"))
    assert 595 <= len(frames) <= 601  # one per second, decoded once
