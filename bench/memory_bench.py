"""Peak memory of `shortlist ingest` on a 4-hour file, beside a 10-second one (same run).

  python bench/memory_bench.py [--out bench/results] [--hours 4]

Both files are 2×2-pixel video with pink-noise audio (the shape of the file that once
drove one ingest to 18.8 GB). Each is ingested by the real CLI in a fresh data dir with
the duration limit raised, while /proc is sampled every 0.2 s: the peak of the ingest
process alone and of its whole process tree (ffmpeg and Prefect's server included). A
third run keeps the default limit and shows the refusal. Writes OUT/memory.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from shortlist.processes import descendants  # noqa: E402 - the repository root, just above

PAGE = os.sysconf("SC_PAGE_SIZE")


def make_file(path: Path, seconds: int) -> Path:
    if not path.exists():
        subprocess.run(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i",
                        f"color=c=gray:s=2x2:r=1:d={seconds}", "-f", "lavfi", "-i",
                        f"anoisesrc=d={seconds}:c=pink:r=16000:a=0.05", "-c:v", "libx264",
                        "-preset", "ultrafast", "-c:a", "aac", "-b:a", "16k", "-shortest",
                        str(path)], check=True)
    return path


def rss_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def ingest(video: Path, env_extra: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="shortlist-mem-") as data:
        env = {**os.environ, "SHORTLIST_DATA_DIR": data, **env_extra}
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "shortlist.cli", "ingest", str(video)],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        peaks = {"process": 0, "tree": 0}

        def sample():
            while proc.poll() is None:
                peaks["process"] = max(peaks["process"], rss_of(proc.pid))
                tree = {proc.pid} | descendants(proc.pid)
                peaks["tree"] = max(peaks["tree"], sum(rss_of(p) for p in tree))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out, _ = proc.communicate()
        sampler.join()
        frames = sum(1 for _ in Path(data, "media").rglob("frames/*.jpg"))
        return {"exit": proc.returncode, "wall_s": round(time.perf_counter() - started, 1),
                "peak_process_mb": round(peaks["process"] / 2**20),
                "peak_tree_mb": round(peaks["tree"] / 2**20), "model_frames": frames,
                "output": out.strip().splitlines()[-2:]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--hours", type=float, default=4.0)
    args = ap.parse_args()
    work = ROOT / "bench" / "out"
    work.mkdir(parents=True, exist_ok=True)
    seconds = int(args.hours * 3600)
    long_file = make_file(work / f"noise-{seconds}s.mp4", seconds)
    short_file = make_file(work / "noise-10s.mp4", 10)
    raised = {"SHORTLIST_MAX_DURATION_S": str(seconds + 60)}
    results = {
        "file_mb": round(long_file.stat().st_size / 2**20, 1),
        "short (10 s)": ingest(short_file, raised),
        f"long ({args.hours:g} h)": ingest(long_file, raised),
        f"long ({args.hours:g} h), default limit": ingest(long_file, {}),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "memory.json").write_text(json.dumps(results, indent=1))
    short, long_ = results["short (10 s)"], results[f"long ({args.hours:g} h)"]
    lines = ["## Memory on a long file (`python bench/memory_bench.py`)", "",
             f"A {args.hours:g}-hour file ({results['file_mb']} MB: 2×2-pixel video, pink-noise "
             "audio) against a 10-second one made the same way, each ingested by the CLI in a "
             "fresh data dir (limit raised); /proc sampled every 0.2 s.", "",
             "| file | exit | wall s | peak RSS, ingest process (MB) | peak RSS, process tree "
             "(MB) | model frames written |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        if isinstance(r, dict):
            lines.append(f"| {name} | {r['exit']} | {r['wall_s']} | {r['peak_process_mb']} | "
                         f"{r['peak_tree_mb']} | {r['model_frames']} |")
    lines += ["", f"Long/short peak of the ingest process: "
              f"**{long_['peak_process_mb'] / max(1, short['peak_process_mb']):.2f}×** "
              f"(goal: under 2 GB; it was 18.8 GB before windowed audio and capped frames).",
              "", "With the default limit: " +
              " ".join(results[f"long ({args.hours:g} h), default limit"]["output"])]
    (args.out / "memory.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
