"""How the embedded engine's segment layout moves query time: one indexed segment (what a
build leaves today) against one per core, each with and without an unindexed tail.

  python bench/segments_bench.py [--sizes 10000 100000] [--tails 0 0.1 0.25] [--out DIR]

Qdrant Edge searches a shard's segments in parallel, on a pool of one search thread per core,
so a shard of one indexed segment answers on one core. The engine never splits a segment and
its optimizer merges what it indexes into the segment it already has; a segment cap
(`max_segment_size`, in KB of one space's vectors) keeps indexed parts apart. Each layout
here is built that way: its indexed parts written and optimized one after the other, then
the tail written and left unindexed (the store's index-when-a-quarter rule left 0-25% of a
catalogue there; since builds index the tail beside the big segment, 0-6.25%). Queries are
the store's own: a two-preference search's eight rankings in one batch (HNSW_EF, int8
with rescoring) and a recommendation's best-score walks in three spaces (RECOMMEND_EF), on
embedding-like vectors; layouts take turns.

Then what a build does with a tail: the engine's default merges it into the indexed segment
(a build costs the catalogue), while a cap just above that segment's size makes the
optimizer index the tail on its own. Timed: the build, and the search before and after it
(after the build's files are read into memory, as a serving store does before a switch).
Writes OUT/segments.json and OUT/segments.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving_bench import LATENT_DIM, embedding_like  # noqa: E402

# Named as the three spaces a search ranks in, but all flat here: the store's moments hold
# several vectors per video, which this bench leaves out.
SPACES = ("text", "moments", "scene")
DIM = 384


def vector_params():
    from qdrant_edge import Distance, EdgeVectorParams, Memory

    return {s: EdgeVectorParams(size=DIM, distance=Distance.Cosine, memory=Memory.Cold)
            for s in SPACES}


def segment_cap_kb(points: int) -> int:
    """The engine's max_segment_size for segments of about `points` points: it counts KB of
    one space's vectors (a cap counted over all three spaces merged two parts)."""
    return int(points * DIM * 4 / 1024 * 1.05)


def build(path: str, vectors: dict[str, np.ndarray], parts: int, tail: float) -> int:
    """A shard whose first (1 - tail) of the points is indexed in `parts` segments of equal
    size and the rest is left unindexed; returns its segment count."""
    from qdrant_edge import (
        EdgeConfig,
        EdgeOptimizersConfig,
        EdgeShard,
        Point,
        ScalarQuantizationConfig,
        ScalarType,
        UpdateOperation,
    )

    from shortlist.store.edge_store import QUANTILE

    size = len(vectors[SPACES[0]])
    indexed = int(size * (1 - tail))
    part = -(-indexed // parts)
    # Slightly over one part's vectors: a second part is not merged into the first.
    cap_kb = segment_cap_kb(part) if parts > 1 else None
    shard = EdgeShard.create(path, EdgeConfig(
        vectors=vector_params(),
        quantization_config=ScalarQuantizationConfig(ScalarType.Int8, quantile=QUANTILE,
                                                     always_ram=True),
        wal_enabled=False,
        optimizers=EdgeOptimizersConfig(indexing_threshold=1, max_segment_size=cap_kb,
                                        default_segment_number=parts)))

    def write(start: int, stop: int) -> None:
        for at in range(start, stop, 1000):
            shard.update(UpdateOperation.upsert_points([
                Point(id=str(uuid.UUID(int=i + 1)),
                      vector={s: vectors[s][i].tolist() for s in SPACES})
                for i in range(at, min(stop, at + 1000))]))
        shard.flush()

    for start in range(0, indexed, part):
        write(start, min(indexed, start + part))
        shard.optimize()
    write(indexed, size)
    segments = shard.info().segments_count
    shard.close()
    return segments


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--tails", type=float, nargs="+", default=[0.0, 0.1, 0.25])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    results = {"cores": cores,
               "runs": [measure(size, args.tails, args.rounds, cores) for size in args.sizes]}
    write_results(results, Path(args.out))
    return 0


