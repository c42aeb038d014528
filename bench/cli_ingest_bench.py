"""What a user waits for when `shortlist ingest` gets one short clip: the command's own
start (Python, Prefect and its server, the models) more than the clip's work.

  python bench/cli_ingest_bench.py [--baseline-tree DIR] [--runs 4] [--out bench/results]

Each run ingests the same clip into a fresh data dir, end to end, in a new process. With
--baseline-tree (a checkout of an earlier commit, e.g. `git worktree add /tmp/base HEAD~1`)
that tree's code runs too, the two taking turns, so a drift of the machine's speed touches
both alike; the ratio is this tree's median over the baseline's. Writes OUT/cli_ingest.json
and OUT/cli_ingest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "samples" / "corpus" / "photo-rocket.mp4"  # 6 s, pictures and music


def ingest_once(tree: Path, clip: Path) -> float:
    """Wall seconds of `shortlist ingest CLIP` run from `tree`'s code into a fresh data dir."""
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "SHORTLIST_DATA_DIR": data, "PYTHONPATH": str(tree)}
        env.pop("PREFECT_API_URL", None)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "shortlist.cli", "ingest", str(clip)],
                              cwd=tree, env=env, capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"ingest from {tree} failed:\n{proc.stdout}\n{proc.stderr}")
        return seconds


def commit_of(tree: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tree), *args], capture_output=True,
                              text=True).stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no")
    return (git("rev-parse", "--short", "HEAD") or "no git") + (" + changes" if changed else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-tree", type=Path)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    if not CLIP.exists():
        raise SystemExit(f"{CLIP} is missing: run `make corpus`")
    trees = {f"this tree ({commit_of(ROOT)})": ROOT}
    if args.baseline_tree:
        trees = {f"baseline ({commit_of(args.baseline_tree)})": args.baseline_tree.resolve(),
                 **trees}
    ingest_once(ROOT, CLIP)  # warm the disk cache and the compiled models, counted nowhere
    seconds: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.runs):
        for name, tree in trees.items():
            seconds[name].append(round(ingest_once(tree, CLIP), 2))
            print(name, seconds[name][-1], flush=True)
    medians = {name: round(statistics.median(s), 2) for name, s in seconds.items()}
    result = {"clip": CLIP.name, "runs": seconds, "median_s": medians,
              "baseline_tree": str(args.baseline_tree) if args.baseline_tree else None}
    if args.baseline_tree:
        base, this = medians.values()
        result["ratio"] = round(this / base, 2)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cli_ingest.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# One clip through `shortlist ingest`", "",
             f"`{CLIP.name}` (6 s) into a fresh data dir, a new process each run, 2 cores; "
             f"the trees take turns. Command: `python bench/cli_ingest_bench.py"
             f"{' --baseline-tree DIR' if args.baseline_tree else ''}`.", "",
             "| code | runs, s | median s |", "|---|---|---|"]
    lines += [f"| {name} | {', '.join(map(str, s))} | {medians[name]} |"
              for name, s in seconds.items()]
    if args.baseline_tree:
        lines += ["", f"This tree / baseline: {result['ratio']}x."]
    (args.out / "cli_ingest.md").write_text("\n".join(lines) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
