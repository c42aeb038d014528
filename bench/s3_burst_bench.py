"""A burst of uploads through the whole S3 route: every one ingested, one flow run at a time.

  python bench/s3_burst_bench.py [--uploads 50] [--out bench/results]

Runs the loopback deployment of tests/loopback.py (moto S3/SQS, Prefect server and process
worker, `prefect deploy --all`, the S3 bridge), uploads N distinct short videos at once, and
waits until all N are in the catalogue. Samples how many flow runs run at the same time
(the deployment's concurrency limit says one: the embedded store admits one process).
Writes OUT/s3_burst.json and OUT/s3_burst.md. Takes several minutes: not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_clips(folder: Path, count: int) -> list[Path]:
    """Distinct 2-second clips (a hue and a number each), so each is its own video."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(count):
        path = folder / f"burst-{i:03d}.mp4"
        subprocess.run(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i",
                        f"testsrc=s=320x240:r=10:d=2,hue=h={i * 7}", "-vf",
                        f"drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf:"
                        f"text='{i}':fontsize=60:fontcolor=white:x=20:y=20",
                        "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True)
        clips.append(path)
    return clips


def indexed_sources(data: Path) -> set[str]:
    """Sources in the catalogue (the store is opened between the ingest's writes)."""
    from shortlist.store.edge_store import EdgeStore

    if not (data / "qdrant" / "videos.json").exists():
        return set()
    store = EdgeStore(data / "qdrant", wait_s=120)
    try:
        return {p.get("source", "") for p in store.scroll()}
    finally:
        store.close()


def flow_runs(env: dict, state: str | None = None) -> int:
    """Runs of the ingest-s3-object flow (in `state`, or all; each has an `ingest` subflow
    run, not counted)."""
    cmd = [str(Path(sys.executable).parent / "prefect"), "flow-run", "ls",
           "--flow-name", "ingest-s3-object", "--limit", "200"]
    if state:
        cmd += ["--state", state]
    out = subprocess.run(cmd, env={**env, "COLUMNS": "250"}, capture_output=True, text=True)
    states = ("RUNNING",) if state else ("COMPLETED", "RUNNING", "FAILED", "CRASHED",
                                          "SCHEDULED", "PENDING", "LATE")
    return sum(any(s in line for s in states) for line in out.stdout.splitlines())


def main() -> int:
    from tests.loopback import loopback_stack

    ap = argparse.ArgumentParser()
    ap.add_argument("--uploads", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        clips = make_clips(tmp_path / "clips", args.uploads)
        with loopback_stack(tmp_path) as stack:
            started = time.perf_counter()
            for clip in clips:
                stack.s3.upload_file(str(clip), "uploads", f"burst/{clip.name}")
            uploaded_s = time.perf_counter() - started
            wanted = {f"s3://uploads/burst/{c.name}" for c in clips}
            most_running, done = 0, set()
            while time.perf_counter() - started < args.timeout:
                most_running = max(most_running, flow_runs(stack.env, "Running"))
                done = wanted & indexed_sources(stack.data)
                if done == wanted:
                    break
                time.sleep(2)
            wall_s = time.perf_counter() - started
            runs = flow_runs(stack.env)
    result = {"uploads": args.uploads, "ingested": len(done), "upload_s": round(uploaded_s, 1),
              "wall_s": round(wall_s, 1), "per_upload_s": round(wall_s / args.uploads, 2),
              "most_flow_runs_running_at_once": most_running, "flow_runs": runs}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "s3_burst.json").write_text(json.dumps(result, indent=1))
    (out / "s3_burst.md").write_text(
        "# S3 upload burst\n\n"
        f"{args.uploads} distinct 2-second videos uploaded at once to a bucket whose "
        "notifications go to SQS; `shortlist s3-bridge` turns them into Prefect events that "
        "trigger the `ingest-s3-object` deployment (concurrency limit 1) on a process worker. "
        "Command: `python bench/s3_burst_bench.py`.\n\n"
        f"- ingested: {len(done)} of {args.uploads}\n"
        f"- from the first upload to the last video searchable: {wall_s:.0f} s "
        f"({wall_s / args.uploads:.1f} s per upload)\n"
        f"- `ingest-s3-object` flow runs: {runs} (the bridge names the objects of a burst in "
        "one event; each run starts a process and loads its models, ~20 s on 2 cores)\n"
        "- most `ingest-s3-object` runs running at once (sampled every ~2 s): "
        f"{most_running}\n"
        "- for comparison, an earlier run of this bench before the bridge gathered bursts "
        "(one event and one flow run per upload, commit 6884553): 1166 s, 23.3 s per upload\n")
    print((out / "s3_burst.md").read_text())
    return 0 if len(done) == args.uploads else 1


if __name__ == "__main__":
    sys.exit(main())
