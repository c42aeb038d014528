"""Turn what the user typed (paths, folders, URLs, s3:// keys) into local video files."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from shortlist.errors import SourceError
from shortlist.media.probe import looks_like_video
from shortlist.settings import expand_user


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


def expand_source(source: str, downloads_dir: Path,
                  skipped: list[str] | None = None) -> list[LocalVideo]:
    """One source to its videos. Raises SourceError with a message for the user; what a
    folder held but could not be read (a subfolder without permission, a symlink loop)
    is added to `skipped`, one message each."""
    kind = classify(source)
    if kind == "url":
        from shortlist.media.fetch import fetch_url

        return [LocalVideo(str(p), source) for p in fetch_url(source, downloads_dir / "web")]
    if kind == "s3":
        from shortlist.media.s3 import fetch_s3

        return [LocalVideo(str(p), url) for p, url in fetch_s3(source, downloads_dir / "s3")]
    try:
        path = expand_user(source)
    except ValueError as exc:
        raise SourceError(f"{exc}: {source}") from exc
    try:
        path.stat()
    except OSError as exc:
        raise SourceError(f"{_why(exc)}: {source}") from exc
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise SourceError(f"permission denied: cannot read the folder {source}")
        problems: list[str] = []
        found = [LocalVideo(str(p), str(p.resolve())) for p in walk_videos(path, problems)]
        if skipped is not None:
            skipped += problems
        if not found:
            raise SourceError(f"no video files in folder {source}"
                              + (f" ({'; '.join(problems)})" if problems else ""))
        return found
    if path.is_file():
        return [LocalVideo(str(path), str(path.resolve()))]
    raise SourceError(f"not a regular file: {source}")


def _why(exc: OSError) -> str:
    """The user's words for why a path cannot be used."""
    return {errno.ENOENT: "no such file or folder", errno.EACCES: "permission denied",
            errno.ELOOP: "symbolic link loop", errno.ENOTDIR: "no such file or folder",
            errno.ENAMETOOLONG: "file name too long"}.get(exc.errno, exc.strerror or str(exc))


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


def walk_videos(folder: Path, problems: list[str] | None = None) -> list[Path]:
    """Every file under `folder` that looks like a video, by extension or by its first bytes.
    Subfolders that cannot be read, and links that loop, are named in `problems`."""
    out = []

    def unreadable(exc: OSError) -> None:
        if problems is not None:
            problems.append(f"{_why(exc)}: {exc.filename} (skipped)")

    for root, dirs, files in os.walk(folder, onerror=unreadable, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            p = Path(root) / name
            try:
                p.stat()
            except OSError as exc:  # a dangling link, a loop
                unreadable(exc)
                continue
            if p.is_file() and looks_like_video(p):
                out.append(p)
    return out
