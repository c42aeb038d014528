"""A poster per video: the still a page shows before play, and a result's thumbnail.

Chosen from the distinct frames (shortlist/media/frames.py) by what a person would pick: not
a fade to black, a white flash or a flat card, and, of the rest, the most typical picture
(the medoid: nearest on average to the other distinct frames), so a video that cuts between
a title card and a long scene gets the scene.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shortlist.media.frames import distinct_frames, thumbnail

POSTER_NAME = "poster.jpg"
CANDIDATES = 8
DARK, BRIGHT = 20.0, 235.0  # mean grey (0-255) outside which a frame is a fade or a flash
FLAT = 6.0  # grey-level spread below which a frame is an empty card


def choose_poster(frame_paths: Sequence[str]) -> str | None:
    """The frame to show for the video, or None when it has no frames."""
    frames = distinct_frames(list(frame_paths), CANDIDATES)
    if not frames:
        return None
    thumbs = [thumbnail(p) for p in frames]
    usable = [i for i, t in enumerate(thumbs) if DARK <= t.mean() <= BRIGHT and t.std() >= FLAT]
    candidates = usable or list(range(len(frames)))

    def distance_to_others(i: int) -> float:
        others = [np.abs(thumbs[i] - thumbs[j]).mean() for j in candidates if j != i]
        return float(np.mean(others)) if others else 0.0

    best = min(candidates, key=lambda i: (round(distance_to_others(i), 1), -thumbs[i].std()))
    return frames[best]


def write_poster(directory: str | Path, frame_paths: Sequence[str]) -> Path | None:
    """`directory`/poster.jpg from the chosen frame (kept if already there); None without
    frames. Written to a temporary name, then renamed, so a reader never sees half of it."""
    target = Path(directory) / POSTER_NAME
    if target.exists():
        return target
    chosen = choose_poster(frame_paths)
    if chosen is None:
        return None
    # A name of its own per writer: the CLI's look-ahead transcode and the flow's may both get
    # here at once, and either rename leaves a whole poster.
    fd, partial = tempfile.mkstemp(prefix=".poster-", suffix=".part", dir=target.parent)
    os.close(fd)
    shutil.copyfile(chosen, partial)
    os.replace(partial, target)
    return target
