"""Moments: windows of what is said, and a search that answers with the second it happens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from shortlist.moments import (
    first_said,
    locate,
    locate_clip,
    moment_windows,
    screen_moments,
)
from tests.conftest import FONT, ffmpeg, speak

ROOT = Path(__file__).resolve().parents[1]
CAPTIONS = ("ROSE GARDEN", "STROMBOLI ISLAND", "VIENNA HALL")
SUBJECTS = (
    "Our garden grows tomatoes and basil. We water the tomatoes every morning.",
    "The volcano erupted at night. Lava flowed down the mountain into the sea.",
    "The orchestra tuned their violins. The concert began with a quiet symphony.",
)


def test_windows_keep_sentences_whole_between_five_and_fifteen_seconds():
    segments = [(0, 2, "Hello there."), (2, 4, "This is short."), (4, 7, "A third one."),
                (7, 12, "Now a long sentence that keeps going"), (12, 20, "and ends here."),
                (20, 21, "Bye.")]
    windows = moment_windows(segments)
    assert [(s, e) for s, e, _ in windows] == [(0, 7), (7, 21)]  # "Bye." joins the last
    assert windows[0][2] == "Hello there. This is short. A third one."
    assert all(e - s <= 15 for s, e, _ in windows)
    assert moment_windows([]) == []
    # a pause between subjects ends a window before it reaches five seconds
    paused = moment_windows([(0, 3, "Tomatoes grow."), (4.5, 6, "Lava flows."),
                             (6.2, 9, "It reaches the sea.")])
    assert [(s, e) for s, e, _ in paused] == [(0, 3), (4.5, 9)]


def test_a_shot_change_ends_a_window_and_starts_the_next_at_the_cut():
    """Whisper opened the second subject's segment 1.4 s before the picture changed."""
    segments = [(0, 3, "First subject here and"), (3.2, 5.0, "more on the first"),
                (5.1, 9.0, "second subject begins."), (9.0, 12.0, "It continues here.")]
    assert [(s, e) for s, e, _ in moment_windows(segments)] == [(0, 12)]
    windows = moment_windows(segments, cuts=[6.5])
    assert [(s, e) for s, e, _ in windows] == [(0, 5.0), (6.5, 12.0)]
    assert first_said(segments, 6.5, 12.0, {"second"}) == 6.5  # never before the window
    # a cut far from any segment's start (a cutaway mid-sentence) changes nothing
    assert moment_windows(segments, cuts=[7.5]) == moment_windows(segments)


def _held(windows: np.ndarray) -> list[list[float]]:
    """A moments multivector as the store holds it: the whole talk's vector, then each
    window's."""
    whole = windows.mean(axis=0)
    return [list(whole / np.linalg.norm(whole)), *map(list, windows)]


def test_a_search_points_at_the_window_that_says_its_words():
    moments = [[0.0, 8.0, "tomatoes and basil in the garden"],
               [8.0, 16.0, "lava flowed down the volcano"],
               [16.0, 24.0, "the orchestra and its violins"]]
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    payload = {"moments": moments}
    held = _held(vectors)
    found = locate(payload, vectors[0], "volcano lava", held)  # its words beat its meaning
    assert found == {"start_s": 8.0, "end_s": 16.0, "moment_text": moments[1][2]}
    assert locate(payload, vectors[2], "a quiet evening", held)["start_s"] == 16.0  # meaning
    flat = np.full(8, 1 / np.sqrt(8), dtype=np.float32)
    same = _held(np.tile(flat, (3, 1)))
    assert locate(payload, flat, "a quiet evening", same) is None  # nothing stands out
    assert locate({"moments": moments[:1]}, flat, "volcano", held[:2]) is None  # one window
    # vectors that do not line up with the windows (made before moments were stored): the
    # words alone find the window, and a search by meaning has none
    assert locate(payload, vectors[0], "volcano lava", held[:1])["start_s"] == 8.0
    assert locate(payload, vectors[0], "volcano lava", None)["start_s"] == 8.0
    assert locate(payload, vectors[2], "a quiet evening", None) is None


