"""Append each run's per-video metrics to a CSV in the data dir, for trends across runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

from shortlist.report import RunSummary


def append_run(path: Path, summary: RunSummary, run_name: str = "") -> None:
    import pandas as pd

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows = []
    for r in summary.reports:
        row = r.row()
        row["stage_seconds"] = json.dumps(row["stage_seconds"])
        row.update(run=run_name, finished_at=now, run_wall_s=round(summary.wall_s, 3))
        rows.append(row)
    if not rows:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, mode="a", header=not path.exists(), index=False)


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append rows of one kind (say, reindex actions) to their own CSV log."""
    import pandas as pd

    if not rows:
        return
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{**r, "finished_at": now} for r in rows]).to_csv(
        path, mode="a", header=not path.exists(), index=False)


class OpenRun:
    """A run in progress, on disk: `runs-open/<id>.json`, locked while its process lives.

    The lock goes when the process dies, however it dies; the next run finds the file
    unlocked and writes the killed run's videos to the run log as "interrupted" (those it
    had finished keep their own status), so no run is missing from it.
    """

    def __init__(self, data_dir: Path, sources: list[str], run_name: str = "ingest") -> None:
        import fcntl
        import os
        import uuid

        folder = data_dir / "runs-open"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{uuid.uuid4().hex}.json"
        self.record = {"run": run_name, "started_at": _now(), "sources": list(sources),
                       "reports": []}
        self._fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._save()

    def done(self, report_row: dict) -> None:
        """A video finished (any status): kept, so a later kill does not lose it."""
        self.record["reports"].append(report_row)
        self._save()

    def close(self) -> None:
        import os

        self.path.unlink(missing_ok=True)
        os.close(self._fd)

    def _save(self) -> None:
        import os

        data = json.dumps(self.record).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)


def record_interrupted(data_dir: Path, run_log: Path) -> int:
    """Write the runs whose process died to the run log; returns how many there were."""
    import fcntl
    import os

    from shortlist.report import VideoReport

    found = 0
    for marker in sorted((data_dir / "runs-open").glob("*.json")):
        fd = os.open(marker, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is still running
            try:
                record = json.loads(marker.read_text() or "{}")
            except ValueError:
                record = {}
            reports = [VideoReport(**{**r, "warnings": tuple(filter(None, str(
                r.get("warnings", "")).split("; ")))}) for r in record.get("reports", [])]
            finished = {r.source for r in reports}
            reports += [VideoReport(s, "interrupted", error="the run was killed before this "
                                    f"source was done (started {record.get('started_at')})")
                        for s in record.get("sources", []) if s not in finished]
            append_run(run_log, RunSummary(tuple(reports), 0.0),
                       run_name=f"{record.get('run', 'ingest')} (interrupted)")
            marker.unlink(missing_ok=True)
            found += 1
        finally:
            os.close(fd)
    return found


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
