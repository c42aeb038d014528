"""Search and recommendation latency through HTTP, and CLI cold starts, against catalogue size.

  python bench/serving_bench.py [--sizes 1000 10000] [--random-sizes 10000] [--requests 200]
                                [--out bench/results]

Catalogues are synthetic, words drawn from a fixed vocabulary. Their vectors are
embedding-like (see `embedding_like`), as real ones are. On random unit vectors every point
is about as far from every other, and HNSW finds few of the true neighbours (recall@10 0.27
at 100k, bench/store_bench.py), so a timing on them times a search nobody would accept; the
walk's length differs too, either way (slower at 10k, faster at 100k in the same run). They
are measured beside, at --random-sizes. Payloads carry what ingest stores, at the sample
catalogue's sizes (`ingest_fields`). "no_work" is a request that does nothing: the floor of
this run's machine, which varies between runs on shared ones.
Writes OUT/serving.json and OUT/serving.md.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("cat dog city night rocket space music talk science politics school book work office "
         "coffee food lake mountain bicycle car train comedy dark bright calm robot computer "
         "galaxy ocean forest rain snow dance song guitar piano lecture history war love").split()
QUERIES = ["sci-fi, dark tone", "cat", "comedy, music", "science lecture", "city at night",
           "rocket launch into space", "cooking food", "calm lake and mountains", "robot",
           "politics and history"]


NOTE = """How it grows: the embedded store is Qdrant's own engine (Qdrant Edge) in the
serving process: HNSW for the dense vectors, payload indexes for filters, sparse keyword
vectors with IDF, fusion inside the engine. `recommend` asks for 20 users with 15 events
each, `recommend_long_history` for 5 with 500 (as many as a recommendation reads: what it
does per watched video shows there). The baseline row of the cold-start table is a
bare `python -c "import shortlist"` in the same run: what every command pays before any
work. Past one machine, run a Qdrant server and set QDRANT_URL."""


LATENT_DIM = 32


def embedding_like(rng: np.random.Generator, codes: np.ndarray, latent: np.ndarray
                   ) -> np.ndarray:
    """Unit rows of low intrinsic dimension, as sentence and image embeddings have: each
    row's code (LATENT_DIM numbers) mapped by `latent` into the space, plus a little noise."""
    rows = codes @ latent + 0.3 * rng.normal(size=(len(codes), latent.shape[1]))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def ingest_fields(rng: np.random.Generator, vid: str, duration_s: float, has_speech: bool
                  ) -> dict:
    """The rest of what ingest stores with a video, at about the sample catalogue's sizes
    (its payloads: median 2.2 KB, 1.6-3.2 KB; these: 2.5 KB, 1.6-3.1 KB): the description,
    the transcript and its timed segments, the models that made it. The engine reads a
    point's whole payload to return any of it, so their size is part of every answer's cost."""
    def text(n: int) -> str:
        return " ".join(rng.choice(WORDS, size=n).tolist())

    segments = []
    if has_speech:
        bounds = np.sort(rng.uniform(0, duration_s, size=2 * int(rng.integers(1, 6))))
        segments = [[round(float(a), 2), round(float(b), 2), text(14)]
                    for a, b in zip(bounds[::2], bounds[1::2], strict=True)]
    return {"sha256": f"{vid:0>64}", "rendition_path": f"/data/renditions/{vid}.mp4",
            "poster_path": f"/data/renditions/{vid}.jpg", "size_bytes": 4_000_000,
            "width": 1024, "height": 1024, "description": text(50),
            "transcript": " ".join(t for _, _, t in segments) + (" " + text(80) if segments
                                                                  else ""),
            "segments": segments, "ocr_text": text(8), "visual_classes": text(4).split(),
            "audio_labels": text(5).split(), "nsfw_score": 0.01,
            # Not "embed": search checks that one against the query embedder.
            "models": {stage: f"{stage}:{text(6).replace(' ', ':')}" for stage in (
                "transcode", "shots", "asr", "visual", "audio", "ocr", "describe", "safety")},
            "pipeline_fingerprint": vid, "describer": "offline:rules", "status": "ok"}


