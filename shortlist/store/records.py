"""What the store holds and answers with: vector names and sizes, points, hits, filters.

Shared by the Qdrant store and the index beside it; no client is imported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shortlist.store.ids import point_id_for

TEXT, SPEECH, SCENE, VISUAL, AUDIO, KEYWORDS = (
    "text", "speech", "scene", "visual", "audio", "keywords")
# Each signal's words in a space of their own (MiniLM), so none dilutes another:
#   text:   the description (title, genres, tags, on-screen text)
#   speech: the transcript (absent when nobody speaks)
#   scene:  what the image classifier saw, in WordNet's words, weighted by its confidence
# visual: EfficientNet's 1280-d features, audio: YAMNet's 521 scores, both projected down
# (shortlist/projection.py) so the embedded store opens fast.
DIMENSIONS = {TEXT: 384, SPEECH: 384, SCENE: 384, VISUAL: 256, AUDIO: 128}
TEXT_SPACES = (TEXT, SPEECH, SCENE)  # the spaces a text query is searched in
# Payload fields that filters use get an index (a server uses them; embedded mode ignores them).
INDEXED_FIELDS = {"tags": "keyword", "genres": "keyword", "language": "keyword",
                  "duration_s": "float", "has_speech": "bool", "video_id": "keyword",
                  "status": "keyword"}


@dataclass(frozen=True)
class VideoPoint:
    video_id: str
    payload: dict[str, Any]
    dense: dict[str, list[float]]  # name -> vector; a missing name means "no such signal"
    sparse: dict[int, float]
    keywords: dict[str, str] = field(default_factory=dict)  # field -> text, for keyword search


def check_point(point: VideoPoint) -> None:
    """Refuse a point the store would refuse, before any index is written: vector names and
    sizes, finite numbers, and a payload that names the same video. Raises ValueError."""
    if point.payload.get("video_id") != point.video_id:
        raise ValueError(f"point {point.video_id!r}: payload.video_id must equal the point's id")
    for name, vector in point.dense.items():
        if name not in DIMENSIONS:
            raise ValueError(f"point {point.video_id!r}: unknown vector {name!r} "
                             f"(known: {', '.join(DIMENSIONS)})")
        if len(vector) != DIMENSIONS[name]:
            raise ValueError(f"point {point.video_id!r}: vector {name!r} has {len(vector)} "
                             f"dimensions, the collection takes {DIMENSIONS[name]}")
        if not all(isinstance(x, int | float) and math.isfinite(x) for x in vector):
            raise ValueError(f"point {point.video_id!r}: vector {name!r} holds a value that "
                             "is not a finite number")
    for index, weight in point.sparse.items():
        if not (isinstance(index, int) and 0 <= index < 2**32 and math.isfinite(weight)):
            raise ValueError(f"point {point.video_id!r}: bad keyword weight {index}: {weight}")


@dataclass(frozen=True)
class Hit:
    video_id: str
    score: float
    payload: dict[str, Any]
    vectors: dict[str, list[float]] | None = None


@dataclass(frozen=True)
class SearchFilters:
    """What a user can narrow results by; every field is optional."""

    tags: tuple[str, ...] = ()  # any of these tags or genres
    genres: tuple[str, ...] = ()
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    language: str | None = None
    has_speech: bool | None = None

    def to_qdrant(self, exclude_ids: Sequence[str] = ()):
        from qdrant_client import models as m

        must: list[Any] = []
        if self.tags:
            must.append(m.FieldCondition(key="tags", match=m.MatchAny(any=list(self.tags))))
        if self.genres:
            must.append(m.FieldCondition(key="genres", match=m.MatchAny(any=list(self.genres))))
        if self.min_duration_s is not None or self.max_duration_s is not None:
            must.append(m.FieldCondition(key="duration_s", range=m.Range(
                gte=self.min_duration_s, lte=self.max_duration_s)))
        if self.language:
            must.append(m.FieldCondition(key="language", match=m.MatchValue(value=self.language)))
        if self.has_speech is not None:
            must.append(m.FieldCondition(key="has_speech",
                                         match=m.MatchValue(value=self.has_speech)))
        must_not = [m.HasIdCondition(has_id=[point_id_for(v) for v in exclude_ids])] \
            if exclude_ids else []
        if not must and not must_not:
            return None
        return m.Filter(must=must or None, must_not=must_not or None)

    @property
    def empty(self) -> bool:
        return self == SearchFilters()

    def matches(self, payload: dict[str, Any]) -> bool:
        """The same test as to_qdrant(), on a payload in hand."""
        if self.tags and not set(self.tags) & set(payload.get("tags") or []):
            return False
        if self.genres and not set(self.genres) & set(payload.get("genres") or []):
            return False
        duration = payload.get("duration_s")
        if self.min_duration_s is not None and (duration is None
                                                or duration < self.min_duration_s):
            return False
        if self.max_duration_s is not None and (duration is None
                                                or duration > self.max_duration_s):
            return False
        if self.language and payload.get("language") != self.language:
            return False
        return self.has_speech is None or payload.get("has_speech") == self.has_speech
