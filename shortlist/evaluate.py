"""Search and recommendation quality on a labelled corpus, against baselines in the same run.

Search: each query in queries.json names its relevant clips (or a category); metrics
are Recall@1/5/10, MRR@10 and nDCG@10, overall and per query type. Baselines: random,
TF-IDF over transcripts (the reference prototype's method), MiniLM over transcripts.
Recommendations: one simulated user per category with at least four clips; half the
category is their history (watched through), the other half is held out, over several
random splits; metrics are Precision@10, Recall@10 and nDCG@10 against random and a
TF-IDF-over-transcripts recommender.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from shortlist.errors import ShortlistError
from shortlist.models.text_embedding import TextEmbedder
from shortlist.recommend.events import EventLog
from shortlist.recommend.recommend import recommend
from shortlist.recommend.search import search
from shortlist.store.qdrant_store import VideoStore
from shortlist.text import tokens

Ranker = Callable[[str], list[str]]  # query -> video ids, best first


def load_labels(corpus: Path, store: VideoStore) -> tuple[dict, list[dict], dict[str, str]]:
    """Manifest, queries and clip name -> video id for the clips found in the store."""
    try:
        manifest = json.loads((corpus / "manifest.json").read_text())
        queries = json.loads((corpus / "queries.json").read_text())
    except FileNotFoundError as exc:
        raise ShortlistError(f"{corpus} has no {exc.filename}: build it with "
                             "`python samples/build.py`") from exc
    ids = {Path(p.get("source", "")).name: p["video_id"] for p in store.scroll()}
    missing = [name for name in manifest if name not in ids]
    if missing:
        raise ShortlistError(f"{len(missing)} corpus videos are not in the catalogue (e.g. "
                             f"{missing[0]}): run `shortlist ingest {corpus}` first")
    return manifest, queries, ids


def relevant_ids(query: dict, manifest: dict, ids: dict[str, str]) -> set[str]:
    if "relevant_category" in query:
        names = [n for n, m in manifest.items() if m["category"] == query["relevant_category"]]
    else:
        names = query["relevant"]
    return {ids[n] for n in names}


def search_metrics(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    first = next((i for i, v in enumerate(ranked[:10], start=1) if v in relevant), None)
    dcg = sum(1 / math.log2(i + 1) for i, v in enumerate(ranked[:10], start=1) if v in relevant)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(10, len(relevant)) + 1))
    return {
        "recall@1": len(set(ranked[:1]) & relevant) / len(relevant),
        "recall@5": len(set(ranked[:5]) & relevant) / len(relevant),
        "recall@10": len(set(ranked[:10]) & relevant) / len(relevant),
        "mrr@10": 1 / first if first else 0.0,
        "ndcg@10": dcg / ideal if ideal else 0.0,
    }


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = rows[0].keys() if rows else []
    return {k: round(float(np.mean([r[k] for r in rows])), 3) for k in keys}


class TfidfRanker:
    """TF-IDF over transcripts with cosine similarity: the reference prototype's search."""

    def __init__(self, docs: dict[str, str]) -> None:
        self.ids = list(docs)
        counts = [Counter(tokens(docs[v])) for v in self.ids]
        df = Counter(t for c in counts for t in c)
        n = len(self.ids)
        self.idf = {t: math.log((1 + n) / (1 + d)) + 1 for t, d in df.items()}
        self.vectors = [self._weigh(c) for c in counts]

    def _weigh(self, counts: Counter) -> dict[str, float]:
        vec = {t: c * self.idf.get(t, 0.0) for t, c in counts.items()}
        norm = math.sqrt(sum(x * x for x in vec.values())) or 1.0
        return {t: x / norm for t, x in vec.items()}

    def similar_to(self, history: list[str], candidates: list[str]) -> list[str]:
        """Candidates by cosine to the mean TF-IDF vector of the history (a content recommender
        that reads transcripts only)."""
        profile: Counter = Counter()
        for vid in history:
            for t, w in self.vectors[self.ids.index(vid)].items():
                profile[t] += w
        def score(vid: str) -> float:
            vec = self.vectors[self.ids.index(vid)]
            return sum(w * vec.get(t, 0.0) for t, w in profile.items())
        return sorted(candidates, key=score, reverse=True)

    def __call__(self, query: str) -> list[str]:
        q = self._weigh(Counter(tokens(query)))
        scores = [sum(w * v.get(t, 0.0) for t, w in q.items()) for v in self.vectors]
        order = sorted(range(len(self.ids)), key=lambda i: -scores[i])
        return [self.ids[i] for i in order if scores[i] > 0]


class TranscriptEmbeddingRanker:
    """MiniLM over transcripts alone: what a text-only pipeline would find."""

    def __init__(self, docs: dict[str, str], embedder: TextEmbedder) -> None:
        self.ids = [v for v in docs if docs[v].strip()]
        self.embedder = embedder
        self.matrix = embedder.embed([docs[v] for v in self.ids]) if self.ids else None

    def __call__(self, query: str) -> list[str]:
        if self.matrix is None:
            return []
        scores = self.matrix @ self.embedder.embed([query])[0]
        return [self.ids[i] for i in np.argsort(-scores)]


