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
from shortlist.errors import ShortlistError
from shortlist.gpu import device_name
from shortlist.media.transcode import Rendition
from shortlist.models.asr import Transcript
from shortlist.runtime import components_for
from shortlist.settings import Settings
from shortlist.signals import AudioSignals, Description, Signals, VisualSignals
from shortlist.sources import LocalVideo, expand_source
from shortlist.store.qdrant_store import VideoPoint

# Bulky or path-like arguments that must not change the cache key.
STAGE_CACHE = (INPUTS - "settings" - "video" - "rendition" - "signals" - "audio") + TASK_SOURCE


def retry_if_transient(task, task_run, state) -> bool:
    """Bad input (a corrupt file, a 404) fails at once; other errors get the retries."""
    try:
        state.result()
    except ShortlistError:
        return False
    except Exception:
        return True
    return False


CACHED = {"cache_policy": STAGE_CACHE, "persist_result": True,
          "retry_condition_fn": retry_if_transient}


@task(name="fetch-source", retries=2, retry_delay_seconds=[2, 8],
      retry_condition_fn=retry_if_transient)
def fetch_source(source: str, settings: Settings) -> list[LocalVideo]:
    return expand_source(source, settings.downloads_dir)


@task(name="identify")
def identify(video: LocalVideo) -> pipeline.VideoFile:
    return pipeline.identify(video)


@task(name="transcode", tags=["gpu"], **CACHED)
def transcode(video: pipeline.VideoFile, sha256: str, version: str,
              settings: Settings) -> Rendition:
    with components_for(settings).gpu_slots().acquire() as gpu:
        return pipeline.transcode_video(video, settings, gpu)


@task(name="transcribe", tags=["gpu"], retries=1, **CACHED)
def transcribe(rendition: Rendition, audio: AudioSignals | None, sha256: str, version: str,
               settings: Settings) -> Transcript:
    comps = components_for(settings)
    with comps.gpu_slots().acquire() as gpu:
        return pipeline.transcribe_if_speech(rendition, audio,
                                             comps.transcriber(device_name(gpu)))


@task(name="tag-frames", tags=["gpu"], retries=1, **CACHED)
def tag_frames(rendition: Rendition, sha256: str, version: str,
               settings: Settings) -> VisualSignals:
    comps = components_for(settings)
    with comps.gpu_slots().acquire() as gpu:
        return pipeline.tag_visual(rendition, comps.frame_tagger(device_name(gpu)),
                                   settings.max_tag_frames)


@task(name="tag-audio", retries=1, **CACHED)
def tag_audio(rendition: Rendition, sha256: str, version: str,
              settings: Settings) -> AudioSignals | None:
    return pipeline.tag_audio(rendition, components_for(settings).audio_tagger())


@task(name="read-text", retries=1, **CACHED)
def read_text(rendition: Rendition, sha256: str, version: str,
              settings: Settings) -> tuple[str, ...]:
    return pipeline.read_on_screen_text(rendition, components_for(settings).text_reader(),
                                        settings.ocr_frames)


@task(name="score-safety", retries=1, **CACHED)
def score_safety(rendition: Rendition, sha256: str, version: str, settings: Settings) -> float:
    return pipeline.score_safety(rendition, components_for(settings).safety())


@task(name="describe", retries=2, retry_delay_seconds=[2, 8], **CACHED)
def describe(signals: Signals, sha256: str, version: str, settings: Settings) -> Description:
    return pipeline.describe(signals, components_for(settings).describer())


@task(name="embed")
def embed(video: pipeline.VideoFile, rendition: Rendition, signals: Signals,
          description: Description, settings: Settings) -> VideoPoint:
    """Not cached: it is cheap, and the payload carries this run's source and time."""
    comps = components_for(settings)
    return pipeline.build_point(video, rendition, signals, description, comps.embedder(),
                                comps.stage_versions())


@task(name="upsert", retries=3, retry_delay_seconds=[1, 4, 10])
def upsert(point: VideoPoint, settings: Settings) -> str:
    components_for(settings).store().upsert([point])
    return point.video_id
