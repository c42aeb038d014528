"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)


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
    poster_url: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    moment_text: str | None = None
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


VIDEO_ID = r"^[0-9a-f]{16}$"
Text = Annotated[StrictStr, Field(max_length=500)]
Words = Annotated[list[Annotated[StrictStr, Field(max_length=200)]], Field(max_length=200)]
Number = Annotated[StrictFloat | StrictInt, Field(allow_inf_nan=False)]


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[StrictStr, Field(max_length=200)]
    score: Number


class PayloadIn(BaseModel):
    """The payload `build_point` writes, field by field with its type: anything else, or a
    field of the wrong type, is refused before it reaches the store or an index."""

    model_config = ConfigDict(extra="forbid")
    video_id: Annotated[StrictStr, Field(pattern=VIDEO_ID)]
    sha256: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]
    source: Annotated[StrictStr, Field(max_length=4096)]
    url: Annotated[StrictStr, Field(max_length=4096)] | None = None
    rendition_s3: Annotated[StrictStr, Field(max_length=4096)] | None = None
    rendition_path: Annotated[StrictStr, Field(max_length=4096)]
    poster_path: Annotated[StrictStr, Field(max_length=4096)] | None = None
    poster_s3: Annotated[StrictStr, Field(max_length=4096)] | None = None
    duration_s: Annotated[Number, Field(ge=0)]
    size_bytes: Annotated[StrictInt, Field(ge=0)]
    width: Annotated[StrictInt, Field(ge=0)] | None = None
    height: Annotated[StrictInt, Field(ge=0)] | None = None
    language: Annotated[StrictStr, Field(max_length=16)] | None = None
    has_speech: StrictBool
    title: Text
    description: Annotated[StrictStr, Field(max_length=5000)]
    tags: Words
    genres: Words
    moods: Words = Field(default_factory=list)
    transcript: Annotated[StrictStr, Field(max_length=200_000)]
    segments: Annotated[list[tuple[Number, Number, Annotated[StrictStr, Field(
        max_length=5000)]]], Field(max_length=20_000)]
    ocr_text: Annotated[StrictStr, Field(max_length=20_000)]
    visual_labels: Annotated[list[LabelIn], Field(max_length=200)]
    visual_classes: Annotated[list[tuple[Annotated[StrictInt, Field(ge=0, lt=1000)], Number]],
                              Field(max_length=50)] = Field(default_factory=list)
    visual_words: Annotated[list[LabelIn], Field(max_length=200)]
    audio_labels: Annotated[list[LabelIn], Field(max_length=200)]
    nsfw_score: Annotated[Number, Field(ge=0, le=1)] | None = None
    models: Annotated[dict[Annotated[StrictStr, Field(max_length=100)],
                           Annotated[StrictStr, Field(max_length=500)]], Field(max_length=50)]
    pipeline_fingerprint: Annotated[StrictStr, Field(max_length=64)]
    describer: Annotated[StrictStr, Field(max_length=100)]
    ingested_at: Annotated[StrictStr, Field(max_length=40)]
    status: Literal["ok"]
    moments: Annotated[list[tuple[Number, Number, Annotated[StrictStr, Field(
        max_length=20_000)]]], Field(max_length=5_000)] = Field(default_factory=list)
    screen_moments: Annotated[list[tuple[Number, Number, Annotated[StrictStr, Field(
        max_length=20_000)]]], Field(max_length=5_000)] = Field(default_factory=list)
    # A video embedder's clips (start_s, end_s), and what optional stages could not do.
    video_clips: Annotated[list[tuple[Number, Number]], Field(max_length=20_000)] = Field(
        default_factory=list)
    warnings: Annotated[list[Annotated[StrictStr, Field(max_length=2000)]],
                        Field(max_length=50)] = Field(default_factory=list)


class PointIn(BaseModel):
    """One catalogue point as an ingest in another process made it (`VideoPoint`): vector
    names, finite numbers, ids that agree (sizes are the store's to check: they follow the
    text embedder)."""

    model_config = ConfigDict(extra="forbid")
    video_id: Annotated[StrictStr, Field(pattern=VIDEO_ID)]
    payload: PayloadIn
    dense: dict[Literal["text", "speech", "scene", "visual", "audio", "marengo", "moments",
                        "marengo_clips"],
                # one vector, or a list of them (the moments: the store checks which is which)
                list[Number] | Annotated[list[list[Number]], Field(max_length=5000)]]
    sparse: dict[Annotated[int, Field(ge=0, lt=2**32)], Number] = Field(
        default_factory=dict, max_length=50_000)

    @model_validator(mode="after")
    def _agrees_with_the_collection(self) -> PointIn:
        if self.payload.video_id != self.video_id:
            raise ValueError("payload.video_id must equal video_id")
        if not self.payload.sha256.startswith(self.video_id):
            raise ValueError("video_id must be the first 16 hex digits of payload.sha256")
        return self

    def to_point(self):
        from shortlist.store.records import VideoPoint

        return VideoPoint(self.video_id, self.payload.model_dump(exclude_unset=True),
                          dict(self.dense), dict(self.sparse))

    @classmethod
    def of(cls, point) -> dict:
        """The JSON body of a `VideoPoint`."""
        return {"video_id": point.video_id, "payload": point.payload, "dense": point.dense,
                "sparse": {str(k): v for k, v in point.sparse.items()}}


MAX_POINTS_PER_REQUEST = 100


class PointsRequest(BaseModel):
    points: list[PointIn] = Field(min_length=1, max_length=MAX_POINTS_PER_REQUEST)