def evaluate(corpus: Path, store: VideoStore, embedder: TextEmbedder, seed: int = 0) -> dict:
    manifest, queries, ids = load_labels(corpus, store)
    payloads = {p["video_id"]: p for p in store.scroll()}
    transcripts = {v: payloads[v].get("transcript", "") for v in ids.values()}
    rng = random.Random(seed)
    all_ids = sorted(ids.values())
    systems: dict[str, Ranker] = {
        "shortlist": lambda q: [h.video_id for h in search(store, embedder, q, limit=10)],
        "tfidf-transcript": TfidfRanker(transcripts),
        "minilm-transcript": TranscriptEmbeddingRanker(transcripts, embedder),
        "random": lambda q: rng.sample(all_ids, len(all_ids)),
    }
    per_query = []
    results: dict[str, dict] = {}
    for name, ranker in systems.items():
        by_type: dict[str, list] = defaultdict(list)
        rows = []
        for q in queries:
            m = search_metrics(ranker(q["query"]), relevant_ids(q, manifest, ids))
            rows.append(m)
            by_type[q["type"]].append(m)
            if name == "shortlist":
                per_query.append({"query": q["query"], "type": q["type"], **m})
        results[name] = {"overall": mean_metrics(rows),
                         "by_type": {t: mean_metrics(r) for t, r in sorted(by_type.items())}}
    return {"search": results, "search_per_query": per_query,
            "recommend": evaluate_recommendations(store, embedder, manifest, ids, seed),
            "videos": len(ids), "queries": len(queries)}


def evaluate_recommendations(store: VideoStore, embedder: TextEmbedder, manifest: dict,
                             ids: dict[str, str], seed: int = 0, splits: int = 5) -> dict:
    """Each category's user is simulated `splits` times with different history/held-out."""
    by_category: dict[str, list[str]] = defaultdict(list)
    for name, meta in manifest.items():
        by_category[meta["category"]].append(ids[name])
    users = {c: sorted(v) for c, v in by_category.items() if len(v) >= 4}
    rng = random.Random(seed)
    rows: dict[str, list] = {"shortlist": [], "tfidf-transcript": [], "random": []}
    all_ids = sorted(ids.values())
    payloads = {p["video_id"]: p for p in store.scroll()}
    tfidf = TfidfRanker({v: payloads[v].get("transcript", "") for v in all_ids})
    with tempfile.TemporaryDirectory() as tmp:
        events = EventLog(Path(tmp) / "events.db")
        durations = {p["video_id"]: p.get("duration_s", 0.0) for p in store.scroll()}
        for (category, videos), split in itertools.product(users.items(), range(splits)):
            shuffled = videos[:]
            rng.shuffle(shuffled)
            history, held_out = shuffled[: len(videos) // 2], set(shuffled[len(videos) // 2:])
            user = f"sim-{category}-{split}"
            for vid in history:
                events.record(user, vid, "watched", seconds=durations.get(vid) or 10.0)
            ours = [h.video_id for h in recommend(store, events, user, limit=10,
                                                  embedder=embedder)]
            unseen = [v for v in all_ids if v not in history]
            rows["shortlist"].append(_rec_metrics(ours, held_out))
            rows["tfidf-transcript"].append(_rec_metrics(tfidf.similar_to(history, unseen),
                                                         held_out))
            # Random's expectation, averaged over many draws rather than one lucky one.
            draws = [_rec_metrics(rng.sample(unseen, min(10, len(unseen))), held_out)
                     for _ in range(50)]
            rows["random"].append(mean_metrics(draws))
    return {name: mean_metrics(r) for name, r in rows.items()} | {"users": len(users),
                                                                   "splits": splits}


def _rec_metrics(ranked: list[str], held_out: set[str]) -> dict[str, float]:
    top = ranked[:10]
    hits = [v in held_out for v in top]
    dcg = sum(1 / math.log2(i + 2) for i, h in enumerate(hits) if h)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(held_out))))
    return {"precision@10": sum(hits) / 10, "recall@10": sum(hits) / len(held_out),
            "ndcg@10": dcg / ideal if ideal else 0.0}


def format_table(report: dict) -> str:
    lines = [f"Search: {report['queries']} queries over {report['videos']} videos", ""]
    header = f"{'system':<20}{'type':<10}" + "".join(
        f"{k:>11}" for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"))
    lines.append(header)
    for name, r in report["search"].items():
        for label, m in [("all", r["overall"]), *r["by_type"].items()]:
            lines.append(f"{name:<20}{label:<10}" + "".join(f"{m[k]:>11.3f}" for k in (
                "recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")))
    rec = report["recommend"]
    lines += ["", f"Recommendations: {rec['users']} simulated users x {rec['splits']} splits "
              "(half of a category watched, half held out)",
              f"{'system':<20}{'precision@10':>14}{'recall@10':>11}{'ndcg@10':>11}"]
    for name in ("shortlist", "tfidf-transcript", "random"):
        m = rec[name]
        lines.append(f"{name:<20}{m['precision@10']:>14.3f}{m['recall@10']:>11.3f}"
                     f"{m['ndcg@10']:>11.3f}")
    return "\n".join(lines)
