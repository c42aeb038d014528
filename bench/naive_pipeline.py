"""The reference prototype's way, as a baseline: one video at a time, every stage decoding
the source again, Whisper in fp32 with beam search 5. Same models otherwise, on evenly
spaced frames where ours picks distinct ones (2 for OCR, 3 for the safety score).
Description, hashing and the store upsert (about 2 s on the sample corpus) are left out,
which flatters the baseline.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from stage_clock import StageClock


def run_naive(paths: list[Path]) -> dict:
    from faster_whisper import WhisperModel

    from shortlist.models.asr import bundled_model_dir
    from shortlist.models.audio import AudioTagger
    from shortlist.models.ocr import TextReader
    from shortlist.models.safety import SafetyScorer
    from shortlist.models.text_embedding import MiniLMEmbedder
    from shortlist.models.vision import FrameTagger

    timed = StageClock()
    stages = timed.seconds

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        whisper = WhisperModel(str(bundled_model_dir("tiny.en")), device="cpu",
                               compute_type="float32")
        tagger, audio, ocr, embedder = (FrameTagger(), AudioTagger(work / "models"),
                                        TextReader(), MiniLMEmbedder())
        safety = SafetyScorer()  # these load on first use, inside the timing, as ours do
        started = time.perf_counter()
        for i, path in enumerate(paths):
            d = work / str(i)
            (d / "frames").mkdir(parents=True)
            timed("rendition", _ffmpeg, ["-i", str(path), "-vf",
                  "fps=1,scale=1024:1024:force_original_aspect_ratio=decrease,"
                  "pad=1024:1024:(ow-iw)/2:(oh-ih)/2", "-c:v", "libx264", "-c:a", "aac",
                                          str(d / "r.mp4")])
            has_audio = _has_audio(path)
            text = ""
            if has_audio:  # Whisper decodes the file itself, then beam search 5 in fp32
                segments, _ = timed("transcribe", whisper.transcribe, str(path))
                text = timed("transcribe", lambda s=segments: " ".join(x.text for x in s))
            timed("frames", _ffmpeg, ["-i", str(path), "-vf", "fps=1", str(d / "frames/%05d.jpg")])
            frames = sorted(str(p) for p in (d / "frames").glob("*.jpg"))
            timed("tag-frames", tagger.tag, frames)
            if has_audio:
                timed("audio-wav", _ffmpeg, ["-i", str(path), "-ac", "1", "-ar", "16000",
                                             str(d / "a.wav")])
                timed("tag-audio", audio.tag, d / "a.wav")
            timed("ocr", ocr.read, frames[:: max(1, len(frames) // 2)][:2])
            timed("score-safety", safety.score, frames[:: max(1, len(frames) // 3)][:3])
            timed("embed", embedder.embed, [text or "video"])
        wall = time.perf_counter() - started
    return {"wall_s": round(wall, 2), "stage_seconds": {k: round(v, 2) for k, v in
                                                        stages.items()}}


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def _has_audio(path: Path) -> bool:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                          "stream=index", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True)
    return bool(out.stdout.strip())


if __name__ == "__main__":
    import sys

    print(run_naive([Path(p) for p in sys.argv[1:]]), np.__version__)
