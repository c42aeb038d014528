"""One decode pass per video: the streaming rendition, ASR audio and tagger frames together.

A single ffmpeg process reads the source once and writes four outputs:
  rendition.mp4  1 fps, square padded H.264/AAC, what the web page streams
  audio.wav      16 kHz mono PCM for speech recognition and audio tagging
  frames/*.jpg   the same 1 fps frames, smaller, for the image models
  shots.txt      the times of shot changes, from every decoded frame (media/shots.py)
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shortlist.errors import MediaError
from shortlist.media import shots
from shortlist.media.probe import MediaInfo
from shortlist.processes import tied_to_parent

MANIFEST = "rendition.json"


@dataclass(frozen=True)
class TranscodeOptions:
    size: int = 1024
    fps: int = 1
    frame_size: int = 640  # longest side of the model frames
    x264_preset: str = "ultrafast"
    # Model frames written at most: a long video's frames are spread over it instead of
    # one a second (4 hours at 1 fps were 14,400 JPEGs; the taggers read a few dozen).
    max_model_frames: int = 600
    gpu_device: int | None = None  # a CUDA device index, or None for CPU

    @property
    def fingerprint(self) -> str:
        """What a cached rendition depends on (the GPU choice does not change the result)."""
        return (f"ffmpeg:{self.size}px:{self.fps}fps:{self.frame_size}px:{self.x264_preset}"
                f":{self.max_model_frames}f")

    def frame_interval_s(self, duration_s: float) -> float:
        """Seconds between two model frames of a video this long."""
        return max(1.0 / self.fps, duration_s / self.max_model_frames)


@dataclass(frozen=True)
class Rendition:
    directory: str
    video_path: str
    audio_path: str | None
    frame_paths: tuple[str, ...]
    duration_s: float
    encoder: str
    decoder: str = "cpu"  # "nvdec" when the GPU decoded and scaled
    frame_interval_s: float = 1.0  # model frame i shows the video at i * frame_interval_s
    shots: tuple[float, ...] | None = None  # cut times; None: made before shots were found


def transcode(source: Path, info: MediaInfo, out_dir: Path, options: TranscodeOptions) -> Rendition:
    """Decode `source` once into `out_dir`; the folder appears whole or not at all.

    `out_dir` is named by the content hash, so a complete rendition already there, made
    with the same options, is reused; a lock keeps two workers from decoding one video.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out_dir.parent / f".{out_dir.name}.lock"):
        done = read_rendition(out_dir, options)
        if done is not None and done.shots is None:
            done = _add_shots(source, info, done)
        if done is not None:
            return done
        rendition = _transcode_into(source, info, out_dir, options)
        (out_dir / MANIFEST).write_text(json.dumps(
            {"fingerprint": options.fingerprint, **dataclasses.asdict(rendition)}))
        return rendition


