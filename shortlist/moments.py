"""Moments: where in a video the words a search found are said.

At ingest the transcript's segments are grouped into windows of about 5-15 s that keep
sentences whole and end at pauses and shot changes (`moment_windows`), and each window's
text is embedded like the video's; the store holds the vectors (records.MOMENTS: the whole
talk's, then each window's), so search ranks a video by its best moment and any process
that reaches the store can locate one. A search then points each result at its best window
(`locate`): the one that says most of the query's words, by meaning among equals, starting
at the second the first of those words is said (`first_said`). A video of one window (a
short clip), or one where nothing said stands out (a visual match), has no moment: the whole
video is the answer. Text on screen is a moment too (`screen_moments`): the shot in which an
OCR'd frame's caption was read, found by its words like a window.
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
FRAME_SLACK_S = 0.5
WHOLE_VIDEO = 0.9  # a caption's moment this share of the video long is not a moment
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


def screen_moments(screen_text: Sequence[tuple[float, str]], cuts: Sequence[float],
                   duration_s: float, segments: Sequence[Sequence[Any]] = ()
                   ) -> list[tuple[float, float, str]]:
    """(start_s, end_s, text) for the text read on each OCR'd frame: the shot it shows (from
    the cut before the frame to the cut after it, at most MAX_S), so a search for a caption's
    words opens the video where it is on screen. Left out: a caption mostly said aloud
    around it (subtitles: the spoken window finds it), and a moment that is nearly the
    whole video, or in a video no longer than MAX_S (a short clip is its own moment)."""
    if duration_s <= MAX_S:
        return []
    read_at: dict[float, list[str]] = {}
    for at_s, line in screen_text:
        read_at.setdefault(float(at_s), []).append(str(line))
    moments = []
    for at_s, lines in sorted(read_at.items()):
        # A 1 fps frame is the source frame nearest its second, so it may show a shot
        # that opens a little after that second.
        start = max((c for c in cuts if c <= at_s + FRAME_SLACK_S), default=0.0)
        start = start if at_s - start <= MAX_S else at_s
        end = min((c for c in cuts if c > max(at_s, start)), default=duration_s)
        end = max(min(end, start + MAX_S, duration_s), min(at_s + 1.0, duration_s))
        text = " ".join(lines)
        if end - start < WHOLE_VIDEO * duration_s and not said_around(text, start, end,
                                                                     segments):
            moments.append((round(start, 2), round(end, 2), text))
    return moments


def said_around(text: str, start: float, end: float, segments: Sequence[Sequence[Any]]
                ) -> bool:
    """Whether most of a caption's words are said within a few seconds of its shot."""
    shown = set(tokens(text))
    heard = {w for a, b, t in segments if b >= start - CUT_SNAP_S and a <= end + CUT_SNAP_S
             for w in tokens(str(t))}
    return bool(shown) and len(shown & heard) >= len(shown) / 2


def timed_moments(payload: dict[str, Any]) -> list[tuple[float, float, str, bool]]:
    """A video's moments as (start_s, end_s, text, spoken): the transcript's windows, then
    the on-screen text's, in the order their vectors follow the whole talk's in the
    store's moments space."""
    return ([(float(a), float(b), str(t), True) for a, b, t in payload.get("moments") or []]
            + [(float(a), float(b), str(t), False)
               for a, b, t in payload.get("screen_moments") or []])


def window_vectors(payload: dict[str, Any], moments_vector: Sequence[Sequence[float]] | None
                   ) -> np.ndarray | None:
    """Each moment's vector from the video's moments multivector (the whole talk's first),
    or None when they do not line up with its moments (a catalogue made before moments were
    stored, a video without speech, whose moments are found by their words alone)."""
    moments = timed_moments(payload)
    if not moments or not moments_vector or len(moments_vector) != len(moments) + 1:
        return None
    return np.asarray(moments_vector[1:], dtype=np.float32)


def moment_vector(payload: dict[str, Any], at_s: float,
                  moments_vector: Sequence[Sequence[float]] | None) -> tuple[list, np.ndarray]:
    """The moment playing at `at_s` and its vector, for "more like this moment". Raises
    ValueError naming the video's moments when none is there."""
    moments = timed_moments(payload)
    vectors = window_vectors(payload, moments_vector)
    for i, moment in enumerate(moments):
        if moment[0] <= at_s < moment[1] or (i == len(moments) - 1 and at_s == moment[1]):
            if vectors is None:
                raise ValueError(
                    f"video {payload.get('video_id')}'s moments have no vectors to compare "
                    "(it has no speech, or was ingested before moments were stored): ask "
                    "for more like the whole video")
            return list(moment[:3]), vectors[i]
    spans = ", ".join(f"{m[0]:g}-{m[1]:g} s" for m in moments) or "none: it is one moment"
    raise ValueError(f"video {payload.get('video_id')} has no moment at {at_s:g} s "
                     f"(its moments: {spans})")


def locate(payload: dict[str, Any], query_vector: np.ndarray, query: str,
           moments_vector: Sequence[Sequence[float]] | None) -> dict[str, Any] | None:
    """The result's moment, {start_s, end_s, moment_text}, or None (see the module)."""
    moments = timed_moments(payload)
    if not moments:
        return None
    vectors = window_vectors(payload, moments_vector)
    # Vectors made by another embedder (or none: no speech) leave the words alone to decide.
    by_meaning = vectors is not None and vectors.shape[1] == len(query_vector)
    meaning = (vectors @ np.asarray(query_vector, dtype=np.float32) if by_meaning
               else np.zeros(len(moments), dtype=np.float32))
    words = set(tokens(query))
    said = np.array([share_found(words, m[2], spoken=m[3]) for m in moments])
    best = max(range(len(moments)), key=lambda i: (said[i], meaning[i]))
    if said[best] == 0 and (not by_meaning or meaning[best] - float(meaning.mean()) < STANDS_OUT):
        return None
    start, end, text, spoken = moments[best]
    if said[best] > 0 and spoken:
        start = first_said(payload.get("segments") or [], start, end, words) or start
    return {"start_s": float(start), "end_s": float(end), "moment_text": text}


def locate_clip(payload: dict[str, Any], query_vector: Sequence[float] | None,
                clips_vector: Sequence[Sequence[float]] | None) -> dict[str, Any] | None:
    """The video embedder's clip (Marengo's, a few seconds each) nearest the query in its
    space, when one stands out: a moment found by picture and sound, with no words to show.
    None without a query in that space, or clips that do not line up with the payload's."""
    clips = payload.get("video_clips") or []
    if query_vector is None or clips_vector is None or len(clips) < 2 \
            or len(clips_vector) != len(clips) + 1 or len(clips_vector[0]) != len(query_vector):
        return None
    scores = np.asarray(clips_vector[1:], dtype=np.float32) @ np.asarray(query_vector,
                                                                       dtype=np.float32)
    best = int(scores.argmax())
    if scores[best] - float(scores.mean()) < STANDS_OUT:
        return None
    return {"start_s": float(clips[best][0]), "end_s": float(clips[best][1]),
            "moment_text": None}


def share_found(words: set[str], text: str, spoken: bool = True) -> float:
    """The share of a query's words in a moment's text. OCR often reads a caption's words
    as one ("STROMBOLIISLAND"), so on screen a word of four letters or more also counts
    inside a longer one."""
    if not words:
        return 0.0
    seen = set(tokens(text))
    found = words & seen
    if not spoken:
        found |= {w for w in words - found if len(w) >= 4 and any(w in t for t in seen)}
    return len(found) / len(words)


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
