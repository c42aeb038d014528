"""Catalogue points as `build_point` makes them, without running the models: for store and API
tests that need a few real-shaped videos in seconds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from shortlist.models.text_embedding import MiniLMEmbedder
from shortlist.store.records import AUDIO, DIMENSIONS, TEXT, VISUAL, VideoPoint
from shortlist.text import sparse_weights


def make_point(seed: int, title: str, media_dir: Path, tags: tuple[str, ...] = ("penguin",),
               with_file: bool = True) -> VideoPoint:
    """A point whose id comes from a made-up content hash and whose rendition, when
    `with_file`, is a real (tiny) file in the renditions folder."""
    sha = hashlib.sha256(f"video {seed}".encode()).hexdigest()
    video_id = sha[:16]
    rendition = media_dir / video_id / "rendition.mp4"
    if with_file:
        rendition.parent.mkdir(parents=True, exist_ok=True)
        rendition.write_bytes(bytes(range(256)) * 8)
    rng = np.random.default_rng(seed)

    def unit(n: int) -> list[float]:
        v = rng.normal(size=n)
        return (v / np.linalg.norm(v)).tolist()

    payload = {
        "video_id": video_id, "sha256": sha, "source": f"/srv/videos/{title}.mp4",
        "url": rendition.as_uri(), "rendition_s3": None, "rendition_path": str(rendition),
        "duration_s": 3.0, "size_bytes": 2048, "width": 64, "height": 64, "language": None,
        "has_speech": False, "title": title, "description": f"A video of {title}.",
        "tags": list(tags), "genres": ["animals"], "moods": [], "transcript": "",
        "segments": [], "ocr_text": "", "visual_labels": [{"name": tags[0], "score": 0.9}],
        "visual_words": [], "audio_labels": [], "nsfw_score": 0.01,
        "models": {"embed": f"{MiniLMEmbedder.name}:{MiniLMEmbedder.version}:test"},
        "pipeline_fingerprint": "0" * 16, "describer": "local",
        "ingested_at": "2026-12-01T00:00:00Z", "status": "ok",
    }
    dense = {TEXT: unit(DIMENSIONS[TEXT]), VISUAL: unit(DIMENSIONS[VISUAL]),
             AUDIO: unit(DIMENSIONS[AUDIO])}
    words = sparse_weights([(title, 2.0), (" ".join(tags), 2.0)])
    return VideoPoint(video_id, payload, dense, words)
