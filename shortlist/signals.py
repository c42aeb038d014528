"""The signals extracted from one video, and the description fused from them.

These small records are what stages hand each other (and what Prefect caches);
big arrays stay in files next to the rendition, referenced by path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shortlist.models.asr import Transcript
from shortlist.models.labels import Label


@dataclass(frozen=True)
class VisualSignals:
    labels: tuple[Label, ...]
    words: tuple[Label, ...]
    features_path: str  # .npy, 1280-d pooled frame features
    model: str
    brightness: float | None = None  # mean luma 0..1 over the tagged frames
    classes: tuple[tuple[int, float], ...] = ()  # top ImageNet classes (index, score)


@dataclass(frozen=True)
class AudioSignals:
    labels: tuple[Label, ...]
    speech_ratio: float
    loudness_db: float
    scores_path: str  # .npy, 521 AudioSet class scores
    model: str


@dataclass(frozen=True)
class Signals:
    """Everything the describer may use. Missing stages are None, never invented."""

    duration_s: float
    transcript: Transcript | None
    visual: VisualSignals | None
    audio: AudioSignals | None
    ocr_lines: tuple[str, ...] = ()
    nsfw_score: float | None = None
    ocr_seen_at: tuple[float, ...] = ()  # the second each of ocr_lines was first read at

    @property
    def screen_text(self) -> list[tuple[float, str]]:
        """(second, line) for the on-screen text whose time is known (moments.py)."""
        return list(zip(self.ocr_seen_at, self.ocr_lines, strict=False))


def on_screen(read: tuple[tuple[float, str], ...] | None) -> dict[str, tuple]:
    """Signals' two on-screen text fields from the read-text stage's (second, line) pairs."""
    read = tuple(read or ())
    return {"ocr_lines": tuple(line for _, line in read),
            "ocr_seen_at": tuple(float(at_s) for at_s, _ in read)}


@dataclass(frozen=True)
class Description:
    """The schema every describer returns, local or cloud (Gemini), so they swap by config."""

    title: str
    genres: tuple[str, ...]
    description: str
    tags: tuple[str, ...]
    moods: tuple[str, ...] = field(default_factory=tuple)
    describer: str = "local"
