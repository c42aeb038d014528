"""Reindex: bring the catalogue up to the current stage versions without a moment of
half-built index.

Each point records the stage versions it was made with (payload "models"). A point
whose versions all match is copied as it is; one with a stale stage is redone (the
caller's `redo` runs the stages, whose caches recompute only what changed); one whose
source vanished from a tracked folder or bucket prefix is dropped. Everything lands in
a new collection beside the live one, and the alias moves in one operation at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shortlist.errors import SourceError
from shortlist.settings import expand_user
from shortlist.sources import classify
from shortlist.store.interface import VideoStore

# redo({video_id: source}, target_collection) -> {video_id: error} for those not redone
Redo = Callable[[dict[str, str], str], dict[str, str]]


@dataclass(frozen=True)
class ReindexPlan:
    keep: tuple[str, ...]  # up to date: copied as they are
    redo: dict[str, tuple[str, ...]]  # video id -> its stale stages
    drop: dict[str, str]  # video id -> why
    sources: dict[str, str]  # video id -> source, for every point


@dataclass
class ReindexReport:
    kept: list[str] = field(default_factory=list)
    redone: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # kept as they were, with the reason
    stale_stages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    old_collection: str = ""
    new_collection: str = ""
    seconds: float = 0.0

    def rows(self) -> list[dict[str, Any]]:
        """One row per video: what the reindex did to it and why."""
        rows = [{"video_id": v, "action": "kept", "detail": ""} for v in self.kept]
        rows += [{"video_id": v, "action": "redone",
                  "detail": "stale: " + ", ".join(self.stale_stages.get(v, ()))}
                 for v in self.redone]
        rows += [{"video_id": v, "action": "dropped", "detail": why}
                 for v, why in self.dropped.items()]
        rows += [{"video_id": v, "action": "failed", "detail": why}
                 for v, why in self.failed.items()]
        for row in rows:
            row["source"] = self.sources.get(row["video_id"], "")
        return rows

    def markdown(self) -> str:
        lines = [
            "# Reindex",
            f"- kept as they were: {len(self.kept)}",
            f"- redone (a stage changed): {len(self.redone)}",
            f"- dropped (source gone): {len(self.dropped)}",
            f"- failed (kept unchanged): {len(self.failed)}",
            f"- collection: `{self.old_collection}` → `{self.new_collection}`",
            f"- took {self.seconds:.1f} s",
        ]
        for vid, why in self.failed.items():
            lines.append(f"  - failed `{vid}` ({self.sources.get(vid, '')}): {why}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "redone": self.redone, "dropped": self.dropped,
                "failed": self.failed, "old_collection": self.old_collection,
                "new_collection": self.new_collection, "seconds": round(self.seconds, 3),
                "rows": self.rows()}


def stale_stages(recorded: dict[str, str], current: dict[str, str]) -> tuple[str, ...]:
    """Stages whose configuration changed since the point was made."""
    return tuple(stage for stage, version in current.items() if recorded.get(stage) != version)


class TrackedSources:
    """Answers "is this source still there?" for sources under tracked locations.

    Sources outside every tracked location (a URL, a file ingested from elsewhere) are
    never dropped: nobody promised to watch them.
    """

    def __init__(self, locations: Sequence[str], list_s3_keys: Callable[[str], set[str]]
                 | None = None) -> None:
        self.folders = [_tracked_folder(loc) for loc in locations if classify(loc) == "path"]
        self.prefixes = [loc for loc in locations if classify(loc) == "s3"]
        self._list_s3_keys = list_s3_keys or _list_s3_keys
        self._s3_listing: dict[str, set[str]] = {}

    def vanished(self, source: str) -> bool:
        kind = classify(source)
        if kind == "path":
            path = Path(source)
            return any(path.is_relative_to(f) for f in self.folders) and not path.exists()
        if kind == "s3":
            for prefix in self.prefixes:
                if source.startswith(prefix):
                    if prefix not in self._s3_listing:
                        self._s3_listing[prefix] = self._list_s3_keys(prefix)
                    return source not in self._s3_listing[prefix]
        return False


def _tracked_folder(location: str) -> Path:
    try:
        return expand_user(location).resolve()
    except ValueError as exc:
        raise SourceError(f"cannot read the tracked location {location}: {exc}") from exc


def _list_s3_keys(prefix: str) -> set[str]:
    """Every object under s3://bucket/prefix, as s3:// URLs."""
    from botocore.exceptions import BotoCoreError, ClientError

    from shortlist.media.s3 import list_objects

    try:
        return set(list_objects(prefix))
    except (ClientError, BotoCoreError) as exc:
        # Not "everything is gone": nothing can be told, so nothing is dropped or changed.
        raise SourceError(f"cannot list tracked location {prefix}: {exc}; the catalogue "
                          "was left as it was") from exc


def plan_reindex(payloads: Iterable[dict[str, Any]], current: dict[str, str],
                 tracked: TrackedSources) -> ReindexPlan:
    keep: list[str] = []
    redo: dict[str, tuple[str, ...]] = {}
    drop: dict[str, str] = {}
    sources: dict[str, str] = {}
    for payload in payloads:
        vid, source = payload["video_id"], payload.get("source", "")
        sources[vid] = source
        if tracked.vanished(source):
            drop[vid] = f"source gone: {source}"
            continue
        stale = stale_stages(payload.get("models") or {}, current)
        if stale:
            redo[vid] = stale
        else:
            keep.append(vid)
    return ReindexPlan(tuple(keep), redo, drop, sources)


def rebuild(store: VideoStore, plan: ReindexPlan, redo: Redo) -> ReindexReport:
    """Build the new collection beside the live one and switch the alias to it.

    A video that cannot be redone (its source unreachable, a model error) is copied
    as it was, so a reindex never loses a video it was not asked to drop. Any other
    error abandons the new collection and leaves the live one as it was.
    """
    started = time.perf_counter()
    report = ReindexReport(stale_stages=dict(plan.redo), sources=dict(plan.sources),
                           dropped=dict(plan.drop))
    target = store.begin_rebuild()
    try:
        store.copy_into(target, list(plan.keep))
        report.kept = list(plan.keep)
        failures = redo({v: plan.sources[v] for v in plan.redo}, target) if plan.redo else {}
        report.failed = {v: failures[v] for v in plan.redo if v in failures}
        report.redone = [v for v in plan.redo if v not in failures]
        store.copy_into(target, list(report.failed))
        report.old_collection = store.switch_to(target)
    except BaseException:
        store.abandon_rebuild(target)
        raise
    report.new_collection = target
    report.seconds = time.perf_counter() - started
    return report
