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
