"""Probing, recognising videos by content, and the one-pass transcode."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import pytest

from shortlist.errors import MediaError, SourceError
from shortlist.media.probe import looks_like_video, probe
from shortlist.media.transcode import MANIFEST, TranscodeOptions, transcode
from shortlist.sources import expand_source, walk_videos
from tests.conftest import ffmpeg


def stream_info(path: str) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
                          "-count_frames", path], capture_output=True, text=True, check=True)
    return {s["codec_type"]: s for s in json.loads(out.stdout)["streams"]}


def test_probe_reads_a_real_video(media):
    info = probe(media["speech"])
    assert info.has_audio and info.width == 320 and info.height == 240
    assert 3.0 < info.duration_s < 12.0


def test_probe_sees_no_audio_in_a_silent_video(media):
    assert probe(media["silent"]).has_audio is False


@pytest.mark.parametrize("name, reason", [
    ("empty", "empty file"), ("text", "not a readable media file"),
    ("corrupt", "not a readable media file"),
])
def test_probe_explains_bad_files(media, name, reason):
    with pytest.raises(MediaError, match=reason):
        probe(media[name])


def test_probe_rejects_a_still_image(tmp_path):
    png = tmp_path / "still.png"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=s=64x64:d=1",
                    "-frames:v", "1", str(png)], check=True)
    with pytest.raises(MediaError):
        probe(png)


def test_videos_are_recognised_by_content_not_only_name(media, tmp_path):
    nameless = tmp_path / "clip_without_extension"
    nameless.write_bytes(media["silent"].read_bytes())
    note = tmp_path / "readme.txt"
    note.write_text("hello")
    assert looks_like_video(nameless)
    assert not looks_like_video(note)
    assert looks_like_video(media["text"])  # named .mp4: kept, so its failure is reported


def test_folder_walk_is_recursive_and_content_based(media, tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep").write_bytes(media["silent"].read_bytes())
    (tmp_path / "a" / "notes.txt").write_text("not a video")
    found = walk_videos(tmp_path)
    assert [p.name for p in found] == ["deep"]


def test_missing_path_is_a_clear_source_error(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        expand_source(str(tmp_path / "nope.mp4"), tmp_path)


def test_transcode_makes_rendition_audio_and_frames_in_one_pass(media, tmp_path):
    info = probe(media["speech"])
    r = transcode(media["speech"], info, tmp_path / "out", TranscodeOptions())
    streams = stream_info(r.video_path)
    v = streams["video"]
    assert (v["width"], v["height"]) == (1024, 1024)
    assert v["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    assert v["avg_frame_rate"] == "1/1"
    # one model frame per second of video, give or take the last partial second
    assert abs(len(r.frame_paths) - info.duration_s) <= 1.5
    with wave.open(r.audio_path) as w:
        assert (w.getframerate(), w.getnchannels()) == (16000, 1)
        assert abs(w.getnframes() / 16000 - info.duration_s) < 0.5
    assert not list(tmp_path.glob(".partial-*"))


def test_vertical_video_is_padded_into_the_square(media, tmp_path):
    r = transcode(media["vertical"], probe(media["vertical"]), tmp_path / "v", TranscodeOptions())
    v = stream_info(r.video_path)["video"]
    assert (v["width"], v["height"]) == (1024, 1024)
    from PIL import Image

    with Image.open(r.frame_paths[0]) as frame:  # model frames keep the picture's own shape
        assert frame.height > frame.width


def test_half_second_clip_still_yields_a_frame(media, tmp_path):
    r = transcode(media["short"], probe(media["short"]), tmp_path / "s", TranscodeOptions())
    assert len(r.frame_paths) >= 1 and r.audio_path is None


def test_failed_transcode_leaves_no_partial_folder(media, tmp_path):
    fake = probe(media["silent"])
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(media["silent"].read_bytes()[:2000])
    with pytest.raises(MediaError):
        transcode(broken, fake, tmp_path / "x", TranscodeOptions())
    assert not (tmp_path / "x").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".partial")]


def test_renditions_are_rewritten_whole(media, tmp_path):
    out = tmp_path / "same"
    first = transcode(media["silent"], probe(media["silent"]), out, TranscodeOptions())
    second = transcode(media["silent"], probe(media["silent"]), out, TranscodeOptions())
    assert first.frame_paths == second.frame_paths
    assert Path(second.video_path).stat().st_size > 0


def test_the_decode_finds_cuts_but_not_motion(tmp_path):
    """Three shots (a moving pattern, two flat backgrounds); and a slow zoom into a still,
    which moves every frame but never cuts."""
    shots = tmp_path / "three shots.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=320x240:r=25:d=3",
           "-f", "lavfi", "-i", "color=c=0x1d3557:s=320x240:r=25:d=2",
           "-f", "lavfi", "-i", "color=c=0x6d597a:s=320x240:r=25:d=2",
           "-filter_complex", "[0][1][2]concat=n=3:v=1:a=0", "-c:v", "libx264",
           "-preset", "ultrafast", str(shots))
    r = transcode(shots, probe(shots), tmp_path / "shots", TranscodeOptions())
    assert r.shots is not None and len(r.shots) == 2
    assert abs(r.shots[0] - 3.0) < 0.1 and abs(r.shots[1] - 5.0) < 0.1
    still = tmp_path / "still.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=640x360:d=1", "-frames:v", "1", str(still))
    zoom = tmp_path / "zoom.mp4"
    ffmpeg("-loop", "1", "-i", str(still), "-vf",
           "zoompan=z='min(zoom+0.0015,1.3)':d=100:s=640x360:fps=25", "-t", "4",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(zoom))
    assert transcode(zoom, probe(zoom), tmp_path / "zoom", TranscodeOptions()).shots == ()


def test_relative_source_and_data_paths_transcode(media, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "clip.mp4").write_bytes(media["speech"].read_bytes())
    r = transcode(Path("in/clip.mp4"), probe(media["speech"]), Path(".data/media/x"),
                  TranscodeOptions())
    assert Path(r.video_path).exists() and r.audio_path and r.shots == ()


def test_a_rendition_made_before_shots_gains_them_and_keeps_what_stages_wrote(tmp_path):
    three = tmp_path / "three shots.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=0x1d3557:s=320x240:r=25:d=2",
           "-f", "lavfi", "-i", "color=c=0xe9c46a:s=320x240:r=25:d=2",
           "-filter_complex", "[0][1]concat=n=2:v=1:a=0", "-c:v", "libx264",
           "-preset", "ultrafast", str(three))
    out = tmp_path / "old"
    first = transcode(three, probe(three), out, TranscodeOptions())
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["shots"]  # as an older version wrote it
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / "shots.txt").unlink()
    (out / "visual.npy").write_bytes(b"written by a later stage")
    again = transcode(three, probe(three), out, TranscodeOptions())
    assert len(again.shots) == 1 and abs(again.shots[0] - 2.0) < 0.1
    assert (out / "visual.npy").read_bytes() == b"written by a later stage"
    assert again.frame_paths == first.frame_paths
    assert json.loads((out / MANIFEST).read_text())["shots"] == list(again.shots)


def test_gpu_decode_asked_where_it_cannot_run_decodes_on_the_cpu(media, tmp_path):
    """This machine's ffmpeg lists the CUDA hwaccel but has no GPU: the GPU graph fails and
    the same video is decoded on the CPU, with the same frames, and says so."""
    info = probe(media["speech"])
    cpu = transcode(media["speech"], info, tmp_path / "cpu", TranscodeOptions())
    gpu = transcode(media["speech"], info, tmp_path / "gpu", TranscodeOptions(gpu_device=0))
    assert (cpu.decoder, gpu.decoder) == ("cpu", "cpu")
    assert gpu.encoder == "libx264"  # no NVENC here either
    assert len(gpu.frame_paths) == len(cpu.frame_paths) > 0
    assert [Path(p).read_bytes() for p in gpu.frame_paths] == \
        [Path(p).read_bytes() for p in cpu.frame_paths]


def test_the_poster_is_the_typical_picture_not_a_fade_or_a_card(tmp_path):
    """A video that opens black, shows a flat title card, then a long textured scene (and one
    odd frame): the poster is a frame of the scene."""
    import numpy as np
    from PIL import Image

    from shortlist.media.poster import choose_poster, write_poster

    rng = np.random.default_rng(0)
    scene = rng.integers(40, 220, size=(90, 160, 3)).astype(np.uint8)
    frames = {"00000": np.zeros((90, 160, 3), np.uint8),  # fade in from black
              "00001": np.full((90, 160, 3), 128, np.uint8),  # a flat card
              "00005": np.clip(scene[:, ::-1] * 0.3 + 150, 0, 255).astype(np.uint8)}  # odd one
    for i, shift in zip((2, 3, 4), (0, 9, 18), strict=True):  # the scene, panning slowly
        frames[f"{i:05d}"] = np.roll(scene, shift, axis=1)
    paths = []
    for name, pixels in sorted(frames.items()):
        paths.append(str(tmp_path / f"{name}.jpg"))
        Image.fromarray(pixels).save(paths[-1], quality=90)
    chosen = choose_poster(paths)
    assert Path(chosen).stem in {"00002", "00003", "00004"}, chosen
    (tmp_path / "video").mkdir()
    poster = write_poster(tmp_path / "video", paths)
    assert poster is not None and poster.read_bytes() == Path(chosen).read_bytes()
    assert choose_poster(paths[:1]) == paths[0]  # a video that is all black still gets one
    assert choose_poster([]) is None
