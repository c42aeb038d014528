"""On-screen text with RapidOCR (PP-OCR ONNX models shipped in the package).

OCR costs ~0.5 s a frame on a CPU core, so it reads only a few frames: the ones
with the most fine horizontal/vertical edge structure, which is what text looks like.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL_NAME = "rapidocr-ppocrv4"
MODEL_VERSION = "1.4-det640max-nocls"


class TextReader:
    name = MODEL_NAME
    version = MODEL_VERSION

    def __init__(self, threads: int = 1, min_confidence: float = 0.6, max_side: int = 640) -> None:
        self.threads = threads
        self.max_side = max_side  # detection cost grows with pixels; video text is large
        self.min_confidence = min_confidence
        self._engine = None
        self._lock = threading.Lock()

    def load(self):
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                # limit_type "max": shrink big frames only. The default ("min", 736)
                # enlarges a 640x360 frame to 1308x736 and made detection 4x slower.
                self._engine = RapidOCR(intra_op_num_threads=self.threads,
                                        inter_op_num_threads=1, print_verbose=False,
                                        det_limit_side_len=self.max_side, det_limit_type="max")
        return self._engine

    def read(self, frame_paths: Sequence[str | Path]) -> list[str]:
        """Lines of text found across the frames, in reading order, without repeats."""
        return [line for _, line in self.read_timed([(0.0, p) for p in frame_paths])]

    def read_timed(self, frames: Sequence[tuple[float, str | Path]]) -> list[tuple[float, str]]:
        """(second, line) for each line found in the (second, frame) pairs, without repeats:
        a line keeps the time of the first frame it was read in (a moment's start)."""
        engine = self.load()
        seen: dict[str, float] = {}
        for at_s, path in frames:
            image = _load_for_ocr(path, self.max_side)
            with self._lock:  # the engine is not thread-safe
                # No angle classifier: captions and signs in videos are upright.
                result, _ = engine(image, use_cls=False)
            for _box, text, score in result or []:
                text = text.strip()
                if float(score) >= self.min_confidence and len(text) >= 2:
                    seen.setdefault(text, float(at_s))
        return [(at_s, line) for line, at_s in seen.items()]


def _load_for_ocr(path: str | Path, max_side: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        scale = max_side / max(img.size)
        if scale < 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)),
                             Image.Resampling.AREA if hasattr(Image.Resampling, "AREA")
                             else Image.Resampling.BOX)
        return np.asarray(img)[:, :, ::-1].copy()  # RapidOCR expects BGR like OpenCV


def pick_text_frames(frame_paths: Sequence[str | Path], count: int) -> list[str]:
    """Choose up to `count` distinct frames most likely to hold text, spread over the video.

    Edge density on a thumbnail ranks them; repeats of one picture are left out first, so a
    static caption is read once.
    """
    from shortlist.media.frames import distinct_frames, thumbnail

    if count <= 0 or not frame_paths:
        return []
    frames = distinct_frames([str(p) for p in frame_paths], max(12, 3 * count))
    scores = []
    for path in frames:
        g = thumbnail(path, (160, 90))
        scores.append(float(np.abs(np.diff(g, axis=1)).mean() + np.abs(np.diff(g, axis=0)).mean()))
    order = sorted(range(len(frames)), key=lambda i: -scores[i])
    picked: list[int] = []
    gap = max(1, len(frames) // (count + 1))
    for i in order:
        if all(abs(i - j) >= gap for j in picked):
            picked.append(i)
        if len(picked) == count:
            break
    return [frames[i] for i in sorted(picked)]
