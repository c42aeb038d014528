"""Whether the embedded engine lets other Python threads run while it answers a query.

  python bench/engine_threads_bench.py [--size 10000] [--out bench/results]

`serve` answers each request on a worker thread. If the engine's binding holds Python's
global lock for a whole query, no other request, and not even the server's event loop, moves
until that query ends, and two queries never run at once, however many threads ask. Measured
on one 384-d space of embedding-like vectors (bench/serving_bench.py), exact best-score
queries (slow enough to see): how often a Python thread that only counts runs during them,
against the same thread while the main one sleeps, and a NumPy matrix product (which releases
the lock) as the control; and the same queries on one thread and on two. Writes
OUT/engine_threads.json and OUT/engine_threads.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving_bench import LATENT_DIM, embedding_like  # noqa: E402


class Ticker:
    """A thread that only counts: its rate is how much of the time Python lets it run."""

    def __init__(self) -> None:
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.count += 1
            time.sleep(0)

    def __enter__(self) -> Ticker:
        self._thread.start()
        time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def rate_during(self, work) -> float:
        start, t = self.count, time.perf_counter()
        work()
        return (self.count - start) / (time.perf_counter() - t)


def main() -> int:
    from qdrant_edge import (
        Distance,
        EdgeConfig,
        EdgeShard,
        EdgeVectorParams,
        Point,
        Query,
        QueryRequest,
        RecommendQuery,
        SearchParams,
        UpdateOperation,
    )

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    rng = np.random.default_rng(5)
    rows = embedding_like(rng, rng.normal(size=(args.size, LATENT_DIM)),
                          rng.normal(size=(LATENT_DIM, 384)))
    with tempfile.TemporaryDirectory() as tmp:
        shard = EdgeShard.create(tmp, EdgeConfig(vectors={"t": EdgeVectorParams(
            size=384, distance=Distance.Cosine)}))
        for start in range(0, args.size, 1000):
            shard.update(UpdateOperation.upsert_points([
                Point(id=str(uuid.UUID(int=i + 1)), vector={"t": rows[i].tolist()})
                for i in range(start, min(args.size, start + 1000))]))

        def one_query(i: int) -> None:
            liked = [rows[(i * 16 + j) % args.size].tolist() for j in range(16)]
            shard.query(QueryRequest(limit=80, query=Query.RecommendBestScore(
                RecommendQuery(liked, []), using="t"), params=SearchParams(exact=True),
                with_payload=False, with_vector=False))

        def queries() -> None:
            for i in range(args.queries):
                one_query(i)

        big = rng.normal(size=(1500, 1500))
        with Ticker() as ticker:
            asleep = ticker.rate_during(lambda: time.sleep(0.3))
            engine = ticker.rate_during(queries)
            numpy = ticker.rate_during(lambda: [big @ big for _ in range(3)])
        t = time.perf_counter()
        queries()
        one_thread = time.perf_counter() - t
        with ThreadPoolExecutor(2) as pool:
            t = time.perf_counter()
            list(pool.map(one_query, range(args.queries)))
            two_threads = time.perf_counter() - t
        shard.close()
    results = {"machine": f"{os.cpu_count()} cores", "qdrant_edge": version("qdrant-edge-py"),
               "size": args.size, "queries": args.queries,
               "ticker_per_s": {"main thread asleep": round(asleep),
                                "engine query": round(engine),
                                "NumPy matrix product (control)": round(numpy)},
               "query_ms": round(1000 * one_thread / args.queries, 2),
               "two_threads_speedup": round(one_thread / two_threads, 2)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "engine_threads.json").write_text(json.dumps(results, indent=1))
    ticks = results["ticker_per_s"]
    lines = ["# Engine and Python threads", "",
             f"qdrant-edge-py {results['qdrant_edge']}, {args.size} embedding-like 384-d "
             f"points, exact best-score queries of 16 liked vectors "
             f"({results['query_ms']} ms each), {results['machine']}. "
             "Command: `python bench/engine_threads_bench.py`.", "",
             "| while the main thread runs | a counting thread's rate /s | share of asleep |",
             "|---|---|---|"]
    for name, rate in ticks.items():
        lines.append(f"| {name} | {rate} | {rate / max(1, ticks['main thread asleep']):.3f} |")
    lines += ["", f"The same {args.queries} queries on two threads instead of one: "
              f"{results['two_threads_speedup']}x as fast."]
    (out / "engine_threads.md").write_text("\n".join(lines) + "\n")
    print((out / "engine_threads.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