def build_catalogue(data_dir: Path, size: int, seed: int = 0,
                    vectors: str = "embedding-like") -> list[str]:
    """`vectors`: "embedding-like" (one code per video, mapped into every space by that
    space's own map, so a video's spaces agree as a real video's do) or "random"."""
    from shortlist.store.edge_store import EdgeStore
    from shortlist.store.records import DIMENSIONS, VideoPoint, older_layout, with_moments
    from shortlist.text import sparse_weights

    rng = np.random.default_rng(seed)
    payload_rng = np.random.default_rng(seed + 1)  # its own: the vectors stay as they were
    layout = older_layout(DIMENSIONS)
    maps = {name: rng.normal(size=(LATENT_DIM, dim)) for name, dim in layout.items()}
    store = EdgeStore(data_dir / "qdrant")
    ids = [f"{i:016x}" for i in range(size)]
    for start in range(0, size, 500):
        chunk = ids[start:start + 500]
        if vectors == "random":
            rows = {name: rng.normal(size=(len(chunk), dim)) for name, dim in layout.items()}
            rows = {name: (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)
                    for name, m in rows.items()}
        else:
            codes = rng.normal(size=(len(chunk), LATENT_DIM))
            rows = {name: embedding_like(rng, codes, maps[name]) for name in layout}
        batch = []
        for i, vid in enumerate(chunk):
            words = rng.choice(WORDS, size=12).tolist()
            dense = {name: rows[name][i].tolist() for name in layout}
            dense = with_moments(dense)  # a short video: one moment, its whole talk
            payload = {"video_id": vid, "source": f"/videos/{vid}.mp4", "url": None,
                       "title": " ".join(words[:4]), "tags": words[:6], "genres": words[6:8],
                       "duration_s": float(rng.uniform(3, 120)), "language": "en",
                       "has_speech": bool(rng.random() < 0.6),
                       "ingested_at": f"2026-11-{1 + int(rng.integers(0, 20)):02d}T00:00:00Z"}
            payload.update(ingest_fields(payload_rng, vid, payload["duration_s"],
                                         payload["has_speech"]))
            batch.append(VideoPoint(vid, payload, dense, sparse_weights([(" ".join(words), 1)])))
        store.upsert(batch)
    store.close()
    return ids


# Users with a long history: as many events as a recommendation reads (EventLog.for_user),
# each on another video, so that what grows with a history is timed too.
LONG_HISTORY_USERS, LONG_HISTORY = 5, 500


def add_events(data_dir: Path, ids: list[str], users: int = 20, per_user: int = 15,
               name: str = "user") -> None:
    from shortlist.recommend.events import EventLog

    log = EventLog(data_dir / "events.db")
    rng = random.Random(1)
    for u in range(users):
        for vid in rng.sample(ids, min(per_user, len(ids))):
            kind = rng.choice(["watched", "watched", "liked", "skipped"])
            log.record(f"{name}{u}", vid, kind, seconds=rng.uniform(1, 60))


def add_all_events(data_dir: Path, ids: list[str]) -> None:
    add_events(data_dir, ids)
    add_events(data_dir, ids, LONG_HISTORY_USERS, LONG_HISTORY, name="longtime")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(1000 * statistics.median(ordered), 1),
            "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1)}


