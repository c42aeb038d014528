"""What an ingest run did, per video and in total: for the CLI, the artifacts and the run log."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from shortlist.text import one_line


@dataclass(frozen=True)
class VideoReport:
    source: str
    status: str  # "ok", "failed" or "unchanged" (already ingested with the same configuration)
    video_id: str | None = None
    duration_s: float = 0.0
    title: str = ""
    error: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def row(self) -> dict:
        d = asdict(self)
        d["stage_seconds"] = {k: round(v, 3) for k, v in self.stage_seconds.items()}
        d["warnings"] = "; ".join(self.warnings)
        return d


@dataclass(frozen=True)
class RunSummary:
    reports: tuple[VideoReport, ...]
    wall_s: float

    @property
    def failed(self) -> tuple[VideoReport, ...]:
        return tuple(r for r in self.reports if r.status == "failed")

    @property
    def ingested(self) -> tuple[VideoReport, ...]:
        return tuple(r for r in self.reports if r.status == "ok")

    @property
    def unchanged(self) -> tuple[VideoReport, ...]:
        return tuple(r for r in self.reports if r.status == "unchanged")

    @property
    def video_seconds(self) -> float:
        return sum(r.duration_s for r in self.ingested)

    @property
    def realtime_factor(self) -> float:
        return self.video_seconds / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def markdown(self) -> str:
        lines = [
            "# Ingest summary", "",
            "| videos ingested | unchanged | failed | minutes of video | wall s | realtime × |",
            "|---|---|---|---|---|---|",
            f"| {len(self.ingested)} | {len(self.unchanged)} | {len(self.failed)} "
            f"| {self.video_seconds / 60:.1f} | {self.wall_s:.1f} | {self.realtime_factor:.1f} |",
        ]
        totals: dict[str, float] = {}
        for r in self.ingested:
            for k, v in r.stage_seconds.items():
                totals[k] = totals.get(k, 0.0) + v
        if totals:
            lines += ["", "## Seconds per stage (summed over videos)", "",
                      "| stage | seconds |", "|---|---|"]
            lines += [f"| {k} | {v:.2f} |" for k, v in totals.items()]
        if self.failed:
            lines += ["", "## Failures", ""]
            lines += [f"- `{r.source}`: {r.error}" for r in self.failed]
        return "\n".join(lines) + "\n"

    def text(self) -> str:
        """The summary printed on the terminal."""
        out = [f"ingested {len(self.ingested)}, unchanged {len(self.unchanged)}, "
               f"failed {len(self.failed)} — {self.video_seconds:.0f} s of video in "
               f"{self.wall_s:.1f} s ({self.realtime_factor:.1f}× realtime)"]
        for r in self.failed:
            out.append(f"  FAILED {one_line(r.source)}: {one_line(r.error)}")
        return "\n".join(out)
