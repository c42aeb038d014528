"""The ingest stages as plain functions: one video in, one catalogue point out.

Prefect tasks in tasks/ wrap these one to one; tests and benchmarks call them directly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shortlist.describe import Describer
from shortlist.errors import VideoRefused
from shortlist.media.frames import distinct_frames, thumbnail
from shortlist.media.poster import write_poster
from shortlist.media.probe import MediaInfo, probe
from shortlist.media.transcode import Rendition, TranscodeOptions, transcode
from shortlist.models.asr import EMPTY, Transcriber, Transcript
from shortlist.models.audio import SPEECH_CLASSES, AudioTagger
from shortlist.models.ocr import TextReader, pick_text_frames
from shortlist.models.safety import SafetyScorer
from shortlist.models.text_embedding import TextEmbedder
from shortlist.models.video_embedding import VideoEmbedder, VideoEmbedding
from shortlist.models.vision import FrameTagger, scene_texts
from shortlist.moments import moment_windows, screen_moments
from shortlist.projection import project
from shortlist.settings import Settings
from shortlist.signals import AudioSignals, Description, Signals, VisualSignals
from shortlist.sources import LocalVideo
from shortlist.store.ids import content_hash, video_id_for
from shortlist.store.records import (
    AUDIO,
    DIMENSIONS,
    MARENGO,
    MARENGO_CLIPS,
    MOMENTS,
    SCENE,
    SPEECH,
    TEXT,
    VISUAL,
    VideoPoint,
    keyword_vector,
)


@dataclass(frozen=True)
class VideoFile:
    video_id: str
    sha256: str
    path: str
    source: str
    size_bytes: int
    info: MediaInfo


def identify(video: LocalVideo) -> VideoFile:
    """Hash and probe a file. Raises MediaError for anything that is not a usable video."""
    path = Path(video.path)
    if not path.exists():
        probe(path)  # raises the usual "file not found"
    stat = path.stat()
    sha, info = _hash_and_probe(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    return VideoFile(video_id_for(sha), sha, str(path), video.source, stat.st_size, info)


@functools.lru_cache(maxsize=4096)
def _hash_and_probe(path: str, size: int, mtime_ns: int) -> tuple[str, MediaInfo]:
    """Once per file version and process: the CLI identifies each file while Prefect starts,
    then again in the flow's identify task (a 60 ms ffprobe process each time)."""
    info = probe(Path(path))  # first: it gives the clearest message for empty or non-video files
    return content_hash(Path(path)), info


def check_duration(video: VideoFile, settings: Settings) -> None:
    """Refuse, by name, a video longer than the catalogue takes (before decoding any of it)."""
    if video.info.duration_s > settings.max_duration_s:
        raise VideoRefused(
            f"the video is {_clock(video.info.duration_s)} long; this catalogue takes videos "
            f"up to {_clock(settings.max_duration_s)} (SHORTLIST_MAX_DURATION_S)")


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}"


