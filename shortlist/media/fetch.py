"""Fetch videos from http(s) URLs with yt-dlp: direct files, pages with <video>, HLS, feeds."""

from __future__ import annotations

from pathlib import Path

from shortlist.errors import SourceError


def fetch_url(url: str, dest: Path, retries: int = 2) -> list[Path]:
    """Download every video behind `url` into `dest`; already fetched ones are not fetched again.

    The download archive (dest/archive.txt) remembers what was fetched, so a rerun
    costs one request per URL, not one download per video.
    """
    import yt_dlp

    dest.mkdir(parents=True, exist_ok=True)
    manifest = dest / "manifest.tsv"
    opts = {
        "outtmpl": str(dest / "%(extractor)s-%(id)s.%(ext)s"),
        "download_archive": str(dest / "archive.txt"),
        "quiet": True, "no_warnings": True, "noprogress": True,
        "retries": retries, "fragment_retries": retries, "socket_timeout": 20,
        "format": "bv*+ba/b", "ignoreerrors": False, "noplaylist": False,
        "restrictfilenames": True,
    }
    found: list[Path] = []

    def remember(info: dict) -> None:
        if info.get("status") == "finished" and info.get("filename"):
            found.append(Path(info["filename"]))

    opts["progress_hooks"] = [remember]
    try:
        with yt_dlp.YoutubeDL(opts) as ydl:
            info = ydl.extract_info(url, download=True)
    except Exception as exc:  # yt-dlp raises DownloadError, and more on odd pages
        message = str(exc).replace("ERROR: ", "").strip().splitlines()[0][:300]
        raise SourceError(f"cannot fetch {url}: {message}") from exc
    for entry in _entries(info):
        path = entry.get("requested_downloads", [{}])[0].get("filepath") or entry.get("_filename")
        if path:
            found.append(Path(path))
    # Entries skipped by the archive carry no file name: look them up in our manifest.
    known = _read_manifest(manifest)
    for entry in _entries(info):
        key = f"{entry.get('extractor_key', entry.get('extractor', '')).lower()} {entry.get('id')}"
        if key in known:
            found.append(Path(known[key]))
    files = [p for p in dict.fromkeys(found) if p.exists()]
    with manifest.open("a") as fh:
        for entry in _entries(info):
            path = entry.get("requested_downloads", [{}])[0].get("filepath")
            if path:
                key = f"{entry.get('extractor_key', '').lower()} {entry.get('id')}"
                fh.write(f"{key}\t{path}\n")
    if not files:
        raise SourceError(f"no video found at {url}")
    return files


def _entries(info: dict | None) -> list[dict]:
    if not info:
        return []
    if info.get("_type") == "playlist" or "entries" in info:
        out = []
        for e in info.get("entries") or []:
            out.extend(_entries(e))
        return out
    return [info]


def _read_manifest(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    rows = (line.rstrip("\n").split("\t", 1) for line in path.read_text().splitlines())
    return {r[0]: r[1] for r in rows if len(r) == 2}
