"""Describe with Gemini on Vertex AI: the model watches the video itself and answers with
the catalogue entry, in the `Description` record's own shape (structured output, parsed by
the SDK). The transcript and on-screen text Shortlist already has go along as context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from shortlist.cloud.vertex import call_vertex, vertex_client
from shortlist.errors import CloudServiceError
from shortlist.media.transcode import Rendition
from shortlist.settings import Settings
from shortlist.signals import Description, Signals

PROMPT_VERSION = 1
PROMPT = """Watch each frame of this video and listen to it. Do not make up anything that is
not in the video. Give:
- title: a short, specific title (at most 10 words);
- genres: one to three broad genres of what is shown or said (e.g. animals, food and cooking,
  sports, music, art, travel, science, technology, medicine and health, law, city life);
- description: two or three sentences on what happens in the video;
- tags: up to 12 short lowercase tags naming what is seen or heard;
- moods: up to 3 words for its tone (e.g. calm, upbeat, dark), or none."""
CONTEXT_CHARS = 4000  # of the transcript: enough for a short video, bounded for a long one


class GeminiAnswer(BaseModel):
    """The response schema: the `Description` record's fields (shortlist/signals.py)."""

    title: str = Field(min_length=1, max_length=200)
    genres: list[str] = Field(max_length=5)
    description: str = Field(min_length=1, max_length=2000)
    tags: list[str] = Field(max_length=30)
    moods: list[str] = Field(default_factory=list, max_length=5)


class GeminiDescriber:
    """`SHORTLIST_DESCRIBER=gemini`. The client is made on first use, not at start-up."""

    name = "gemini"

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.settings = settings
        self.model = settings.gemini_model
        self._client = client

    @property
    def version(self) -> str:
        """Part of every cache key: another model or prompt describes again."""
        return f"{self.model}+prompt-{PROMPT_VERSION}"

    def describe(self, signals: Signals, rendition: Rendition) -> Description:
        from google.genai import types

        if self._client is None:
            self._client = vertex_client(self.settings)
        config = types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=GeminiAnswer,
            temperature=0.0)
        contents = [self._video_part(rendition), _prompt(signals)]
        what = f"describing {Path(rendition.video_path).parent.name} with {self.model}"
        answer = call_vertex(what, self.settings, lambda: self._client.models.generate_content(
            model=self.model, contents=contents, config=config))
        parsed = answer.parsed
        if not isinstance(parsed, GeminiAnswer):
            raise CloudServiceError(f"{what}: the answer did not follow the schema "
                                    f"({_finish_reason(answer)})")
        return Description(
            title=parsed.title.strip(), genres=_clean(parsed.genres, 3),
            description=parsed.description.strip(), tags=_clean(parsed.tags, 12),
            moods=_clean(parsed.moods, 3), describer=f"{self.name}:{self.version}")

    def _video_part(self, rendition: Rendition) -> Any:
        """The video by its Cloud Storage URI when renditions are mirrored there, else its
        bytes inline (Vertex takes at most 20 MB per request; base64 makes bytes 4/3)."""
        from google.genai import types

        path = Path(rendition.video_path)
        prefix = self.settings.gemini_video_uri_prefix
        if prefix:
            video_id = path.parent.name
            return types.Part.from_uri(file_uri=f"{prefix.rstrip('/')}/{video_id}.mp4",
                                       mime_type="video/mp4")
        size_mb = path.stat().st_size / 1e6
        if size_mb > self.settings.gemini_inline_max_mb:
            raise CloudServiceError(
                f"the rendition {path} is {size_mb:.1f} MB, more than the "
                f"{self.settings.gemini_inline_max_mb:g} MB sent inline: mirror renditions to "
                "Cloud Storage and set SHORTLIST_GEMINI_VIDEO_URI_PREFIX=gs://bucket/prefix")
        return types.Part.from_bytes(data=path.read_bytes(), mime_type="video/mp4")


def _prompt(signals: Signals) -> str:
    parts = [PROMPT]
    transcript = signals.transcript.text.strip() if signals.transcript else ""
    if transcript:
        parts.append("What is said in it (automatic transcript, may mishear names):\n"
                     + transcript[:CONTEXT_CHARS])
    if signals.ocr_lines:
        parts.append("Text seen on screen (automatic OCR):\n" + "\n".join(signals.ocr_lines))
    return "\n\n".join(parts)


def _clean(words: list[str], limit: int) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for w in words:
        w = " ".join(w.split()).lower()
        if w:
            seen.setdefault(w)
    return tuple(seen)[:limit]


def _finish_reason(answer: Any) -> str:
    try:
        return f"finish reason {answer.candidates[0].finish_reason}"
    except (AttributeError, IndexError, TypeError):
        return "no candidates"