def pipeline_fingerprint(stage_versions: dict[str, str]) -> str:
    """One string that changes when any stage's model or configuration changes."""
    blob = json.dumps(stage_versions, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def transcode_options(settings: Settings, gpu: int | None = None) -> TranscodeOptions:
    """The transcoder's options from settings: its fingerprint is the stage's version."""
    return TranscodeOptions(size=settings.rendition_size, fps=settings.rendition_fps,
                            x264_preset=settings.x264_preset,
                            max_model_frames=settings.max_model_frames, gpu_device=gpu)


def transcode_video(video: VideoFile, settings: Settings, gpu: int | None = None) -> Rendition:
    """The renditions, the 1 fps frames and the poster chosen from them."""
    rendition = transcode(Path(video.path), video.info, settings.media_dir / video.video_id,
                          transcode_options(settings, gpu))
    write_poster(rendition.directory, rendition.frame_paths)
    return rendition


def transcode_ahead(paths: list[str], settings: Settings) -> None:
    """Decode videos ahead of the flow (one at a time, errors left for the flow to report).

    Renditions are content-addressed and locked per video, so the flow's transcode task
    then finds them done. The CLI runs this while Prefect starts its server, when one
    core would otherwise sit idle.
    """
    for path in paths:
        try:
            video = identify(LocalVideo(path, path))
            check_duration(video, settings)
            transcode_video(video, settings)
        except Exception:  # noqa: BLE001 - the flow meets the same error and reports it
            continue


def transcribe(rendition: Rendition, transcriber: Transcriber) -> Transcript:
    if rendition.audio_path is None:
        return EMPTY
    return transcriber.transcribe(Path(rendition.audio_path))


def transcribe_if_speech(rendition: Rendition, audio: AudioSignals | None,
                         transcriber: Transcriber) -> Transcript:
    """Skip Whisper when the audio tagger heard no speech at all (music, silence, noise).

    Whisper costs more than every other stage together on short clips, and on music it
    mostly hallucinates lyrics-like text; YAMNet's speech classes are a cheap gate.
    """
    if audio is not None and not has_speech(audio):
        return EMPTY
    return transcribe(rendition, transcriber)


def has_speech(audio: AudioSignals) -> bool:
    speech = max((lb.score for lb in audio.labels if lb.name in SPEECH_CLASSES), default=0.0)
    return audio.speech_ratio >= 0.05 or speech >= 0.1


def tag_visual(rendition: Rendition, tagger: FrameTagger, max_frames: int) -> VisualSignals:
    frames = distinct_frames(rendition.frame_paths, max_frames)
    tags = tagger.tag(frames)
    features_path = Path(rendition.directory) / "visual.npy"
    np.save(features_path, tags.features)
    return VisualSignals(labels=tags.labels, words=tags.words, features_path=str(features_path),
                         model=f"{tagger.name}:{tagger.version}",
                         brightness=mean_brightness(frames), classes=tags.classes)


def tag_audio(rendition: Rendition, tagger: AudioTagger) -> AudioSignals | None:
    if rendition.audio_path is None:
        return None
    tags = tagger.tag(rendition.audio_path)
    scores_path = Path(rendition.directory) / "audio.npy"
    np.save(scores_path, tags.scores)
    return AudioSignals(labels=tags.labels, speech_ratio=tags.speech_ratio,
                        loudness_db=round(tags.loudness_db, 1), scores_path=str(scores_path),
                        model=f"{tagger.name}:{tagger.version}")


def read_on_screen_text(rendition: Rendition, reader: TextReader, count: int,
                        per_minute: bool = True) -> tuple[tuple[float, str], ...]:
    """(second, line) of the text on screen: `count` frames for each started minute, so a
    long video's captions are read through it (each is a moment, moments.py); `count` in
    all without `per_minute` (what the bench compares)."""
    minutes = max(1, math.ceil(rendition.duration_s / 60.0)) if per_minute else 1
    picked = pick_text_frames(rendition.frame_paths, count * minutes)
    index = {path: i for i, path in enumerate(rendition.frame_paths)}
    return tuple(reader.read_timed([(round(index[p] * rendition.frame_interval_s, 2), p)
                                    for p in picked]))


def score_safety(rendition: Rendition, scorer: SafetyScorer, max_frames: int = 3) -> float:
    return scorer.score(distinct_frames(rendition.frame_paths, max_frames))


def describe(signals: Signals, rendition: Rendition, describer: Describer) -> Description:
    return describer.describe(signals, rendition)


def publish_rendition(video: VideoFile, rendition: Rendition, settings: Settings) -> str | None:
    """Copy the rendition to the publish bucket, if one is configured; returns its s3:// URL."""
    if not settings.publish_bucket:
        return None
    from shortlist.media.s3 import publish_file

    return publish_file(Path(rendition.video_path), settings.publish_bucket,
                        f"renditions/{video.video_id}.mp4")


def publish_poster(video: VideoFile, poster: str | None, settings: Settings) -> str | None:
    """Copy the poster beside the published rendition (renditions/ID.jpg), if configured."""
    if not settings.publish_bucket or not poster:
        return None
    from shortlist.media.s3 import publish_file

    return publish_file(Path(poster), settings.publish_bucket,
                        f"renditions/{video.video_id}.jpg", content_type="image/jpeg")


def embed_video(rendition: Rendition, embedder: VideoEmbedder) -> VideoEmbedding:
    """The video itself through a video embedder (Marengo): its playable rendition goes up."""
    return embedder.embed_video(rendition.video_path)


def build_point(video: VideoFile, rendition: Rendition, signals: Signals,
                description: Description, embedder: TextEmbedder,
                stage_versions: dict[str, str], published: str | None = None,
                video_embedding: VideoEmbedding | None = None) -> VideoPoint:
    """Vectors and payload for one video."""
    transcript = signals.transcript or EMPTY
    ocr_text = " ".join(signals.ocr_lines)
    dense = embed_signals(description, transcript.text, ocr_text,
                          signals.visual.classes if signals.visual else (), embedder)
    # Written at transcode; a rendition cached from before posters gets one here.
    poster = write_poster(rendition.directory, rendition.frame_paths)
    moments, on_screen, moment_vectors = embed_moments(
        rendition, transcript, signals.screen_text, embedder, with_vectors=SPEECH in dense)
    if SPEECH in dense:  # the whole talk, then each moment: a video scores as its best one
        dense[MOMENTS] = [dense[SPEECH], *moment_vectors]
    if signals.visual:
        dense[VISUAL] = project(np.load(signals.visual.features_path), DIMENSIONS[VISUAL],
                                seed=1).tolist()
    if signals.audio:
        dense[AUDIO] = project(np.load(signals.audio.scores_path), DIMENSIONS[AUDIO],
                               seed=2).tolist()
    payload = {
        "video_id": video.video_id,
        "sha256": video.sha256,
        "source": video.source,
        "url": Path(rendition.video_path).resolve().as_uri(),
        "rendition_s3": published,
        "rendition_path": rendition.video_path,
        "poster_path": str(poster) if poster else None,
        "duration_s": round(video.info.duration_s, 3),
        "size_bytes": video.size_bytes,
        "width": video.info.width,
        "height": video.info.height,
        "language": transcript.language or None,
        "has_speech": bool(transcript.text),
        "title": description.title,
        "description": description.description,
        "tags": list(description.tags),
        "genres": list(description.genres),
        "moods": list(description.moods),
        "transcript": transcript.text,
        "segments": [[s.start, s.end, s.text] for s in transcript.segments],
        "moments": [list(m) for m in moments],
        "screen_moments": [list(m) for m in on_screen],
        "ocr_text": ocr_text,
        "visual_labels": [lb.as_dict() for lb in signals.visual.labels] if signals.visual else [],
        "visual_classes": [list(c) for c in signals.visual.classes] if signals.visual else [],
        "visual_words": [lb.as_dict() for lb in signals.visual.words] if signals.visual else [],
        "audio_labels": [lb.as_dict() for lb in signals.audio.labels] if signals.audio else [],
        "nsfw_score": signals.nsfw_score,
        "models": dict(stage_versions),
        "pipeline_fingerprint": pipeline_fingerprint(stage_versions),
        "describer": description.describer,
        "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "status": "ok",
    }
    if video_embedding is not None:
        dense[MARENGO] = list(video_embedding.vector)
        # The whole video, then each clip: search ranks clips, and a result without a
        # spoken moment can open at its best clip (moments.locate_clip).
        dense[MARENGO_CLIPS] = [dense[MARENGO], *(list(c.vector) for c in video_embedding.clips)]
        payload["video_clips"] = [[c.start_s, c.end_s] for c in video_embedding.clips]
    return VideoPoint(video.video_id, payload, dense, keyword_vector(payload))


def embed_moments(rendition: Rendition, transcript: Transcript,
                  screen_text: Sequence[tuple[float, str]], embedder: TextEmbedder,
                  with_vectors: bool = True) -> tuple[list, list, list[list[float]]]:
    """The transcript's moment windows and the on-screen text's moments (shortlist/moments.py)
    and, when `with_vectors` (a video with speech: the store's moments space opens with the
    whole talk's vector), their vectors in that order. No windows for a video of one window,
    which is its own moment."""
    cuts = rendition.shots or ()
    spoken = moment_windows([(s.start, s.end, s.text) for s in transcript.segments], cuts)
    spoken = spoken if len(spoken) > 1 else []
    screen = screen_moments(screen_text, cuts, rendition.duration_s,
                            [(s.start, s.end, s.text) for s in transcript.segments])
    texts = [text for _, _, text in [*spoken, *screen]]
    if not texts or not with_vectors:
        return spoken, screen, []
    vectors = embedder.embed(texts).astype(np.float32)
    return spoken, screen, [_unit(v) for v in vectors]


def embed_signals(description: Description, transcript: str, ocr_text: str,
                  classes, embedder: TextEmbedder) -> dict[str, list[float]]:
    """One MiniLM vector per signal (see store/records.py): a signal that is absent has no
    vector, rather than a vector of nothing."""
    head = ". ".join(filter(None, [description.title, ", ".join(description.genres),
                                   ", ".join(description.tags), ocr_text]))
    chunks = transcript_chunks(transcript)
    scenes = scene_texts(classes)
    vecs = embedder.embed([head, *chunks, *(text for text, _ in scenes)])
    dense = {TEXT: _unit(vecs[0])}
    if chunks:
        dense[SPEECH] = _unit(vecs[1:1 + len(chunks)].mean(axis=0))
    if scenes:
        weights = np.array([score for _, score in scenes], dtype=np.float32)
        dense[SCENE] = _unit((vecs[1 + len(chunks):] * weights[:, None]).sum(axis=0))
    return dense


def _unit(v: np.ndarray) -> list[float]:
    return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32).tolist()


def transcript_chunks(text: str, words_per_chunk: int = 150, max_chunks: int = 4) -> list[str]:
    words = text.split()
    return [" ".join(words[i:i + words_per_chunk])
            for i in range(0, min(len(words), words_per_chunk * max_chunks), words_per_chunk)]


def mean_brightness(frame_paths: list[str]) -> float:
    values = [float(thumbnail(p).mean()) / 255.0 for p in frame_paths]
    return round(float(np.mean(values)), 3) if values else 0.0