def http_latency(data_dir: Path, ids: list[str], requests: int) -> dict:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SHORTLIST_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "shortlist.cli", "serve", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        with httpx.Client(timeout=30) as client:
            while True:
                try:
                    if client.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
                if time.perf_counter() - started > 120:
                    raise SystemExit("server did not start")
            startup_s = time.perf_counter() - started
            client.post(f"{base}/search", json={"query": "warm up"})  # loads the embedder
            rng = random.Random(2)
            out = {"server_start_s": round(startup_s, 2)}
            for name, call in {
                # A request that does no work: this run's floor (HTTP, the client, the loop).
                "no_work": lambda: client.get(f"{base}/instance"),
                "search": lambda: client.post(f"{base}/search", json={
                    "query": rng.choice(QUERIES), "limit": 10}),
                "search_filtered": lambda: client.post(f"{base}/search", json={
                    "query": rng.choice(QUERIES), "limit": 10,
                    "filters": {"has_speech": True, "max_duration_s": 60}}),
                "recommend": lambda: client.get(
                    f"{base}/users/user{rng.randrange(20)}/recommendations"),
                "recommend_long_history": lambda: client.get(
                    f"{base}/users/longtime{rng.randrange(LONG_HISTORY_USERS)}/recommendations"),
                "similar": lambda: client.get(f"{base}/videos/{rng.choice(ids)}/similar"),
            }.items():
                samples = []
                for _ in range(requests):
                    t = time.perf_counter()
                    response = call()
                    samples.append(time.perf_counter() - t)
                    response.raise_for_status()
                out[name] = percentiles(samples)
            return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def in_process(data_dir: Path, requests: int) -> dict:
    """The searches (its queries, in its order) and 15-event users' recommendations of
    `http_latency`, called in this process with the server stopped: where an HTTP figure's
    time goes.
    A search is split into its query embedding (search.query_texts, one batch, as search()
    embeds them) and the store's hybrid search of those vectors."""
    from shortlist.recommend.events import EventLog
    from shortlist.recommend.recommend import recommend
    from shortlist.recommend.search import query_texts, search
    from shortlist.runtime import close_all, components_for
    from shortlist.settings import Settings
    from shortlist.text import query_sparse

    components = components_for(Settings.load({**os.environ, "SHORTLIST_DATA_DIR": str(data_dir)}))
    store, embedder = components.store(hold=True), components.embedder()
    events = EventLog(data_dir / "events.db")
    rng = random.Random(2)  # http_latency's: its searches' queries in its order
    samples: dict[str, list[float]] = {"query embedding": [], "store hybrid search": [],
                                       "search()": [], "recommend()": []}
    try:
        search(store, embedder, "warm up")  # loads the query graph, as http_latency's does
        for _ in range(requests):
            query = rng.choice(QUERIES)
            t = time.perf_counter()
            vectors = embedder.embed_query(query_texts(query))
            samples["query embedding"].append(time.perf_counter() - t)
            t = time.perf_counter()
            store.hybrid_search([v.tolist() for v in vectors], query_sparse(query), query, 10)
            samples["store hybrid search"].append(time.perf_counter() - t)
            t = time.perf_counter()
            search(store, embedder, query, limit=10)
            samples["search()"].append(time.perf_counter() - t)
        for _ in range(requests):
            user = f"user{rng.randrange(20)}"
            t = time.perf_counter()
            recommend(store, events, user)
            samples["recommend()"].append(time.perf_counter() - t)
    finally:
        close_all()
    return {name: percentiles(s) for name, s in samples.items()}


ENDPOINTS = ("no_work", "search", "search_filtered", "recommend",
             "recommend_long_history", "similar")
MODEL_BASELINE = "python -c 'load the text model, embed one query' (baseline)"


