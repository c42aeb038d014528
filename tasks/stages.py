"""One Prefect task per ingest stage.

Cache keys are the task's source plus its inputs minus the bulky ones: every cached
stage takes `sha256` (the video's content) and `version` (this stage's model and
configuration, joined with those of the stages it reads from), so identical bytes
from another path hit the cache and a model change recomputes only what depends on it.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from shortlist import pipeline
from shortlist.errors import ShortlistError, StoreUnavailable
from shortlist.gpu import device_name
from shortlist.media.transcode import Rendition
from shortlist.models.asr import Transcript
from shortlist.models.video_embedding import VideoEmbedding
from shortlist.runtime import components_for
from shortlist.settings import Settings
from shortlist.signals import AudioSignals, Description, Signals, VisualSignals
from shortlist.sources import LocalVideo, expand_source

# Bulky or path-like arguments that must not change the cache key.
STAGE_CACHE = (INPUTS - "settings" - "video" - "rendition" - "signals") + TASK_SOURCE


def retry_if_transient(task, task_run, state) -> bool:
    """Bad input (a corrupt file, a 404) fails at once; other errors get the retries.

    A store held by another process (a reader, another run) is transient too.
    """
    try:
        state.result()
    except StoreUnavailable:
        return True
    except ShortlistError:
        return False
    except Exception:
        return True
    return False


CACHED = {"cache_policy": STAGE_CACHE, "persist_result": True,
          "retry_condition_fn": retry_if_transient}


@task(name="fetch-source", retries=2, retry_delay_seconds=[2, 8],
      retry_condition_fn=retry_if_transient)
def fetch_source(source: str, settings: Settings) -> tuple[list[LocalVideo], list[str]]:
    """The source's videos, and what in it could not be read (one message each)."""
    skipped: list[str] = []
    return expand_source(source, settings.downloads_dir, skipped), skipped


@task(name="transcode", tags=["gpu"], **CACHED)
def transcode(video: pipeline.VideoFile, sha256: str, version: str,
              settings: Settings) -> Rendition:
    with components_for(settings).gpu_slots().acquire() as gpu:
        return pipeline.transcode_video(video, settings, gpu)


@task(name="listen", tags=["gpu"], retries=1, **CACHED)
def listen(rendition: Rendition, sha256: str, version: str,
           settings: Settings) -> tuple[AudioSignals | None, Transcript]:
    """Audio tags, then Whisper where they heard speech: one task, as ASR reads the tags."""
    comps = components_for(settings)
    audio = pipeline.tag_audio(rendition, comps.audio_tagger())
    with comps.gpu_slots().acquire() as gpu:
        transcript = pipeline.transcribe_if_speech(rendition, audio,
                                                   comps.transcriber(device_name(gpu)))
    return audio, transcript


@task(name="look", tags=["gpu"], retries=1, **CACHED)
def look(rendition: Rendition, sha256: str, version: str,
         settings: Settings) -> tuple[VisualSignals, float]:
    """The frame models: ImageNet labels and features, and the safety score."""
    comps = components_for(settings)
    with comps.gpu_slots().acquire() as gpu:
        visual = pipeline.tag_visual(rendition, comps.frame_tagger(device_name(gpu)),
                                     settings.max_tag_frames)
    return visual, pipeline.score_safety(rendition, comps.safety())


@task(name="read-text", retries=1, **CACHED)
def read_text(rendition: Rendition, sha256: str, version: str,
              settings: Settings) -> tuple[tuple[float, str], ...]:
    return pipeline.read_on_screen_text(rendition, components_for(settings).text_reader(),
                                        settings.ocr_frames)


@task(name="describe", retries=2, retry_delay_seconds=[2, 8], **CACHED)
def describe(signals: Signals, rendition: Rendition, sha256: str, version: str,
             settings: Settings) -> Description:
    return pipeline.describe(signals, rendition, components_for(settings).describer())


@task(name="embed-video", retries=2, retry_delay_seconds=[2, 8], **CACHED)
def embed_video(rendition: Rendition, sha256: str, version: str,
                settings: Settings) -> VideoEmbedding:
    """The video through the configured video embedder (Twelve Labs): cached, as it costs."""
    return pipeline.embed_video(rendition, components_for(settings).video_embedder())


@task(name="index", retries=3, retry_delay_seconds=[1, 4, 10],
      retry_condition_fn=retry_if_transient)
def index(video: pipeline.VideoFile, rendition: Rendition, signals: Signals,
          description: Description, warnings: list[str], settings: Settings,
          collection: str | None = None,
          video_embedding: VideoEmbedding | None = None) -> str:
    """Publish (if configured), embed and upsert. Not cached: the payload carries this run's
    source."""
    comps = components_for(settings)
    published = pipeline.publish_rendition(video, rendition, settings)
    point = pipeline.build_point(video, rendition, signals, description, comps.embedder(),
                                 comps.stage_versions(), published, video_embedding)
    point.payload["poster_s3"] = pipeline.publish_poster(video, point.payload["poster_path"],
                                                         settings)
    if warnings:
        point.payload["warnings"] = list(warnings)
    comps.store().upsert([point], collection=collection)
    return point.video_id
