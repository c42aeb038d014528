"""Searches while the embedded store builds its index: in a process that does not serve (its
shard closed while a child process builds it; Edge's optimize() in the process itself
before 2026-12-07) against one that serves (a copy indexed by a child process while the
live shard answers), on copies of one unindexed catalogue, same run.

  python bench/index_build_bench.py [--size 20000] [--out bench/results]

A thread searches every 10 ms throughout; what it measures is how long a search waited.
Writes OUT/index_build.json and OUT/index_build.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving_bench import build_catalogue, percentiles  # noqa: E402

# How each store builds: its shard closed while a child process builds it in place (a
# process that does not serve), or a copy built by a child while the live shard answers.
NOT_SERVING = "by a store that does not serve, on its closed shard"
SERVING = "beside it, by a child process"


def searched_during(store, build) -> dict:
    """Run `build()` while a thread searches the store; the searches' waits and the build's
    time."""
    from shortlist.store.records import TEXT

    vector = next(iter(store.vectors([f"{5:016x}"]).values()))[TEXT]
    waits: list[float] = []
    done = threading.Event()

    def search() -> None:
        while not done.is_set():
            started = time.perf_counter()
            store.nearest(vector, TEXT, 10)
            waits.append(time.perf_counter() - started)
            time.sleep(0.01)

    searcher = threading.Thread(target=search)
    searcher.start()
    started = time.perf_counter()
    build()
    build_s = time.perf_counter() - started
    done.set()
    searcher.join()
    return {"build_s": round(build_s, 1), "searches": len(waits),
            "longest_wait_s": round(max(waits), 3), **percentiles(waits)}


def main() -> int:
    from shortlist.store import edge_store
    from shortlist.store.edge_store import EdgeStore

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    results = {"machine": f"{os.cpu_count()} cores", "size": args.size}
    with tempfile.TemporaryDirectory() as tmp:
        catalogue = Path(tmp) / "built"
        threshold, edge_store.OPTIMIZE_AFTER = edge_store.OPTIMIZE_AFTER, 10**9
        # nothing indexed; random vectors, as its figures in bench/RESULTS.md were measured on
        build_catalogue(catalogue, args.size, vectors="random")
        edge_store.OPTIMIZE_AFTER = threshold
        for name, hold in ((NOT_SERVING, False), (SERVING, True)):
            folder = Path(tmp) / name.split()[0]
            shutil.copytree(catalogue, folder)
            store = EdgeStore(folder / "qdrant", hold=hold)
            unindexed = store.unindexed_videos()
            results[name] = {"unindexed_before": unindexed,
                             **searched_during(store, store.optimize),
                             "unindexed_after": store.unindexed_videos()}
            store.close()
            print(json.dumps({name: results[name]}), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "index_build.json").write_text(json.dumps(results, indent=1))
    lines = ["# Index build benchmark", "",
             f"{args.size} unindexed synthetic videos, the embedded store's index built while a "
             f"thread searches every 10 ms, {results['machine']}. Command: "
             "`python bench/index_build_bench.py`.", "",
             "| index built | build s | searches meanwhile | longest search wait s | "
             "search p50/p99 ms | unindexed before / after |", "|---|---|---|---|---|---|"]
    for name in (NOT_SERVING, SERVING):
        r = results[name]
        lines.append(f"| {name} | {r['build_s']} | {r['searches']} | {r['longest_wait_s']} | "
                     f"{r['p50_ms']} / {r['p99_ms']} | {r['unindexed_before']} / "
                     f"{r['unindexed_after']} |")
    (out / "index_build.md").write_text("\n".join(lines) + "\n")
    print((out / "index_build.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
