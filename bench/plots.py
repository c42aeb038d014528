"""PNG plots of the benchmark results (bench/results/*.json -> bench/results/*.png)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ingest = json.loads((RESULTS / "ingest.json").read_text())
    video_s = ingest["floor"]["video_seconds"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    stages = ingest["floor"]["stage_seconds"]
    left.barh(list(stages), list(stages.values()), color="#4c72b0")
    left.set_xlabel("seconds for the whole corpus (alone, sequential)")
    left.set_title("Ingest: where the time goes")
    left.invert_yaxis()
    runs = {"naive pipeline": ingest["naive"]["wall_s"], "floor (sum of stages)":
            ingest["floor"]["sum_s"], "ceiling\n(all cores)":
            ingest["floor"].get("ideal_wall_s"), "shortlist ingest": ingest["cli"]["first_run_s"],
            "rerun": ingest["cli"]["rerun_s"]}
    runs = {k: v for k, v in runs.items() if v}  # results from before the ceiling was measured
    right.bar(list(runs), [video_s / max(v, 1e-6) for v in runs.values()], color="#55a868")
    naive_x = video_s / ingest["naive"]["wall_s"]
    right.axhline(3 * naive_x, color="#c44e52", linestyle="--", linewidth=1)
    right.text(-0.4, 3 * naive_x, "3× naive", color="#c44e52", ha="left", va="bottom",
               fontsize=8)
    right.set_ylabel("× realtime (higher is better)")
    right.set_yscale("log")
    right.set_title(f"Ingest throughput, {video_s:.0f} s of video")
    right.tick_params(axis="x", rotation=15)
    fig.tight_layout()
    fig.savefig(RESULTS / "ingest.png", dpi=110)

    serving = json.loads((RESULTS / "serving.json").read_text())
    sizes = sorted(int(s) for s in serving["sizes"])
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in ("search", "search_filtered", "recommend", "similar"):
        ax.plot(sizes, [serving["sizes"][str(s)]["http"][name]["p99_ms"] for s in sizes],
                marker="o", label=f"{name} p99")
    ax.axhline(50, color="grey", linestyle="--", label="search p99 goal (50 ms)")
    ax.set_xscale("log")
    ax.set_xlabel("videos in the embedded store")
    ax.set_ylabel("ms over HTTP")
    ax.set_title("Serving latency against catalogue size")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "serving.png", dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
