"""The video embedder interface: a model that embeds a video itself, and text queries into
the same space (Twelve Labs Marengo, shortlist/cloud/marengo.py). None runs offline; when
one is configured its vector is a store space of its own (`space`), searched beside the
local ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Clip:
    start_s: float
    end_s: float
    vector: tuple[float, ...]


@dataclass(frozen=True)
class VideoEmbedding:
    vector: tuple[float, ...]  # the whole video, unit length
    clips: tuple[Clip, ...]  # in time order


class VideoEmbedder(Protocol):
    name: str
    version: str
    dim: int
    space: str

    def embed_video(self, path: str | Path) -> VideoEmbedding: ...
    def embed_query(self, texts: Sequence[str]) -> np.ndarray: ...
