"""Check the GPU path on a machine with an NVIDIA GPU, against the CPU path in the same run.

What it checks, each with the project's own code:
  - transcode: NVDEC decode (`-hwaccel cuda`) works and gives the same frames as CPU decode;
    whether NVENC exists (H100/A100 have none: libx264 must be chosen); time of each.
  - frame tagger (EfficientNet-Lite0, TorchScript) on CUDA: same labels as on the CPU; time.
  - faster-whisper (CTranslate2) on CUDA, and the transcriber's way out when CUDA cannot run
    it: given --whisper-model DIR (any CTranslate2 Whisper folder; random weights will do).

Run: python bench/gpu_check.py --out DIR [--whisper-model DIR]
(writes DIR/gpu_check.json and DIR/gpu_check.md)
On a machine without a GPU it says so and checks nothing.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shortlist.media.probe import MediaInfo  # noqa: E402
from shortlist.media.transcode import (  # noqa: E402
    TranscodeOptions,
    build_command,
    nvenc_available,
    transcode,
)
from shortlist.models.vision import FrameTagger  # noqa: E402


def _run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return (proc.stdout + proc.stderr).strip()


def make_clip(path: Path, seconds: int) -> MediaInfo:
    """A 1080p30 H.264/AAC clip with moving content, like a phone upload."""
    subprocess.run(["ffmpeg", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(path)], check=True)
    return MediaInfo(duration_s=float(seconds), width=1920, height=1080, has_audio=True,
                     video_codec="h264", format_name="mov,mp4,m4a,3gp,3g2,mj2",
                     audio_codec="aac")


PARALLEL = 8


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def frames_mean_abs_diff(a: list[str], b: list[str]) -> float:
    from PIL import Image

    if len(a) != len(b):
        return float("inf")
    diffs = []
    for pa, pb in zip(a, b, strict=True):
        x = np.asarray(Image.open(pa).convert("L"), dtype=np.float32)
        y = np.asarray(Image.open(pb).convert("L"), dtype=np.float32)
        if x.shape != y.shape:
            return float("inf")
        diffs.append(float(np.abs(x - y).mean()))
    return max(diffs) if diffs else float("inf")


def check_transcode(work: Path, report: dict) -> list[str]:
    info = make_clip(work / "clip.mp4", seconds=60)
    nvdec = build_command(work / "clip.mp4", info, work / "probe", TranscodeOptions(gpu_device=0),
                          encoder="libx264", hw_decode=True)
    (work / "probe" / "frames").mkdir(parents=True)
    proc = subprocess.run(nvdec, capture_output=True, text=True)
    report["nvdec_decode_ok"] = proc.returncode == 0
    report["nvdec_stderr_tail"] = proc.stderr.strip()[-400:]
    report["nvenc_available"] = nvenc_available(0)
    frames: dict[str, list[str]] = {}
    for label, gpu in (("cpu", None), ("gpu", 0)):
        options = TranscodeOptions(gpu_device=gpu)
        seconds = []
        for attempt in range(2):
            out = work / f"{label}-{attempt}"
            start, cpu_start = time.perf_counter(), _children_cpu_s()
            rendition = transcode(work / "clip.mp4", info, out, options)
            seconds.append(time.perf_counter() - start)
        report[f"transcode_{label}_s"] = round(min(seconds), 2)
        report[f"transcode_{label}_cpu_s"] = round(_children_cpu_s() - cpu_start, 2)
        # Several videos at once, as the ingest flow runs them: what the machine sustains.
        start, cpu_start = time.perf_counter(), _children_cpu_s()
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(lambda i, o=options, lb=label: transcode(
                work / "clip.mp4", info, work / f"{lb}-par-{i}", o), range(PARALLEL)))
        report[f"transcode_{label}_x{PARALLEL}_wall_s"] = round(time.perf_counter() - start, 2)
        report[f"transcode_{label}_x{PARALLEL}_cpu_s"] = round(_children_cpu_s() - cpu_start, 2)
        report[f"transcode_{label}_encoder"] = rendition.encoder
        report[f"transcode_{label}_decoder"] = rendition.decoder
        report[f"transcode_{label}_frames"] = len(rendition.frame_paths)
        frames[label] = list(rendition.frame_paths)
    report["transcode_frames_max_mean_abs_diff"] = round(
        frames_mean_abs_diff(frames["cpu"], frames["gpu"]), 2)
    return frames["cpu"]


# Sources a catalogue meets: (label, ffmpeg video options, size, with audio).
CODECS = [
    ("h264-vertical", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], "720x1280", True),
    ("hevc-10bit", ["-c:v", "libx265", "-pix_fmt", "yuv420p10le"], "1280x720", True),
    ("vp9", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"], "1280x720", True),
    ("mpeg2", ["-c:v", "mpeg2video", "-q:v", "4"], "720x576", True),
    ("av1", ["-c:v", "libsvtav1", "-preset", "12"], "1280x720", False),
    ("h264-444", ["-c:v", "libx264", "-pix_fmt", "yuv444p"], "1280x720", False),
    # 1280x716 fits the 1024 square as 1024x573: an odd height for 4:2:0.
    ("h264-odd-fit", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], "1280x716", False),
    ("hevc-4k-phone", ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
     "2160x3840", True),
]


def check_codecs(work: Path, report: dict) -> None:
    """Each source kind through the GPU path: decoded by NVDEC or, where it cannot, by the
    CPU fallback; either way the same frames' shapes as the CPU path."""
    from PIL import Image

    for label, video_args, size, audio in CODECS:
        src = work / f"{label}.mkv"
        cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
               "-i", f"testsrc2=size={size}:rate=30:duration=5"]
        if audio:
            cmd += ["-f", "lavfi", "-i", "sine=frequency=440:duration=5", "-c:a", "libopus"]
        proc = subprocess.run([*cmd, *video_args, str(src)], capture_output=True, text=True)
        if proc.returncode != 0:
            report[f"codec_{label}"] = f"could not make the source: {proc.stderr[-160:]}"
            continue
        w, h = map(int, size.split("x"))
        info = MediaInfo(duration_s=5.0, width=w, height=h, has_audio=audio,
                         video_codec=label, format_name="matroska,webm",
                         audio_codec="opus" if audio else None)
        try:
            start = time.perf_counter()
            cpu = transcode(src, info, work / f"{label}-cpu", TranscodeOptions())
            cpu_s = time.perf_counter() - start
            start = time.perf_counter()
            gpu = transcode(src, info, work / f"{label}-gpu", TranscodeOptions(gpu_device=0))
            gpu_s = time.perf_counter() - start
        except Exception as err:  # noqa: BLE001 - the message is the finding
            report[f"codec_{label}"] = f"failed: {err}"
            continue
        shapes = {Image.open(p).size for p in gpu.frame_paths} == \
            {Image.open(p).size for p in cpu.frame_paths}
        report[f"codec_{label}"] = (
            f"decoder {gpu.decoder}, frames {len(gpu.frame_paths)}/{len(cpu.frame_paths)}, "
            f"frame sizes {'same' if shapes else 'DIFFER'}, "
            f"audio {'yes' if gpu.audio_path else 'no'}, {gpu_s:.2f} s vs {cpu_s:.2f} s on CPU")