def test_a_caption_is_a_moment_of_the_shot_it_is_read_in():
    cuts = [12.0, 30.0]
    read = [(3.0, "CHAPTER ONE"), (3.0, "The garden"), (20.0, "LAVA FIELDS"), (48.0, "THE END")]
    moments = screen_moments(read, cuts, duration_s=60.0)
    # the last caption's shot opened 18 s before it was read: the moment starts at its frame
    assert moments == [(0.0, 12.0, "CHAPTER ONE The garden"), (12.0, 27.0, "LAVA FIELDS"),
                       (48.0, 60.0, "THE END")]
    assert screen_moments(read, cuts, duration_s=14.0) == []  # a short clip is one moment
    assert screen_moments([(3.0, "SLOW")], [], duration_s=16.0) == []  # nearly all of it
    # subtitles: the words are said there, and the spoken window finds them
    said = [[10.0, 14.0, "Lava fields stretch to the sea."]]
    assert screen_moments(read, cuts, 60.0, said) == [moments[0], moments[2]]
    # Spoken windows first, then captions; a caption's moment starts at its shot, not at a
    # word said there.
    segments = [[0.0, 6.0, "Welcome to the garden."], [6.0, 12.0, "Lava is hot."]]
    payload = {"moments": [[0.0, 6.0, segments[0][2]], [6.0, 12.0, segments[1][2]]],
               "screen_moments": [list(m) for m in moments], "segments": segments}
    vectors = np.eye(6, 8, dtype=np.float32)  # the whole talk's, then the five moments'
    assert locate(payload, vectors[0], "lava fields", _held(vectors))["start_s"] == 12.0
    assert locate(payload, vectors[0], "lava", _held(vectors))["start_s"] == 6.0  # said first
    assert locate(payload, vectors[0], "the end", None)["moment_text"] == "THE END"
    # OCR reads a caption's words as one; on screen a word is found inside it
    glued = {**payload, "screen_moments": [[12.0, 27.0, "LAVAFIELDS"]]}
    assert locate(glued, vectors[0], "fields", None)["start_s"] == 12.0


def test_a_result_without_words_opens_at_the_video_embedders_best_clip():
    payload = {"video_clips": [[0.0, 6.0], [6.0, 12.0], [12.0, 18.0]]}
    clips = np.eye(4, 8, dtype=np.float32)  # the whole video's, then three clips'
    assert locate_clip(payload, clips[2], clips) == {"start_s": 6.0, "end_s": 12.0,
                                                     "moment_text": None}
    assert locate_clip(payload, np.full(8, 0.35), clips) is None  # none stands out
    assert locate_clip(payload, clips[2], clips[:3]) is None  # not lined up with the clips
    assert locate_clip(payload, None, clips) is None  # no query in the video space


def test_a_result_starts_when_the_query_words_are_said_not_when_the_window_opens():
    """Whisper's segments can open in the subject before: the start is read off where the
    word falls in its segment."""
    segments = [[0.0, 4.0, "The garden grows basil."],
                [4.0, 12.0, "We water it daily. The volcano erupted at night."],
                [12.0, 16.0, "Lava reached the sea."]]
    moments = [[0.0, 4.0, segments[0][2]], [4.0, 16.0, f"{segments[1][2]} {segments[2][2]}"]]
    # "volcano" is 23 of the segment's 48 characters in: 4 + 8 * 23 / 48 = 7.8 s
    assert first_said(segments, 4.0, 16.0, {"volcano"}) == 7.8
    assert first_said(segments, 4.0, 16.0, {"lava"}) == 12.0
    assert first_said(segments, 4.0, 16.0, {"basil"}) is None  # said, but outside the window
    vectors = np.eye(2, 8, dtype=np.float32)
    payload = {"moments": moments, "segments": segments}
    held = _held(vectors)
    assert locate(payload, vectors[0], "volcano", held)["start_s"] == 7.8
    assert locate(payload, vectors[0], "volcano", held)["end_s"] == 16.0
    # found by meaning alone: the window's own start
    assert locate(payload, vectors[1], "an eruption", held)["start_s"] == 4.0


