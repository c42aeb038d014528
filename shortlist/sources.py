"""Turn what the user typed (paths, folders, URLs, s3:// keys) into local video files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shortlist.errors import SourceError
from shortlist.media.probe import looks_like_video


@dataclass(frozen=True)
class LocalVideo:
    path: str  # a local file to decode
    source: str  # what the user named: the original path, URL or s3:// key


@dataclass(frozen=True)
class SourceFailure:
    source: str
    error: str


def classify(source: str) -> str:
    if source.startswith(("http://", "https://")):
        return "url"
    if source.startswith("s3://"):
        return "s3"
    return "path"


def expand_source(source: str, downloads_dir: Path) -> list[LocalVideo]:
    """One source to its videos. Raises SourceError with a message for the user."""
    kind = classify(source)
    if kind == "url":
        from shortlist.media.fetch import fetch_url

        return [LocalVideo(str(p), source) for p in fetch_url(source, downloads_dir / "web")]
    if kind == "s3":
        from shortlist.media.s3 import fetch_s3

        return [LocalVideo(str(p), url) for p, url in fetch_s3(source, downloads_dir / "s3")]
    path = Path(source).expanduser()
    if path.is_dir():
        found = [LocalVideo(str(p), str(p.resolve())) for p in walk_videos(path)]
        if not found:
            raise SourceError(f"no video files in folder {source}")
        return found
    if path.is_file():
        return [LocalVideo(str(path), str(path.resolve()))]
    if not path.exists():
        raise SourceError(f"no such file or folder: {source}")
    raise SourceError(f"not a regular file: {source}")


def local_copy(source: str, downloads_dir: Path) -> LocalVideo:
    """The file a catalogue point was made from, on local disk again (fetched if remote)."""
    if classify(source) == "path":
        if Path(source).is_file():
            return LocalVideo(source, source)
        raise SourceError(f"source file is gone: {source}")
    found = expand_source(source, downloads_dir)
    if not found:
        raise SourceError(f"nothing to fetch at {source}")
    return found[0]


def walk_videos(folder: Path) -> list[Path]:
    """Every file under `folder` that looks like a video, by extension or by its first bytes."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            p = Path(root) / name
            if p.is_file() and looks_like_video(p):
                out.append(p)
    return out