def check_tagger(frame_paths: list[str], report: dict) -> None:
    results = {}
    for device in ("cpu", "cuda:0"):
        tagger = FrameTagger(device=device, threads=4)
        start = time.perf_counter()
        tagger.load()
        report[f"tagger_{device}_load_s"] = round(time.perf_counter() - start, 2)
        for _ in range(3):  # TorchScript specialises on the first calls of each shape
            tagger.tag(frame_paths)
        start = time.perf_counter()
        for _ in range(5):
            tags = tagger.tag(frame_paths)
        report[f"tagger_{device}_ms_per_frame"] = round(
            1000 * (time.perf_counter() - start) / (5 * len(frame_paths)), 2)
        results[device] = tags
    cpu, gpu = results["cpu"], results["cuda:0"]
    report["tagger_top_labels_cpu"] = [lb.name for lb in cpu.labels[:5]]
    report["tagger_top_labels_gpu"] = [lb.name for lb in gpu.labels[:5]]
    report["tagger_same_top5"] = report["tagger_top_labels_cpu"] == report["tagger_top_labels_gpu"]
    report["tagger_feature_cosine"] = round(float(np.dot(cpu.features, gpu.features) / (
        np.linalg.norm(cpu.features) * np.linalg.norm(gpu.features))), 5)


def check_ctranslate2_libraries(report: dict) -> None:
    """The pip CTranslate2 wheel loads cuBLAS 12 at run time; CUDA 13-only machines lack it."""
    for lib in ("libcublas.so.12", "libcublas.so.13", "libcudnn.so.9"):
        try:
            ctypes.CDLL(lib)
            report[f"loads_{lib}"] = True
        except OSError:
            report[f"loads_{lib}"] = False
    try:
        import ctranslate2

        report["ctranslate2_cuda_devices"] = ctranslate2.get_cuda_device_count()
    except ImportError:
        report["ctranslate2_cuda_devices"] = "not installed"


