"""The ingest flow: expand sources, run each video through the stages, report.

Videos run concurrently (bounded by the task runner's workers); inside one video
the stages run in order, each a cached, retried task. A failed video is reported
and the batch goes on.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.task_runners import ThreadPoolTaskRunner

from shortlist import pipeline
from shortlist.errors import MediaError, ShortlistError
from shortlist.failures import FailureLog
from shortlist.pipeline import pipeline_fingerprint
from shortlist.report import RunSummary, VideoReport
from shortlist.runlog import OpenRun, append_run, record_interrupted
from shortlist.runtime import components_for
from shortlist.settings import Settings
from shortlist.signals import Signals, on_screen
from shortlist.sources import LocalVideo
from shortlist.store.ids import content_hash
from shortlist.text import one_line
from tasks import stages


@task(name="ingest-video")
def ingest_video(video: LocalVideo, settings: Settings,
                 collection: str | None = None) -> VideoReport:
    """All stages for one video, in order. OCR may fail without failing the video.

    `collection` names a rebuild target (reindex); by default the live catalogue.
    """
    comps = components_for(settings)
    versions = comps.stage_versions()
    timings: dict[str, float] = {}
    warnings: list[str] = []

    def timed(name, fn, *args, optional=False, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not optional:
                raise
            warnings.append(f"{name}: {_reason(exc)}")
            return None
        finally:
            timings[name] = time.perf_counter() - start

    vf = None
    try:
        vf = timed("identify", pipeline.identify, video)
        pipeline.check_duration(vf, settings)
        sha = vf.sha256
        # Stage outputs name files under the data dir, so the data dir is part of every key
        # that reads them: a run against another data dir must not reuse these records.
        t_ver = f"{versions['transcode']}@{settings.media_dir}"
        # The cuts are found in the same decode, but the audio and frames do not depend on
        # them: the stages that read those keep t_ver alone.
        rendition = timed("transcode", stages.transcode, vf, sha,
                          f"{t_ver}|{versions['shots']}", settings)
        keyed = {"sha256": sha, "settings": settings}
        audio, transcript = timed(
            "listen", stages.listen, rendition,
            version=f"{t_ver}|{versions['audio']}|{versions['asr']}", **keyed)
        visual, nsfw = timed("look", stages.look, rendition,
                             version=f"{t_ver}|{versions['visual']}|{versions['safety']}",
                             **keyed)
        ocr = timed("read-text", stages.read_text, rendition, optional=True,
                    version=f"{t_ver}|{versions['ocr']}", **keyed)
        signals = Signals(vf.info.duration_s, transcript, visual, audio, nsfw_score=nsfw,
                          **on_screen(ocr))
        upstream = "|".join(versions[k] for k in
                            ("transcode", "asr", "visual", "audio", "ocr", "safety"))
        description = timed("describe", stages.describe, signals, rendition,
                            version=f"{upstream}|{versions['describe']}", **keyed)
        video_embedding = None
        if comps.video_embedder() is not None:
            video_embedding = timed("embed-video", stages.embed_video, rendition,
                                    version=f"{t_ver}|{versions['video_embed']}", **keyed)
        timed("index", stages.index, vf, rendition, signals, description, warnings, settings,
              collection, video_embedding)
        FailureLog(settings.data_dir / "failures.json").clear(video.source)
        return VideoReport(video.source, "ok", vf.video_id, vf.info.duration_s,
                           description.title, "", timings, tuple(warnings))
    except Exception as exc:
        reason = _reason(exc)
        sha = vf.sha256 if vf else _safe_hash(video.path)
        if isinstance(exc, MediaError):
            # The file itself: reruns skip it until it or the pipeline changes. Anything
            # else (a store or server down, a refused key) is retried by the next run.
            FailureLog(settings.data_dir / "failures.json").record(
                video.source, sha, pipeline_fingerprint(versions), reason)
        return VideoReport(video.source, "failed", vf.video_id if vf else None,
                           vf.info.duration_s if vf else 0.0, "", reason, timings,
                           tuple(warnings))


@flow(name="ingest", task_runner=ThreadPoolTaskRunner(max_workers=2))
def ingest(sources: list[str], profile: str | None = None,
           prior: list[VideoReport] | None = None) -> RunSummary:
    """Ingest videos from paths, folders, http(s) URLs and s3:// keys into the catalogue.

    `prior` carries reports the caller settled before the run (unchanged videos), so
    the summary covers everything that was asked for.
    """
    settings = Settings.load(profile=profile)
    logger = get_run_logger()
    started = time.perf_counter()
    if killed := record_interrupted(settings.data_dir, settings.run_log_path):
        logger.warning("%d earlier runs were killed: written to runs.csv as interrupted", killed)
    open_run = OpenRun(settings.data_dir, sources)
    try:
        return _ingest(sources, settings, logger, started, list(prior or ()), open_run)
    finally:
        open_run.close()


def _ingest(sources: list[str], settings: Settings, logger, started: float,
            reports: list[VideoReport], open_run: OpenRun) -> RunSummary:
    videos: list[LocalVideo] = []
    for source in sources:
        try:
            found, skipped = stages.fetch_source(source, settings)
            videos += found
            reports += [VideoReport(source, "failed", error=problem) for problem in skipped]
        except Exception as exc:
            reports.append(VideoReport(source, "failed", error=_reason(exc)))
    logger.info("%d videos from %d sources", len(videos), len(sources))

    progress = create_progress_artifact(0.0, description="videos processed")
    futures = [ingest_video.submit(v, settings) for v in videos]
    for done, fut in enumerate(futures, start=1):
        report = fut.result()
        reports.append(report)
        open_run.done(report.row())
        _print_progress(done, len(futures), report)
        update_progress_artifact(progress, 100.0 * done / max(1, len(futures)))
        if report.status == "failed":
            logger.warning("failed %s: %s", report.source, report.error)
    if not futures:
        update_progress_artifact(progress, 100.0)

    summary = RunSummary(tuple(reports), time.perf_counter() - started)
    create_table_artifact(
        key="ingest-videos", description="per video: status, duration, seconds per stage, error",
        table=[{**r.row(), "stage_seconds": ", ".join(f"{k}={v:.2f}" for k, v in
                                                      r.stage_seconds.items())}
               for r in summary.reports])
    create_markdown_artifact(key="ingest-summary", markdown=summary.markdown(),
                             description="videos, minutes of video, realtime factor, failures")
    append_run(settings.run_log_path, summary, run_name="ingest")
    logger.info(summary.text())
    return summary


def _print_progress(done: int, total: int, report: VideoReport) -> None:
    seconds = sum(report.stage_seconds.values())
    detail = report.title if report.status == "ok" else report.error
    print(f"[{done}/{total}] {report.status:6} {one_line(report.source)}  "
          f"{one_line(detail)[:70]}  ({seconds:.1f} s)", flush=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ShortlistError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:400]


def _safe_hash(path: str) -> str:
    try:
        from pathlib import Path

        return content_hash(Path(path))
    except OSError:
        return ""