def read_rendition(out_dir: Path, options: TranscodeOptions) -> Rendition | None:
    """The rendition in `out_dir` if it is complete and was made with these options."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if data.pop("fingerprint", None) != options.fingerprint:
        return None
    data["frame_paths"] = tuple(data["frame_paths"])
    data["shots"] = tuple(data["shots"]) if data.get("shots") is not None else None
    rendition = Rendition(**data)
    if not all(Path(p).exists() for p in (rendition.video_path, *rendition.frame_paths)):
        return None
    return rendition


@contextlib.contextmanager
def _locked(path: Path):
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _add_shots(source: Path, info: MediaInfo, rendition: Rendition) -> Rendition:
    """Shots for a rendition made before they were found: one decode of the source with only
    the shots branch, into the same folder. Nothing else there is touched: the frames, audio
    and what later stages wrote beside them (visual.npy, the poster) stay as they are."""
    folder = Path(rendition.directory).resolve()
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", str(source.resolve()),
           "-filter_complex", shots.branch("[0:v]", on_gpu=False), "-an", "-f", "null", "-"]
    proc = subprocess.run(tied_to_parent(cmd), capture_output=True, text=True,
                          timeout=_timeout(info), cwd=folder)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise MediaError(f"ffmpeg could not decode the video: {lines[-1] if lines else 'error'}")
    rendition = dataclasses.replace(rendition, shots=shots.read_cuts(folder) or ())
    manifest = json.loads((folder / MANIFEST).read_text())
    partial = folder / f"{MANIFEST}.partial"
    partial.write_text(json.dumps({**manifest, "shots": list(rendition.shots)}))
    partial.replace(folder / MANIFEST)
    return rendition


def _transcode_into(source: Path, info: MediaInfo, out_dir: Path,
                    options: TranscodeOptions) -> Rendition:
    work = Path(tempfile.mkdtemp(prefix=".partial-", dir=out_dir.parent))
    try:
        encoder, decoder = _run_ffmpeg(source, info, work, options)
        frames = sorted((work / "frames").glob("*.jpg"))
        if not frames:
            raise MediaError("decoding produced no frames (corrupt or too short video)")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        work.rename(out_dir)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    audio = out_dir / "audio.wav"
    return Rendition(
        directory=str(out_dir),
        video_path=str(out_dir / "rendition.mp4"),
        audio_path=str(audio) if audio.exists() and audio.stat().st_size > 44 else None,
        frame_paths=tuple(str(out_dir / "frames" / f.name) for f in frames),
        duration_s=info.duration_s,
        encoder=encoder,
        decoder=decoder,
        frame_interval_s=options.frame_interval_s(info.duration_s),
        shots=shots.read_cuts(out_dir) or (),
    )


def _run_ffmpeg(source: Path, info: MediaInfo, work: Path,
                options: TranscodeOptions) -> tuple[str, str]:
    """Run the one decode; returns (encoder, decoder) as used."""
    # Absolute paths: ffmpeg runs in `work`, and the source or the data dir may be relative.
    source, work = source.resolve(), work.resolve()
    (work / "frames").mkdir()
    gpu = options.gpu_device is not None
    decoder = "nvdec" if gpu else "cpu"
    encoder = "h264_nvenc" if gpu and nvenc_available(options.gpu_device or 0) else "libx264"
    cmd = build_command(source, info, work, options, encoder=encoder, hw_decode=gpu)
    # In the work folder: the graph names the shots file without a path to escape.
    proc = subprocess.run(tied_to_parent(cmd), capture_output=True, text=True,
                          timeout=_timeout(info), cwd=work)
    if proc.returncode != 0 and gpu:
        # NVDEC does not decode every codec: decode on the CPU, keep the encoder.
        for f in (work / "frames").glob("*"):
            f.unlink()
        decoder = "cpu"
        cmd = build_command(source, info, work, options, encoder=encoder, hw_decode=False)
        proc = subprocess.run(tied_to_parent(cmd), capture_output=True, text=True,
                              timeout=_timeout(info), cwd=work)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise MediaError(f"ffmpeg could not decode the video: {lines[-1] if lines else 'error'}")
    return encoder, decoder


def build_command(
    source: Path, info: MediaInfo, work: Path, options: TranscodeOptions,
    *, encoder: str, hw_decode: bool,
) -> list[str]:
    """The ffmpeg argument list; kept separate so tests and benchmarks can read it."""
    s, fs = options.size, options.frame_size
    fit = "force_original_aspect_ratio=decrease"
    interval = options.frame_interval_s(info.duration_s)
    # The model frames' rate, when fewer than one a second are kept.
    thin = f"fps={1.0 / interval:.6f}," if interval > 1.0 / options.fps else ""
    pad = f"pad={s}:{s}:(ow-iw)/2:(oh-ih)/2,format=yuv420p[r]"
    # Frames for the models keep the picture's own shape (no padding bars to mislabel).
    if hw_decode:
        # Decoded pictures stay on the GPU: only the 1 fps frames, already scaled, are
        # copied to the CPU. Copying every decoded frame back made NVDEC slower than the
        # CPU decoder (bench/results/gpu_check.md).
        graph = (
            f"[0:v]split=2[all][cuts];{shots.branch('[cuts]', on_gpu=True)};"
            f"[all]fps={options.fps},split=2[a][b];"
            f"[a]scale_cuda={s}:{s}:{fit}:format=yuv420p,hwdownload,format=yuv420p,"
            f"setsar=1,{pad};"
            f"[b]{thin}scale_cuda={fs}:{fs}:{fit}:format=yuv420p,hwdownload,format=yuv420p,"
            f"setsar=1[fr]"
        )
    else:
        graph = (
            f"[0:v]split=2[all][cuts];{shots.branch('[cuts]', on_gpu=False)};"
            f"[all]fps={options.fps},setsar=1,split=2[a][b];"
            f"[a]scale={s}:{s}:{fit}:flags=bilinear,{pad};"
            f"[b]{thin}scale={fs}:{fs}:{fit}:flags=area[fr]"
        )
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"]
    if hw_decode:
        cmd += ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda",
                "-hwaccel_device", str(options.gpu_device or 0)]
    cmd += ["-i", str(source), "-filter_complex", graph]
    # Output 1: the rendition. Keyframe every 2 s so seeking in the page is quick.
    cmd += ["-map", "[r]"]
    if info.has_audio:
        # AAC sources are copied as they are: re-encoding them was half of this command's time.
        cmd += ["-map", "0:a:0"]
        cmd += ["-c:a", "copy"] if info.audio_codec == "aac" else \
            ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "96k"]
    if encoder == "libx264":
        cmd += ["-c:v", "libx264", "-preset", options.x264_preset, "-crf", "30"]
    else:
        cmd += ["-c:v", encoder, "-preset", "p4", "-cq", "30"]
    cmd += ["-r", str(options.fps), "-g", str(2 * options.fps), "-movflags", "+faststart",
            str(work / "rendition.mp4")]
    # Output 2: frames for the image models.
    cmd += ["-map", "[fr]", "-q:v", "3", "-start_number", "0", str(work / "frames" / "%05d.jpg")]
    # Output 3: speech-recognition audio.
    if info.has_audio:
        cmd += ["-map", "0:a:0", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le",
                str(work / "audio.wav")]
    return cmd


@functools.lru_cache(maxsize=8)
def nvenc_available(device: int = 0) -> bool:
    """Try one tiny NVENC encode: the only reliable test (H100/A100 list NVENC but have none)."""
    cmd = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=256x256:d=0.1",
           "-c:v", "h264_nvenc", "-gpu", str(device), "-f", "null", "-"]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _timeout(info: MediaInfo) -> float:
    return 120 + 4 * info.duration_s
