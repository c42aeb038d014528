"""Before starting the flow: which local files are already in the catalogue, unchanged?

A rerun over the same folder then costs one hash per file instead of a Prefect
start-up and a task run per stage. Known-bad files under the same configuration are
reported again without being retried; URLs and s3:// sources always go to the flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shortlist.errors import SourceError
from shortlist.failures import FailureLog
from shortlist.report import VideoReport
from shortlist.sources import classify, expand_source
from shortlist.store.ids import content_hash, video_id_for
from shortlist.store.interface import VideoStore


@dataclass(frozen=True)
class IngestPlan:
    pending: tuple[str, ...]  # sources (files or remote) the flow must process
    settled: tuple[VideoReport, ...]  # unchanged videos, known failures, missing paths


def plan_ingest(sources: list[str], store: VideoStore, failures: FailureLog,
                fingerprint: str, downloads_dir: Path) -> IngestPlan:
    pending: list[str] = []
    settled: list[VideoReport] = []
    for source in sources:
        if classify(source) != "path":
            pending.append(source)
            continue
        skipped: list[str] = []
        try:
            videos = expand_source(source, downloads_dir, skipped)
        except SourceError as exc:
            settled.append(VideoReport(source, "failed", error=str(exc)))
            continue
        settled += [VideoReport(source, "failed", error=problem) for problem in skipped]
        for video in videos:
            try:
                sha = content_hash(Path(video.path))
            except OSError as exc:
                settled.append(VideoReport(video.source, "failed", error=f"cannot read: {exc}"))
                continue
            known = store.get(video_id_for(sha))
            if known and known.get("pipeline_fingerprint") == fingerprint:
                if known.get("source") != video.source:
                    pending.append(video.path)  # same bytes, new place: refresh the payload
                    continue
                settled.append(VideoReport(video.source, "unchanged", known["video_id"],
                                           float(known.get("duration_s", 0.0)),
                                           known.get("title", "")))
                continue
            error = failures.lookup(video.source, sha, fingerprint)
            if error:
                settled.append(VideoReport(video.source, "failed", error=error))
            else:
                pending.append(video.path)
    return IngestPlan(tuple(pending), tuple(settled))