@pytest.mark.slow
def test_words_said_only_in_the_middle_of_a_long_video_find_that_moment(tmp_path):
    """Three spoken subjects joined into one video: a search for the middle one's words
    returns the video with start_s inside the middle subject's time range (±3 s), and a
    search for the middle one's caption, at that shot's start."""
    parts, bounds, t = [], [], 0.0
    for i, text in enumerate(SUBJECTS):
        wav = speak(text, tmp_path / f"part{i}.wav")
        with wave.open(str(wav)) as w:
            seconds = w.getnframes() / w.getframerate()
        bounds.append((t, t + seconds + 1.0))
        t += seconds + 1.0
        parts.append(wav)
    joined = tmp_path / "joined.wav"
    inputs = [a for p in parts for a in ("-i", str(p))]
    chain = "".join(f"[{i}]apad=pad_dur=1[a{i}];" for i in range(3))
    ffmpeg(*inputs, "-filter_complex",
           chain + "".join(f"[a{i}]" for i in range(3)) + "concat=n=3:v=0:a=1", str(joined))
    video = tmp_path / "inbox" / "three subjects.mp4"
    video.parent.mkdir()
    # Each subject its own shot (a background colour) and caption, never said aloud.
    shots = ",".join(
        f"drawbox=x=0:y=0:w=iw:h=ih:color={colour}:t=fill:enable='between(t,{a},{b})',"
        f"drawtext=fontfile={FONT}:text='{caption}':fontcolor=white:fontsize=40:"
        f"x=(w-text_w)/2:y=h-80:enable='between(t,{a},{b})'"
        for (a, b), colour, caption in zip(bounds, ("0x336699", "0xCC6622", "0x113311"),
                                           CAPTIONS, strict=True))
    ffmpeg("-f", "lavfi", "-i", "color=c=0x336699:s=640x360:r=10", "-i", str(joined),
           "-vf", shots, "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
           str(video))
    env = {**os.environ, "SHORTLIST_DATA_DIR": str(tmp_path / "data"),
           "PREFECT_HOME": str(tmp_path / "prefect"), "SHORTLIST_OCR_FRAMES": "3"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "shortlist.cli", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)

    done = cli("ingest", str(video.parent))
    assert done.returncode == 0, done.stdout + done.stderr
    found = cli("search", "lava from the volcano", "--json")
    assert found.returncode == 0, found.stderr
    first = json.loads(found.stdout)[0]
    start, end = bounds[1]
    assert start - 3 <= first["start_s"] <= end, (first, bounds)
    assert "lava" in first["moment_text"].lower() or "volcano" in first["moment_text"].lower()
    printed = cli("search", "lava from the volcano").stdout
    assert "@ 0:" in printed
    # A caption's words open the video at the shot it is on screen in.
    shown = json.loads(cli("search", "Stromboli", "--json").stdout)[0]
    start, end = bounds[1]
    assert start - 1 <= shown["start_s"] <= start + 1, (shown, bounds)
    assert "STROMBOLI" in shown["moment_text"].upper()


def test_more_like_a_moment_follows_what_is_said_then(tmp_path):
    """A video about two things: more like its first moment finds the video about the first,
    more like its second the one about the second; a second outside every moment is refused
    with the video's moments named."""
    from shortlist.recommend.similar import similar
    from shortlist.store.edge_store import EdgeStore
    from shortlist.store.records import AUDIO, MOMENTS, SPEECH, TEXT, VISUAL
    from tests.points import make_point

    store = EdgeStore(tmp_path / "q")
    both, first, second = (make_point(i, t, tmp_path / "media")
                           for i, t in enumerate(("Gardens and volcanoes", "Gardens",
                                                  "Volcanoes")))
    moments = [[0.0, 8.0, "tomatoes and basil"], [8.0, 16.0, "lava and ash"]]
    both.payload["moments"] = moments
    for p in (both, first, second):  # words only: picture and sound would vote by chance
        p.dense.pop(VISUAL)
        p.dense.pop(AUDIO)
        p.dense[SPEECH] = p.dense[TEXT]
        p.dense[MOMENTS] = [p.dense[SPEECH]]
    both.dense[MOMENTS] += [first.dense[TEXT], second.dense[TEXT]]
    store.upsert([both, first, second])
    assert similar(store, both.video_id, 1, at_s=2.0)[0].video_id == first.video_id
    assert similar(store, both.video_id, 1, at_s=8.0)[0].video_id == second.video_id
    with pytest.raises(ValueError, match="no moment at 30 s .*0-8 s, 8-16 s"):
        similar(store, both.video_id, 1, at_s=30.0)