def check_asr(model_dir: Path, report: dict) -> None:
    """CTranslate2 straight on CUDA, then the project's transcriber asked for CUDA."""
    from faster_whisper import WhisperModel

    from shortlist.models.asr import FasterWhisperTranscriber

    samples = (0.1 * np.sin(np.arange(16000 * 5) * 0.05)).astype(np.float32)
    try:
        model = WhisperModel(str(model_dir), device="cuda", compute_type="float16")
        segments, _ = model.transcribe(samples, language="en", vad_filter=False)
        report["ctranslate2_on_cuda"] = f"ran ({len(list(segments))} segments)"
    except Exception as err:  # noqa: BLE001 - the message is the finding
        report["ctranslate2_on_cuda"] = f"{type(err).__name__}: {err}"
    transcriber = FasterWhisperTranscriber(str(model_dir), device="cuda",
                                           compute_type="float16")
    try:
        transcriber.load()
        report["transcriber_asked_cuda_runs_on"] = \
            f"{transcriber.device}/{transcriber.compute_type}"
    except Exception as err:  # noqa: BLE001
        report["transcriber_asked_cuda_runs_on"] = f"failed: {type(err).__name__}: {err}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--whisper-model", type=Path)
    args = parser.parse_args()
    report: dict = {"machine": platform.machine(), "gpus": _run(["nvidia-smi", "-L"])
                    if shutil.which("nvidia-smi") else "no nvidia-smi"}
    import torch

    report["torch"] = torch.__version__
    report["torch_cuda"] = torch.cuda.is_available()
    if not report["torch_cuda"]:
        print("no CUDA device: nothing to check")
        return 1
    report["ffmpeg"] = _run(["ffmpeg", "-version"]).splitlines()[0]
    report["ffmpeg_hwaccels"] = _run(["ffmpeg", "-hide_banner", "-hwaccels"]).split()[3:]
    with tempfile.TemporaryDirectory() as tmp:
        frames = check_transcode(Path(tmp), report)
        check_codecs(Path(tmp), report)
        check_tagger(frames, report)
    check_ctranslate2_libraries(report)
    if args.whisper_model:
        check_asr(args.whisper_model, report)
    write_report(report, args.out)
    print(json.dumps(report, indent=2))
    return 0


def write_report(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    lines = ["# GPU path check", "", "Command: `python bench/gpu_check.py --out DIR "
             "[--whisper-model DIR]` on the lent GPU machine; CPU and GPU paths measured in "
             "the same run.", "", "| check | result |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in report.items() if k != "nvdec_stderr_tail"]
    lines += ["", *summary(report)]
    (out / "gpu_check.md").write_text("\n".join(lines) + "\n")


def summary(r: dict) -> list[str]:
    """The ratios that decide the GPU profile's defaults, in words."""
    n = PARALLEL
    lines = [
        f"- One 60 s 1080p30 video alone: NVDEC takes {r['transcode_gpu_s']} s against "
        f"{r['transcode_cpu_s']} s for the CPU decoder on all cores, but "
        f"{r['transcode_gpu_cpu_s']} CPU-s against {r['transcode_cpu_cpu_s']} "
        f"({r['transcode_cpu_cpu_s'] / r['transcode_gpu_cpu_s']:.1f}× less CPU).",
        f"- {n} videos at once (how the ingest flow runs them): NVDEC "
        f"{r[f'transcode_gpu_x{n}_wall_s']} s against {r[f'transcode_cpu_x{n}_wall_s']} s = "
        f"{r[f'transcode_cpu_x{n}_wall_s'] / r[f'transcode_gpu_x{n}_wall_s']:.2f}× the "
        f"throughput, leaving the CPU to the models. NVENC: "
        f"{'present' if r['nvenc_available'] else 'absent on this card, libx264 chosen'}.",
        f"- Frame tagger on CUDA: {r['tagger_cuda:0_ms_per_frame']} ms/frame against "
        f"{r['tagger_cpu_ms_per_frame']} on the CPU, same labels "
        f"({r['tagger_same_top5']}), feature cosine {r['tagger_feature_cosine']}.",
    ]
    codecs = {k[len("codec_"):]: v for k, v in r.items() if k.startswith("codec_")}
    if codecs:
        lines.append("- Sources through the GPU path: " + "; ".join(
            f"{k}: {v}" for k, v in codecs.items()) + ".")
    if "ctranslate2_on_cuda" in r:
        lines.append(f"- Whisper (CTranslate2) on CUDA: {r['ctranslate2_on_cuda']}; the "
                     f"transcriber asked for CUDA runs on {r['transcriber_asked_cuda_runs_on']} "
                     "and says why in a warning.")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
