"""Twelve Labs Marengo as the video embedder (`SHORTLIST_VIDEO_EMBEDDER=marengo`): the video
itself embedded by a model that watches and listens, and text queries embedded by the same
model into the same space, through the `twelvelabs` SDK.

A video is an embedding task (`POST /embed/tasks`, scopes `clip` and `video`), polled until
ready within a time limit, then retrieved: the `video` segments give the video's vector (the
mean of its embedding options: visual, audio, transcription), the `clip` segments are kept
with their start and end times. Calls are retried here on 408, 429 and 5xx with backoff
(the SDK's own retry drops the form fields of multipart requests in 1.3.6, so a retried
upload would be refused); what is left becomes one CloudServiceError with the reason, never
the key (it travels in a header the SDK sets).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shortlist.errors import CloudServiceError
from shortlist.models.video_embedding import Clip, VideoEmbedding
from shortlist.settings import Settings
from shortlist.store.records import MARENGO

DIM = 512  # Marengo 3.0 (2.7, at 1024, is end-of-life)
CLIP_SECONDS = 6.0  # the service's default segment length (2-10 s)
RETRIED_STATUS = (408, 409, 429)  # and every 5xx


class MarengoEmbedder:
    dim = DIM
    space = MARENGO

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.settings = settings
        self.model = settings.marengo_model
        self.name = "twelvelabs"
        self._client = client

    @property
    def version(self) -> str:
        """Part of the video-embed stage's cache key: another model embeds again."""
        return self.model

    @property
    def client(self) -> Any:
        if self._client is None:
            if not self.settings.twelvelabs_api_key:
                raise CloudServiceError("Twelve Labs needs TWELVELABS_API_KEY (or set "
                                        "SHORTLIST_VIDEO_EMBEDDER=none)")
            from twelvelabs import TwelveLabs

            self._client = TwelveLabs(api_key=self.settings.twelvelabs_api_key,
                                      base_url=self.settings.twelvelabs_base_url,
                                      timeout=self.settings.cloud_timeout_s)
        return self._client

    def _options(self) -> dict[str, Any]:
        return {"max_retries": 0,
                "timeout_in_seconds": max(1, round(self.settings.cloud_timeout_s))}

    def embed_video(self, path: str | Path) -> VideoEmbedding:
        """Upload, wait for the task, and read its segments."""
        tasks = self.client.embed.tasks

        def create():
            with open(path, "rb") as video:  # opened per attempt: an upload reads it through
                return tasks.create(
                    model_name=self.model, video_file=video, video_clip_length=CLIP_SECONDS,
                    video_embedding_scope=["clip", "video"], request_options=self._options())

        task = self._call("creating the embedding task", create)
        if not task.id:
            raise CloudServiceError("Twelve Labs created an embedding task without an id")
        deadline = time.monotonic() + self.settings.marengo_wait_s
        while True:
            status = self._call("polling the embedding task", lambda: tasks.status(
                task.id, request_options=self._options())).status
            if status == "ready":
                break
            if status == "failed":
                raise CloudServiceError(f"Twelve Labs could not embed the video (task {task.id} "
                                        "failed)")
            if time.monotonic() > deadline:
                raise CloudServiceError(
                    f"Twelve Labs task {task.id} not ready within "
                    f"{self.settings.marengo_wait_s:g} s (SHORTLIST_MARENGO_WAIT_S); the next "
                    "ingest tries again")
            time.sleep(self.settings.marengo_poll_s)
        done = self._call("reading the embeddings", lambda: tasks.retrieve(
            task.id, request_options=self._options()))
        return _video_embedding(done.video_embedding.segments if done.video_embedding else None)

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        """Text into the video space (`POST /embed`), one request per text."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        embed = self.client.embed
        for i, text in enumerate(texts):
            answer = self._call("embedding the query", lambda text=text: embed.create(
                model_name=self.model, text=text, request_options=self._options()))
            segments = answer.text_embedding.segments if answer.text_embedding else None
            out[i] = _unit(_vector(segments[0].float_ if segments else None))
        return out

    def _call(self, what: str, call):
        """One SDK call, tried up to cloud_attempts times on 408, 429, 5xx and time-outs,
        with exponential backoff; then one CloudServiceError saying why."""
        import httpx
        from twelvelabs.core.api_error import ApiError

        attempts = max(1, self.settings.cloud_attempts)
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                return call()
            except ApiError as exc:
                code = exc.status_code or 0
                transient = code in RETRIED_STATUS or code >= 500
                if transient and not last:
                    time.sleep(self.settings.cloud_retry_delay_s * 2 ** (attempt - 1))
                    continue
                retried = f" after {attempts} attempts" if transient else ""
                raise CloudServiceError(f"Twelve Labs, {what}: answered {code}{retried}: "
                                        f"{_short(exc.body)}") from None
            except httpx.TimeoutException:
                if not last:
                    continue
                raise CloudServiceError(f"Twelve Labs, {what}: no answer within "
                                        f"{self.settings.cloud_timeout_s:g} s") from None
            except CloudServiceError:
                raise
            except (httpx.HTTPError, OSError) as exc:
                raise CloudServiceError(f"Twelve Labs unreachable, {what}: {_short(exc)}") from None
            except Exception as exc:  # noqa: BLE001 - an answer the SDK's models refuse
                raise CloudServiceError(f"Twelve Labs, {what}: an answer the SDK could not "
                                        f"read ({type(exc).__name__}: {_short(exc)})") from None
        raise AssertionError("unreachable")


def _video_embedding(segments: Sequence[Any] | None) -> VideoEmbedding:
    """Average each scope's embedding options (visual, audio, transcription) per time span."""
    video: list[np.ndarray] = []
    clips: dict[tuple[float, float], list[np.ndarray]] = defaultdict(list)
    for s in segments or ():
        vector = _vector(s.float_)
        if s.embedding_scope == "video":
            video.append(vector)
        elif s.embedding_scope == "clip":
            clips[(float(s.start_offset_sec or 0), float(s.end_offset_sec or 0))].append(vector)
    if not video:
        raise CloudServiceError("Twelve Labs answered without a video-scope embedding")
    return VideoEmbedding(
        tuple(float(x) for x in _unit(np.mean(video, axis=0))),
        tuple(Clip(start, end, tuple(float(x) for x in _unit(np.mean(vs, axis=0))))
              for (start, end), vs in sorted(clips.items())))


def _vector(values: Sequence[float] | None) -> np.ndarray:
    if not values or len(values) != DIM:
        raise CloudServiceError(f"Twelve Labs answered a vector of {len(values or [])} numbers, "
                                f"Marengo gives {DIM}")
    return np.asarray(values, dtype=np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _short(value: object) -> str:
    return " ".join(str(value or "").split())[:300]
