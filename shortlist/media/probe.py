"""Probe a file with ffprobe, and recognise video files by their first bytes."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shortlist.errors import MediaError

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .mpg .mpeg .ts .mts .m2ts .flv .ogv .3gp .wmv .y4m".split()
)
# Containers that ffprobe reports for still images: a photo is not a video.
IMAGE_FORMATS = frozenset(
    "image2 png_pipe jpeg_pipe webp_pipe bmp_pipe gif tiff_pipe svg_pipe".split()
)


@dataclass(frozen=True)
class MediaInfo:
    duration_s: float
    width: int
    height: int
    has_audio: bool
    video_codec: str
    format_name: str
    audio_codec: str | None = None


def probe(path: Path) -> MediaInfo:
    """Describe a video file, or raise MediaError saying why it is not one."""
    if not path.exists():
        raise MediaError(f"file not found: {path}")
    if path.stat().st_size == 0:
        raise MediaError("empty file (0 bytes)")
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(path)],
        capture_output=True, text=True, timeout=60,
    )
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["ffprobe failed"])[-1]
        raise MediaError(f"not a readable media file ({_short(reason, path)})")
    data = json.loads(proc.stdout or "{}")
    streams = data.get("streams", [])
    fmt = data.get("format", {})
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    if video is None:
        raise MediaError("no video stream (audio-only or not a video)")
    format_name = fmt.get("format_name", "")
    if format_name in IMAGE_FORMATS:
        raise MediaError(f"a still image ({format_name}), not a video")
    duration = _duration(fmt, video)
    if duration <= 0:
        raise MediaError("video has no measurable duration (truncated or corrupt)")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    rotation = _rotation(video)
    if rotation in (90, 270):
        width, height = height, width
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    return MediaInfo(
        audio_codec=audio.get("codec_name") if audio else None,
        duration_s=duration,
        width=width,
        height=height,
        has_audio=audio is not None,
        video_codec=video.get("codec_name", "unknown"),
        format_name=format_name,
    )


def looks_like_video(path: Path) -> bool:
    """Cheap first look used when scanning folders: a video extension or a container signature.

    Files that pass are probed for real later, so a text file named .mp4 is
    reported as broken rather than silently skipped.
    """
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return _has_container_signature(head)


def _has_container_signature(head: bytes) -> bool:
    if len(head) < 12:
        return False
    if head[4:8] == b"ftyp" and head[8:12] not in (b"avif", b"heic", b"heix", b"mif1"):
        return True  # ISO BMFF: mp4, mov, 3gp
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return True  # Matroska / WebM
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return True
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return True  # MPEG program stream / elementary video
    if head[:3] == b"FLV":
        return True
    if head[:4] == b"OggS" and b"theora" in head[:128]:
        return True
    if head[:16] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c":
        return True  # ASF / WMV
    if head[:9] == b"YUV4MPEG2":
        return True
    return head[0] == 0x47 and len(head) > 376 and head[188] == 0x47 and head[376] == 0x47


def _duration(fmt: dict, video: dict) -> float:
    for value in (fmt.get("duration"), video.get("duration")):
        try:
            if value is not None and float(value) > 0:
                return float(value)
        except ValueError:
            continue
    return 0.0


def _rotation(video: dict) -> int:
    rotate = video.get("tags", {}).get("rotate")
    for side in video.get("side_data_list", []) or []:
        if "rotation" in side:
            rotate = side["rotation"]
    try:
        return abs(int(float(rotate or 0))) % 360
    except ValueError:
        return 0


def _short(reason: str, path: Path) -> str:
    reason = reason.replace(str(path), "").strip(" :")
    return reason[:200] or "unknown format"
