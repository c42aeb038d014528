"""How much of what a recommendation would show, if every video were scored, it finds.

  python bench/recommend_recall_bench.py [--sizes 300 2000 10000] [--rounds 8] [--out bench/results]

A recommendation asks the engine for candidates (best-score walks near the liked videos,
shortlist/store/edge_store.py) and scores only those by their nearest liked videos
(shortlist/recommend/interests.py). Here the same code also runs with every video as a
candidate, and recall@10 is the share of that list's ten the real one holds: what the
candidate step costs in relevance, as HNSW recall@10 is for a search. Beside it, the knobs
that trade it for time (candidates per slot, the walk's width), in-process, same run. The
catalogue and users are serving_bench's (embedding-like vectors, 20 users with 15 events
each). Writes OUT/recommend_recall.json and OUT/recommend_recall.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving_bench import add_events, build_catalogue, percentiles  # noqa: E402
from shortlist.recommend import recommend as recommend_module  # noqa: E402
from shortlist.store import edge_store  # noqa: E402
from shortlist.store.records import Hit  # noqa: E402


class EveryVideoAsCandidate:
    """The store, except that a recommendation's candidates are all the videos."""

    def __init__(self, store) -> None:
        self._store = store
        self._payloads = {p["video_id"]: p for p in store.scroll()}
        ids = list(self._payloads)
        self._vectors = {}
        for start in range(0, len(ids), 500):
            self._vectors.update(store.vectors(ids[start:start + 500]))

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def liked_neighbours(self, positives, negatives, weights, limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]:
        left_out = set(exclude)
        return [Hit(v, 0.0, p, self._vectors.get(v)) for v, p in self._payloads.items()
                if v not in left_out]


VARIANTS = {  # name: (candidates per slot, walk width)
    "as configured": (recommend_module.CANDIDATES_PER_SLOT, edge_store.RECOMMEND_EF),
    "1 candidate per slot": (1, edge_store.RECOMMEND_EF),
    "3 candidates per slot": (3, edge_store.RECOMMEND_EF),
    "4 candidates per slot": (4, edge_store.RECOMMEND_EF),
    "walk width 64": (recommend_module.CANDIDATES_PER_SLOT, 64),
    "walk width 256": (recommend_module.CANDIDATES_PER_SLOT, 256),
    "walk width 512": (recommend_module.CANDIDATES_PER_SLOT, 512),
}


def measure(size: int, rounds: int) -> list[dict]:
    """Each variant's latency and recall@10 on a catalogue of `size` videos."""
    from shortlist.recommend.events import EventLog

    configured = (recommend_module.CANDIDATES_PER_SLOT, edge_store.RECOMMEND_EF)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        ids = build_catalogue(data, size)
        add_events(data, ids)
        events = EventLog(data / "events.db")
        store = edge_store.EdgeStore(data / "qdrant", hold=True)
        users = [f"user{u}" for u in range(20)]  # add_events' users
        everything = EveryVideoAsCandidate(store)
        gc.freeze()  # its vectors are millions of objects: a full collection would time them
        ideal = {u: [h.video_id for h in recommend_module.recommend(everything, events, u)]
                 for u in users}
        # The walk's width only matters where the store walks HNSW (EXACT_UP_TO).
        variants = {name: v for name, v in VARIANTS.items()
                    if size > edge_store.EXACT_UP_TO or v[1] == edge_store.RECOMMEND_EF}
        found = dict.fromkeys(variants, 0.0)
        samples: dict[str, list[float]] = {name: [] for name in variants}
        # Variants take turns within each round, so a drift of the machine's speed during
        # the run touches them all alike; the first round warms up and counts recall.
        for round_ in range(rounds + 1):
            for name, (per_slot, ef) in variants.items():
                recommend_module.CANDIDATES_PER_SLOT, edge_store.RECOMMEND_EF = per_slot, ef
                for u in users:
                    t = time.perf_counter()
                    hits = recommend_module.recommend(store, events, u)
                    if round_:
                        samples[name].append(time.perf_counter() - t)
                    else:
                        found[name] += len({h.video_id for h in hits} & set(ideal[u])) / max(
                            1, len(ideal[u]))
        for name, (per_slot, ef) in variants.items():
            rows.append({"size": size, "variant": name, "candidates_per_slot": per_slot,
                         "walk_width": ef, **percentiles(samples[name]),
                         "recall@10": round(found[name] / len(users), 3)})
            print(json.dumps(rows[-1]), flush=True)
        recommend_module.CANDIDATES_PER_SLOT, edge_store.RECOMMEND_EF = configured
        store.close()
        del everything
        gc.unfreeze()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 2000, 10000])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    rows = [row for size in args.sizes for row in measure(size, args.rounds)]
    results = {"machine": f"{os.cpu_count()} cores", "users": 20, "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "recommend_recall.json").write_text(json.dumps(results, indent=1))
    lines = ["# Recommendation recall", "",
             "Embedding-like catalogues, 20 users (serving_bench's), "
             "recall@10 of each user's recommendations against the same code with every "
             f"video as a candidate; recommend() in-process, {args.rounds} rounds, "
             f"{results['machine']}. Command: `python bench/recommend_recall_bench.py`.", "",
             "| videos | variant | candidates per slot | walk width (ef) | p50 ms | p99 ms "
             "| recall@10 |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['size']} | {r['variant']} | {r['candidates_per_slot']} | {r['walk_width']} | "
              f"{r['p50_ms']} | {r['p99_ms']} | {r['recall@10']} |" for r in rows]
    (out / "recommend_recall.md").write_text("\n".join(lines) + "\n")
    print((out / "recommend_recall.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
