"""Moments: where in a video the words a search found are said.

At ingest the transcript's segments are grouped into windows of about 5-15 s that keep
sentences whole and end at pauses and shot changes (`moment_windows`), and each window's
text is embedded like the video's; the store holds the vectors (records.MOMENTS: the whole
talk's, then each window's), so search ranks a video by its best moment and any process
that reaches the store can locate one. A search then points each result at its best window
(`locate`): the one that says most of the query's words, by meaning among equals, starting
at the second the first of those words is said (`first_said`). A video of one window (a
short clip), or one where nothing said stands out (a visual match), has no moment: the whole
video is the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from shortlist.text import tokens

MIN_S, MAX_S = 5.0, 15.0
PAUSE_S = 1.0  # a silence this long ends a window of at least MIN_S / 2: speakers pause
# between subjects, so a window does not straddle two
# Whisper's segment times run up to a few seconds off the audio; a shot change (frame-
# accurate, media/shots.py) this close to a segment's start is where that segment begins.
# On the sample's compilations, 1 s found 20 of 21 parts by their words and 18 by meaning;
# 2, 3 and 4 s each found 20 and 19; without cuts, 19 and 17.
CUT_SNAP_S = 2.0
STANDS_OUT = 0.05  # cosine above the video's mean window for a moment found by meaning alone


def moment_windows(segments: Sequence[Sequence[Any]], cuts: Sequence[float] = ()
                   ) -> list[tuple[float, float, str]]:
    """(start_s, end_s, text) windows of consecutive transcript segments: closed at a
    sentence end once at least MIN_S long, at a pause or a shot change once half that, and
    before they would pass MAX_S. A window opening at a shot change starts at the cut."""
    segments = [(float(a), float(b), str(t)) for a, b, t in segments]
    opens_at = _cut_starts(segments, cuts)
    windows: list[tuple[float, float, str]] = []
    current: list[tuple[float, float, str]] = []

    def close() -> None:
        if current:
            text = " ".join(t.strip() for _, _, t in current if t.strip())
            windows.append((round(current[0][0], 2), round(current[-1][1], 2), text))
            current.clear()

    for i, (start, end, text) in enumerate(segments):
        if current and (end - current[0][0] > MAX_S or (
                (start - current[-1][1] >= PAUSE_S or i in opens_at)
                and current[-1][1] - current[0][0] >= MIN_S / 2)):
            close()
        if not current and i in opens_at:
            start = opens_at[i]
        current.append((start, end, text))
        if end - current[0][0] >= MIN_S and text.rstrip().endswith((".", "!", "?")):
            close()
    close()
    windows = [w for w in windows if w[2]]
    if len(windows) > 1 and windows[-1][1] - windows[-1][0] < MIN_S \
            and windows[-1][0] - windows[-2][1] < PAUSE_S \
            and windows[-1][1] - windows[-2][0] <= MAX_S:  # a last word joins the one before
        last = windows.pop()
        windows[-1] = (windows[-1][0], last[1], f"{windows[-1][2]} {last[2]}")
    return windows


def _cut_starts(segments: Sequence[tuple[float, float, str]],
                cuts: Sequence[float]) -> dict[int, float]:
    """Segment index -> the cut it begins at: the segment (not the first) whose start lies
    nearest each cut, within CUT_SNAP_S. Its start moves to the cut when Whisper put it
    earlier (never past the segment's end)."""
    found: dict[int, float] = {}
    for cut in cuts:
        near = min(range(len(segments)), key=lambda i: abs(segments[i][0] - cut), default=0)
        if near > 0 and abs(segments[near][0] - cut) <= CUT_SNAP_S:
            found[near] = max(segments[near][0], min(cut, segments[near][1]))
    return found


def window_vectors(payload: dict[str, Any], moments_vector: Sequence[Sequence[float]] | None
                   ) -> np.ndarray | None:
    """Each window's vector from the video's moments multivector (the whole talk's first),
    or None when they do not line up with its windows (a catalogue made before moments were
    stored, or a video of one window)."""
    windows = payload.get("moments") or []
    if not moments_vector or len(windows) < 2 or len(moments_vector) != len(windows) + 1:
        return None
    return np.asarray(moments_vector[1:], dtype=np.float32)


def moment_vector(payload: dict[str, Any], at_s: float,
                  moments_vector: Sequence[Sequence[float]] | None) -> tuple[list, np.ndarray]:
    """The moment playing at `at_s` and its vector, for "more like this moment". Raises
    ValueError naming the video's moments when none is there."""
    moments = payload.get("moments") or []
    vectors = window_vectors(payload, moments_vector)
    for i, moment in enumerate(moments):
        playing = moment[0] <= at_s < moment[1] or (i == len(moments) - 1 and at_s == moment[1])
        if playing and vectors is not None:
            return moment, vectors[i]
    spans = ", ".join(f"{m[0]:g}-{m[1]:g} s" for m in moments) or "none: it is one moment"
    raise ValueError(f"video {payload.get('video_id')} has no moment at {at_s:g} s "
                     f"(its moments: {spans})")


def locate(payload: dict[str, Any], query_vector: np.ndarray, query: str,
           moments_vector: Sequence[Sequence[float]] | None) -> dict[str, Any] | None:
    """The result's moment, {start_s, end_s, moment_text}, or None (see the module)."""
    moments = payload.get("moments") or []
    vectors = window_vectors(payload, moments_vector)
    if vectors is None or vectors.shape[1] != len(query_vector):
        return None  # made by another embedder: no moment rather than a wrong one
    meaning = vectors @ np.asarray(query_vector, dtype=np.float32)
    words = set(tokens(query))
    said = np.array([len(words & set(tokens(str(m[2])))) / len(words) if words else 0.0
                     for m in moments])
    best = max(range(len(moments)), key=lambda i: (said[i], meaning[i]))
    if said[best] == 0 and meaning[best] - float(meaning.mean()) < STANDS_OUT:
        return None
    start, end, text = moments[best]
    if said[best] > 0:
        start = first_said(payload.get("segments") or [], start, end, words) or start
    return {"start_s": float(start), "end_s": float(end), "moment_text": str(text)}


def first_said(segments: Sequence[Sequence[Any]], start: float, end: float,
               words: set[str]) -> float | None:
    """When the first of `words` is said between `start` and `end`, to a tenth of a second.

    Whisper times segments, not words, and a window's segments can begin in the subject
    before; speech runs at a near-even pace through a segment of a few seconds, so a word's
    time is read off where it falls in its segment's text. On the sample's compilations
    (`shortlist eval`, 21 moment queries) the result starts inside the right part for 19 with
    this, 16 at the word's segment, 17 at its sentence and 11 at the window's start; Whisper's
    own word timestamps (an alignment pass: 7-15% more recognition time) gave 18.
    """
    for seg_start, seg_end, text in segments:
        if seg_end <= start + 0.01 or seg_start >= end:
            continue  # not in this window (a window may open inside its first segment, at a cut)
        for word in re.finditer(r"\S+", str(text)):
            if words & set(tokens(word.group())):
                share = word.start() / max(1, len(str(text)))
                return round(max(start, seg_start + (seg_end - seg_start) * share), 1)
    return None
