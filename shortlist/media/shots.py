"""Shot changes, found by ffmpeg's `scdet` filter inside the one decode (media/transcode.py).

A branch of the decode graph shrinks every decoded frame to 160 px and scores it against
the one before (scdet: the change in mean absolute frame difference, so a steady pan or
zoom is not a cut but a jump is); each cut's time is printed to a file beside the
rendition. Measured on the sample corpus: all 12 subject changes of its compilations found
within 0.05 s, the real cuts of the Megamind trailer and the bikes clip, nothing on pans,
zooms, a walking crowd or a talking head; the CPU cost was within the noise of the decode
(3.8 s of CPU for the whole corpus with and without it). Moments (shortlist/moments.py)
use the cuts to end a window and to start one at a frame-accurate time.
"""

from __future__ import annotations

import re
from pathlib import Path

# What the cuts depend on: part of the transcode task's cache key and of each point's
# versions, not of the audio and frames (so transcripts and tags stay cached).
VERSION = "scdet4@160px"
SHOTS_FILE = "shots.txt"
# scdet's score (0-100). On the sample corpus motion scored at most 3.2 (a bike ride, a
# zoom, a walking crowd) and cuts 4.0 to 27; scdet's default, 10, missed 8 of the 12
# compilation cuts. A cut between two flat backgrounds of near-equal brightness scores
# about 3.9 and is missed: the gap to motion is too narrow to go lower.
THRESHOLD = 4
_SMALL = 160
_FIRST_FRAME_S = 0.5  # scdet scores the first frame against nothing: not a cut


def branch(source: str, *, on_gpu: bool) -> str:
    """Filter-graph chain from the decoded stream `source` (e.g. "[s]") that writes the
    cuts to SHOTS_FILE in ffmpeg's working folder and ends in a sink."""
    fit = f"{_SMALL}:{_SMALL}:force_original_aspect_ratio=decrease"
    shrink = (f"scale_cuda={fit}:format=yuv420p,hwdownload,format=yuv420p" if on_gpu
              else f"scale={fit}:flags=area")
    return (f"{source}{shrink},scdet=threshold={THRESHOLD},"
            f"metadata=mode=print:key=lavfi.scd.time:file={SHOTS_FILE},nullsink")


def read_cuts(folder: Path) -> tuple[float, ...] | None:
    """The cut times in seconds, or None when the file is missing (a rendition made
    before shots were detected)."""
    try:
        text = (folder / SHOTS_FILE).read_text()
    except FileNotFoundError:
        return None
    times = (round(float(t), 2) for t in re.findall(r"lavfi\.scd\.time=([0-9.]+)", text))
    return tuple(sorted({t for t in times if t >= _FIRST_FRAME_S}))