def cold_starts(data_dir: Path, ids: list[str], runs: int = 5) -> dict:
    # The package compiled first, as `make venv` does: where PYTHONDONTWRITEBYTECODE is set
    # (this workplace's machines), a module changed since was compiled from source again by
    # every cold command of a run made outside `make bench` (edge_store.py: 20 ms each).
    compileall.compile_dir(ROOT / "shortlist", quiet=1)
    env = {**os.environ, "SHORTLIST_DATA_DIR": str(data_dir)}
    commands = {
        "search": ["search", "sci-fi, dark tone", "--json"],
        "watch": ["watch", "user1", ids[0], "--seconds", "12"],
        "recommend": ["recommend", "user1", "--json"],
    }
    # Baselines, same run: what any command pays to start, and what a search pays besides
    # to load the text model (the CLI's own imports, the weights, the first query through).
    commands["python -c 'import shortlist' (baseline)"] = ["-c", "import shortlist"]
    commands[MODEL_BASELINE] = ["-c", "import shortlist.cli, shortlist.recommend.search; "
                                "from shortlist.models.text_embedding import MiniLMEmbedder; "
                                "from shortlist.settings import Settings, query_threads; "
                                "MiniLMEmbedder(query_threads=query_threads(Settings.load()))"
                                ".embed_query(['warm up'])"]
    out = {}
    for name, args in commands.items():
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            command = args if args[0] == "-c" else ["-m", "shortlist.cli", *args]
            subprocess.run([sys.executable, *command], env=env, cwd=ROOT, check=True,
                           capture_output=True)
            times.append(time.perf_counter() - t)
        out[name] = {"median_s": round(statistics.median(times), 2),
                     "max_s": round(max(times), 2)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--random-sizes", type=int, nargs="*", default=[10000],
                    help="also measure HTTP latency on random vectors at these sizes")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python", "bench/serving_bench.py", *sys.argv[1:]])
    results = {"machine": f"{os.cpu_count()} cores", "command": command, "sizes": {},
               "random_vectors": {}}
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            t = time.perf_counter()
            ids = build_catalogue(data, size)
            add_all_events(data, ids)
            build_s = time.perf_counter() - t
            results["sizes"][size] = {"build_s": round(build_s, 1),
                                      "http": http_latency(data, ids, args.requests),
                                      "in_process": in_process(data, args.requests),
                                      "cold_start": cold_starts(data, ids)}
        print(json.dumps({size: results["sizes"][size]}, indent=1), flush=True)
    for size in args.random_sizes:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            ids = build_catalogue(data, size, vectors="random")
            add_all_events(data, ids)
            results["random_vectors"][size] = http_latency(data, ids, args.requests)
        print(json.dumps({f"{size} random": results["random_vectors"][size]}), flush=True)
    (out / "serving.json").write_text(json.dumps(results, indent=1))
    lines = ["# Serving benchmark", "",
             f"Embedded Qdrant Edge, synthetic catalogues with embedding-like vectors and "
             f"payloads of real size, "
             f"{args.requests} sequential requests per endpoint over loopback HTTP, "
             f"{results['machine']}. Command: `{command}`.", "",
             "| videos | endpoint | p50 ms | p99 ms |", "|---|---|---|---|"]
    for size, r in results["sizes"].items():
        for name in ENDPOINTS:
            lines.append(f"| {size} | {name} | {r['http'][name]['p50_ms']} | "
                         f"{r['http'][name]['p99_ms']} |")
    if results["random_vectors"]:
        lines += ["", "The same requests on random unit vectors (HNSW's worst case: it finds few "
                  "of their true neighbours), same run:", "",
                  "| videos | endpoint | p50 ms | p99 ms |", "|---|---|---|---|"]
        for size, r in results["random_vectors"].items():
            for name in ENDPOINTS:
                lines.append(f"| {size} | {name} | {r[name]['p50_ms']} | {r[name]['p99_ms']} |")
    lines += ["", "Where the time goes: the same searches and recommendations called in-process "
              "(`in_process`), the server stopped, same run. What HTTP adds is the difference "
              "from the rows above.", "",
              "| videos | step | p50 ms | p99 ms |", "|---|---|---|---|"]
    for size, r in results["sizes"].items():
        for name, step in r["in_process"].items():
            lines.append(f"| {size} | {name} | {step['p50_ms']} | {step['p99_ms']} |")
    lines += ["", "| videos | CLI command (cold process) | median s | max s |", "|---|---|---|---|"]
    for size, r in results["sizes"].items():
        for name, c in r["cold_start"].items():
            label = name if "baseline" in name else f"`shortlist {name}`"
            lines.append(f"| {size} | {label} | {c['median_s']} | {c['max_s']} |")
        cold = r["cold_start"]
        start = cold["python -c 'import shortlist' (baseline)"]["median_s"]
        beyond = {"search": cold["search"]["median_s"] - cold[MODEL_BASELINE]["median_s"],
                  "recommend": cold["recommend"]["median_s"] - start}
        lines.append(f"| {size} | beyond start and model load: search, recommend | "
                     f"{beyond['search']:.2f}, {beyond['recommend']:.2f} | |")
    lines += ["", "| videos | server start s |", "|---|---|"]
    lines += [f"| {size} | {r['http']['server_start_s']} |" for size, r in results["sizes"].items()]
    lines += ["", NOTE]
    (out / "serving.md").write_text("\n".join(lines) + "\n")
    print((out / "serving.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