def measure(size: int, tails: list[float], rounds: int, cores: int) -> dict:
    from qdrant_edge import (
        EdgeConfig,
        EdgeOptimizersConfig,
        EdgeShard,
        Fusion,
        Prefetch,
        QuantizationSearchParams,
        Query,
        QueryBatchRequest,
        QueryRequest,
        RecommendQuery,
        SearchParams,
    )

    from shortlist.store.edge_store import (
        HNSW_EF,
        OVERSAMPLING,
        RECOMMEND_EF,
        read_into_page_cache,
    )

    rng = np.random.default_rng(3)
    codes = rng.normal(size=(size, LATENT_DIM))
    vectors = {s: embedding_like(rng, codes, rng.normal(size=(LATENT_DIM, DIM)))
               for s in SPACES}
    def params(ef: int):
        return SearchParams(hnsw_ef=ef, quantization=QuantizationSearchParams(
            rescore=True, oversampling=OVERSAMPLING))

    def near(i: int) -> dict[str, list[float]]:
        return {s: (vectors[s][i] + 0.05 * rng.normal(size=DIM)).tolist() for s in SPACES}

    probes = [near(int(i)) for i in rng.integers(size, size=10)]
    users = [[int(i) for i in rng.integers(size, size=15)] for _ in range(5)]

    def search(shard, q: dict[str, list[float]]) -> None:
        # The whole query in three spaces, two preferences in two each, one more ranking
        # where the keywords would be: a two-preference search's eight.
        using = [*SPACES, *SPACES[:2], *SPACES[:2], SPACES[0]]
        shard.query_batch(QueryBatchRequest([QueryRequest(
            limit=50, query=Query.Nearest(q[s], using=s), params=params(HNSW_EF),
            with_payload=False, with_vector=False) for s in using]))

    def recommend(shard, liked: list[int]) -> None:
        shard.query(QueryRequest(limit=80, prefetches=[Prefetch(
            limit=80, params=params(RECOMMEND_EF), query=Query.RecommendBestScore(
                RecommendQuery([vectors[s][i].tolist() for i in liked[:12]],
                               [vectors[s][i].tolist() for i in liked[12:]]), using=s))
            for s in SPACES], query=Fusion.Rrf(k=60), with_payload=False, with_vector=False))

    results = {"size": size, "layouts": []}
    with tempfile.TemporaryDirectory() as tmp:
        shards = {}
        for tail in tails:
            for parts in (1, cores):
                path = os.path.join(tmp, f"{parts}-{tail}")
                started = time.perf_counter()
                segments = build(path, vectors, parts, tail)
                key = (parts, tail)
                shards[key] = EdgeShard.load(path)
                results["layouts"].append({"indexed_parts": parts, "tail": tail,
                                           "segments": segments,
                                           "build_s": round(time.perf_counter() - started, 1)})
                print(json.dumps(results["layouts"][-1]), flush=True)
        times = {key: ([], []) for key in shards}
        order = list(shards)
        for _ in range(rounds):
            random.shuffle(order)
            for key in order:
                for q in probes:
                    started = time.perf_counter()
                    search(shards[key], q)
                    times[key][0].append(time.perf_counter() - started)
                for liked in users:
                    started = time.perf_counter()
                    recommend(shards[key], liked)
                    times[key][1].append(time.perf_counter() - started)
        for row in results["layouts"]:
            found = times[(row["indexed_parts"], row["tail"])]
            row["search"], row["recommend"] = (percentiles(found[0]), percentiles(found[1]))
        for shard in shards.values():
            shard.close()
        # A build of the largest tail: merged (the default), or indexed on its own.
        tail = max(tails)
        results["tail_builds"] = []
        for name, cap in (("merged into the index (default)", None),
                          ("indexed on its own (capped)", segment_cap_kb(
                              int(size * (1 - tail))))):
            path = os.path.join(tmp, f"build-{cap}")
            build(path, vectors, 1, tail)
            shard = EdgeShard.load(path, cap and EdgeConfig(
                vectors=vector_params(),
                optimizers=EdgeOptimizersConfig(indexing_threshold=1, max_segment_size=cap)))
            row = {"build": name, "tail": tail, "segments_before": shard.info().segments_count,
                   "search_before": timed(search, shard, probes, 5)}
            started = time.perf_counter()
            shard.optimize()
            row["build_s"] = round(time.perf_counter() - started, 1)
            read_into_page_cache(Path(path), 60.0)  # as a serving store does before a switch
            row["segments_after"] = shard.info().segments_count
            row["search_after"] = timed(search, shard, probes, 5)
            shard.close()
            results["tail_builds"].append(row)
            print(json.dumps(row), flush=True)
    return results


def timed(query, shard, probes: list, rounds: int) -> float:
    """Median ms of `query(shard, probe)` over `rounds` passes of the probes."""
    samples = []
    for _ in range(rounds):
        for probe in probes:
            started = time.perf_counter()
            query(shard, probe)
            samples.append(time.perf_counter() - started)
    return round(1000 * statistics.median(samples), 2)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(1000 * statistics.median(ordered), 2),
            "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2)}


def pair(p: dict[str, float]) -> str:
    return f"{p['p50_ms']} / {p['p95_ms']}"


def table(columns: list[str], rows: list[list]) -> list[str]:
    """A Markdown table's lines."""
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns),
            *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)]


def write_results(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "segments.json").write_text(json.dumps(results, indent=1))
    lines = ["# Engine segment layout", "",
             f"Qdrant Edge, embedding-like points in three 384-d spaces, {results['cores']} "
             "cores; indexed in one segment or in one per core, with part of the catalogue "
             "left unindexed (the tail); a two-preference search's eight rankings and a "
             "recommendation's best-score walks, layouts taking turns. Command: "
             "`python bench/segments_bench.py`.", "",
             *table(["points", "indexed segments", "unindexed tail", "segments in all",
                     "build s", "search p50/p95 ms", "recommend p50/p95 ms"],
                    [[run["size"], r["indexed_parts"], f"{r['tail']:.0%}", r["segments"],
                      r["build_s"], pair(r["search"]), pair(r["recommend"])]
                     for run in results["runs"] for r in run["layouts"]]),
             "", "A build of the tail (one indexed segment and the largest tail above), the "
             "engine's default against a segment cap just above the indexed segment; search "
             "as above, after the build's files were read in (as `serve` does before a "
             "switch):", "",
             *table(["points", "build", "tail", "segments before -> after", "build s",
                     "search p50 ms before -> after"],
                    [[run["size"], r["build"], f"{r['tail']:.0%}",
                      f"{r['segments_before']} -> {r['segments_after']}", r["build_s"],
                      f"{r['search_before']} -> {r['search_after']}"]
                     for run in results["runs"] for r in run["tail_builds"]])]
    (out / "segments.md").write_text("\n".join(lines) + "\n")
    print((out / "segments.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
