"""The store alone, in-process: search (plain and filtered), similar, recommendations and
nearest latency, and approximate-search recall against exact search, per backend and catalogue
size.

  python bench/store_bench.py [--sizes 10000 100000] [--queries 200] [--out bench/results]

Backends: the embedded engine (Qdrant Edge, before and after its optimizer builds HNSW) and a
Qdrant server as qdrant-client's in-process mode runs it (only up to 10k: it scores every
point in Python). Catalogues are synthetic (random unit vectors, words from a fixed
vocabulary); recommendations are the real `recommend()` for serving_bench's 20 users (15
events each). Writes OUT/store.json and OUT/store.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving_bench import WORDS, add_events  # noqa: E402


def points(size: int, seed: int = 0):
    from shortlist.store.records import DIMENSIONS, VideoPoint, older_layout, with_moments
    from shortlist.text import sparse_weights

    rng = np.random.default_rng(seed)
    for i in range(size):
        vid = f"{i:016x}"
        words = rng.choice(WORDS, size=12).tolist()
        dense = {}
        for name, dim in older_layout(DIMENSIONS).items():
            v = rng.normal(size=dim).astype(np.float32)
            dense[name] = (v / np.linalg.norm(v)).tolist()
        dense = with_moments(dense)  # a short video: one moment, its whole talk
        payload = {"video_id": vid, "title": " ".join(words[:4]), "tags": words[:6],
                   "genres": words[6:8], "duration_s": float(rng.uniform(3, 120)),
                   "language": "en", "has_speech": bool(rng.random() < 0.6),
                   "ingested_at": f"2026-11-{1 + int(rng.integers(0, 20)):02d}T00:00:00Z"}
        yield VideoPoint(vid, payload, dense, sparse_weights([(" ".join(words), 1.0)]))


def fill(store, size: int) -> float:
    started, batch = time.perf_counter(), []
    for p in points(size):
        batch.append(p)
        if len(batch) == 500:
            store.upsert(batch)
            batch = []
    if batch:
        store.upsert(batch)
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(1000 * statistics.median(ordered), 2),
            "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2)}


def latencies(store, size: int, queries: int, events_dir: Path) -> dict:
    """`events_dir`: where the users' events are written (see serving_bench.add_events)."""
    from shortlist.recommend.events import EventLog
    from shortlist.recommend.recommend import recommend
    from shortlist.store.records import TEXT, VISUAL, SearchFilters
    from shortlist.text import query_sparse

    rng = np.random.default_rng(7)
    ids = [f"{i:016x}" for i in range(size)]
    if not (events_dir / "events.db").exists():
        add_events(events_dir, ids)
    events = EventLog(events_dir / "events.db")
    users = itertools.count()

    def vec(n: int) -> list[float]:
        v = rng.normal(size=n)
        return (v / np.linalg.norm(v)).tolist()

    filtered = SearchFilters(has_speech=True, max_duration_s=60)
    calls = {
        "search": lambda: store.hybrid_search([vec(384)], query_sparse("rocket space"),
                                              "rocket space", limit=10),
        "search_filtered": lambda: store.hybrid_search(
            [vec(384)], query_sparse("rocket space"), "rocket space", limit=10,
            filters=filtered),
        "similar": lambda: store.fused_neighbours(
            {VISUAL: vec(256), TEXT: vec(384)}, limit=35, exclude=[ids[0]]),
        "recommend": lambda: recommend(store, events, f"user{next(users) % 20}"),
        "nearest": lambda: store.nearest(vec(384), TEXT, 20),
    }
    out = {}
    for name, call in calls.items():
        call()
        samples = []
        for _ in range(queries):
            t = time.perf_counter()
            call()
            samples.append(time.perf_counter() - t)
        out[name] = percentiles(samples)
    out["filtered_over_plain_p50"] = round(out["search_filtered"]["p50_ms"]
                                           / out["search"]["p50_ms"], 2)
    return out


def recall_at_10(store, size: int, queries: int = 100) -> float:
    """Top 10 by the store against exact cosine top 10, text space."""
    from shortlist.store.records import TEXT

    matrix = np.array([p.dense[TEXT] for p in points(size)], dtype=np.float32)
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(queries):
        q = rng.normal(size=384).astype(np.float32)
        exact = {f"{i:016x}" for i in np.argsort(-(matrix @ q))[:10]}
        hits += len(exact & set(store.nearest(q.tolist(), TEXT, 10)))
    return round(hits / (10 * queries), 4)


