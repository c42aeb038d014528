"""Cheap looks at the 1 fps frames: tiny grayscale thumbnails, and which frames are distinct.

Thumbnails decode JPEGs at reduced scale (libjpeg's DCT scaling through PIL's draft mode),
about ten times cheaper than a full decode, so a 10-minute video's 600 frames cost well
under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Mean absolute difference (0-255 grey levels, 32×32 thumbnails) below which two frames
# count as the same picture: a static shot re-encoded, not a cut or a pan.
SAME_PICTURE = 4.0


def thumbnail(path: str | Path, size: tuple[int, int] = (32, 32)) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        img.draft("L", (size[0] * 2, size[1] * 2))
        return np.asarray(img.convert("L").resize(size), dtype=np.float32)


def distinct_frames(frame_paths: Sequence[str], limit: int) -> list[str]:
    """Up to `limit` frames spread over the video, leaving out repeats of a picture
    already chosen: a static talking slide is one frame, not eight, for every model."""
    candidates = spread(list(frame_paths), limit * 3)
    kept: list[str] = []
    thumbs: list[np.ndarray] = []
    for path in candidates:
        thumb = thumbnail(path)
        if all(np.abs(thumb - t).mean() >= SAME_PICTURE for t in thumbs):
            kept.append(path)
            thumbs.append(thumb)
    return spread(kept, limit)


def spread(items: Sequence[str], count: int) -> list[str]:
    """At most `count` items evenly spread over the sequence, first and last included."""
    items = list(items)
    if len(items) <= count:
        return items
    idx = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in dict.fromkeys(idx.tolist())]
