"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Filters(BaseModel):
    tags: list[str] = Field(default_factory=list, description="any of these tags")
    genres: list[str] = Field(default_factory=list, description="any of these genres")
    min_duration_s: float | None = Field(default=None, ge=0)
    max_duration_s: float | None = Field(default=None, ge=0)
    language: str | None = None
    has_speech: bool | None = None


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=500, examples=["sci-fi, dark tone"])
    limit: int = Field(default=10, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=10_000)
    filters: Filters = Field(default_factory=Filters)


class Result(BaseModel):
    video_id: str
    score: float
    source: str | None
    url: str | None
    title: str
    tags: list[str]
    genres: list[str]
    duration_s: float | None
    description: str = ""


class Results(BaseModel):
    results: list[Result]
    limit: int
    offset: int = 0


class EventRequest(BaseModel):
    video_id: str = Field(min_length=1, max_length=64)
    kind: Literal["watched", "liked", "skipped"] = "watched"
    seconds: float | None = Field(default=None, ge=0, le=86_400)


class EventRecorded(BaseModel):
    user_id: str
    video_id: str
    kind: str
    seconds: float | None
    at: float


class ReindexRequest(BaseModel):
    tracked: list[str] | None = Field(
        default=None, description="folders and s3:// prefixes whose vanished videos are "
        "dropped; default: the tracked_sources setting")


class PointIn(BaseModel):
    """One catalogue point as an ingest in another process made it (`VideoPoint`)."""

    video_id: str = Field(min_length=1)
    payload: dict
    dense: dict[str, list[float]]
    sparse: dict[int, float] = Field(default_factory=dict)
    keywords: dict[str, str] = Field(default_factory=dict)

    def to_point(self):
        from shortlist.store.records import VideoPoint

        return VideoPoint(self.video_id, self.payload, self.dense, self.sparse, self.keywords)

    @classmethod
    def of(cls, point) -> dict:
        """The JSON body of a `VideoPoint`."""
        return {"video_id": point.video_id, "payload": point.payload, "dense": point.dense,
                "sparse": {str(k): v for k, v in point.sparse.items()},
                "keywords": point.keywords}


MAX_POINTS_PER_REQUEST = 100


class PointsRequest(BaseModel):
    points: list[PointIn] = Field(min_length=1, max_length=MAX_POINTS_PER_REQUEST)