def index_recall(size: int, kind: str, queries: int = 100) -> dict:
    """Recall@10 of the dense index alone (one 384-d space, the store's HNSW settings) against
    exact search, on random unit vectors (HNSW's worst case: every point is about as far
    from every other) and on vectors of low intrinsic dimension, as sentence embeddings
    have (a 32-d latent mapped into 384-d, plus noise), queried near catalogue points."""
    import uuid

    from qdrant_edge import (
        Distance,
        EdgeConfig,
        EdgeShard,
        EdgeVectorParams,
        Point,
        Query,
        QueryRequest,
        ScalarQuantizationConfig,
        ScalarType,
        SearchParams,
        UpdateOperation,
    )

    from shortlist.store.edge_store import EXACT_UP_TO, HNSW_EF, QUANTILE, dense_search_params

    rng = np.random.default_rng(3)
    if kind == "random":
        matrix = rng.normal(size=(size, 384))
        probes = rng.normal(size=(queries, 384))
    else:
        latent = rng.normal(size=(32, 384))
        matrix = rng.normal(size=(size, 32)) @ latent + 0.3 * rng.normal(size=(size, 384))
        probes = matrix[rng.choice(size, queries)] + 0.05 * rng.normal(size=(queries, 384))
    matrix = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        shard = EdgeShard.create(tmp, EdgeConfig(vectors={"t": EdgeVectorParams(
            size=384, distance=Distance.Cosine)}, quantization_config=ScalarQuantizationConfig(
                ScalarType.Int8, quantile=QUANTILE, always_ram=True)))  # as the store's
        for start in range(0, size, 1000):
            shard.update(UpdateOperation.upsert_points([
                Point(id=str(uuid.UUID(int=i + 1)), vector={"t": matrix[i].tolist()},
                      payload={"i": i}) for i in range(start, min(size, start + 1000))]))
        shard.optimize()
        out: dict = {"size": size, "vectors": kind, "hnsw_ef": HNSW_EF}
        for name, params in (("exact", SearchParams(exact=True)),
                             ("hnsw", dense_search_params(max(size, EXACT_UP_TO + 1)))):
            hits, samples = 0, []
            for q in probes:
                exact = set(np.argsort(-(matrix @ q.astype(np.float32)))[:10].tolist())
                t = time.perf_counter()
                found = shard.query(QueryRequest(limit=10, query=Query.Nearest(
                    q.tolist(), using="t"), params=params, with_payload=["i"]))
                samples.append(time.perf_counter() - t)
                hits += len(exact & {int(p.payload["i"]) for p in found})
            out[name] = {**percentiles(samples), "recall@10": round(hits / (10 * queries), 3)}
        shard.close()
    return out


def main() -> int:
    from shortlist.store.edge_store import EdgeStore
    from shortlist.store.qdrant_store import QdrantServerStore

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--server-up-to", type=int, default=10000)
    ap.add_argument("--recall-sizes", type=int, nargs="*", default=[10000, 100000])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    results = {"machine": f"{os.cpu_count()} cores", "rows": []}
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            edge = EdgeStore(Path(tmp) / "qdrant", hold=True)
            fill_s = fill(edge, size)
            row = {"backend": "edge (as written)", "size": size, "fill_s": round(fill_s, 1),
                   **latencies(edge, size, args.queries, Path(tmp)),
                   "recall@10": recall_at_10(edge, size)}
            results["rows"].append(row)
            print(json.dumps(row), flush=True)
            started = time.perf_counter()
            edge.optimize()
            row = {"backend": "edge (optimized: HNSW)", "size": size,
                   "optimize_s": round(time.perf_counter() - started, 1),
                   **latencies(edge, size, args.queries, Path(tmp)),
                   "recall@10": recall_at_10(edge, size)}
            results["rows"].append(row)
            print(json.dumps(row), flush=True)
            edge.close()
        if size <= args.server_up_to:
            server = QdrantServerStore(location=":memory:")
            fill_s = fill(server, size)
            with tempfile.TemporaryDirectory() as tmp:
                row = {"backend": "server (in-process stand-in)", "size": size,
                       "fill_s": round(fill_s, 1),
                       **latencies(server, size, min(50, args.queries), Path(tmp)),
                       "recall@10": recall_at_10(server, size)}
            results["rows"].append(row)
            print(json.dumps(row), flush=True)
            server.close()
    results["index_recall"] = []
    for size in args.recall_sizes:
        for kind in ("random", "embedding-like"):
            results["index_recall"].append(index_recall(size, kind))
            print(json.dumps(results["index_recall"][-1]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "store.json").write_text(json.dumps(results, indent=1))
    lines = ["# Store benchmark", "",
             f"The store alone, in-process, synthetic catalogues, {results['machine']}; "
             "search is hybrid (one dense query in three spaces and the keywords, fused), "
             "filtered adds has_speech and a duration range, similar fuses two spaces, "
             "recommend is `recommend()` for 20 users of 15 events each. "
             "Command: `python bench/store_bench.py`.", "",
             "| backend | videos | search p50/p99 ms | filtered p50/p99 ms | filtered/plain p50 "
             "| similar p50/p99 ms | recommend p50/p99 ms | nearest p50/p99 ms "
             "| recall@10 vs exact |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results["rows"]:
        def pair(name: str, r=r) -> str:
            return f"{r[name]['p50_ms']} / {r[name]['p99_ms']}"
        lines.append(f"| {r['backend']} | {r['size']} | {pair('search')} | "
                     f"{pair('search_filtered')} | {r['filtered_over_plain_p50']} | "
                     f"{pair('similar')} | {pair('recommend')} | {pair('nearest')} | "
                     f"{r['recall@10']} |")
    lines += ["", "The dense index alone (`index_recall`: one 384-d space, the store's HNSW "
              "settings), recall@10 against exact search:", "",
              "| videos | vectors | exact p50/p99 ms | HNSW (ef) p50/p99 ms | HNSW recall@10 |",
              "|---|---|---|---|---|"]
    for r in results["index_recall"]:
        lines.append(f"| {r['size']} | {r['vectors']} | {r['exact']['p50_ms']} / "
                     f"{r['exact']['p99_ms']} | ({r['hnsw_ef']}) {r['hnsw']['p50_ms']} / "
                     f"{r['hnsw']['p99_ms']} | {r['hnsw']['recall@10']} |")
    (out / "store.md").write_text("\n".join(lines) + "\n")
    print((out / "store.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
