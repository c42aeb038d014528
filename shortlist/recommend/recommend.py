"""Per-user recommendations: what lies near each of the user's interests, then diversified.

  known user:  candidates near any liked or watched-through video, in every space, scored
               by their nearest liked videos (interests.py); skips count against
  stated taste (--prefer "sci-fi, dark tone") and little history: search by the preference
  nothing known: a mix of the most watched and the newest videos
Whatever the user already watched is never recommended again.
"""

from __future__ import annotations

import numpy as np

from shortlist.models.text_embedding import TextEmbedder
from shortlist.recommend.events import EventLog
from shortlist.recommend.interests import SPACE_WEIGHTS, interest_scores
from shortlist.recommend.search import search
from shortlist.recommend.similar import (
    DUPLICATE_SPACES,
    is_duplicate,
    same_length,
    with_payloads,
)
from shortlist.recommend.taste import Taste, taste_from_events
from shortlist.store.interface import VideoStore
from shortlist.store.records import TEXT, Hit

MAX_POSITIVES = 20
# Maximal marginal relevance: 1.0 is none. Measured with `shortlist eval`: 0.85 kept
# precision@10 (0.192 without, 0.198 with), 0.7 cost some (0.190).
DIVERSITY = 0.85
# Candidates the engine proposes per recommendation slot before interest scoring.
CANDIDATES_PER_SLOT = 2


def recommend(store: VideoStore, events: EventLog, user_id: str, limit: int = 10,
              prefer: str | None = None, embedder: TextEmbedder | None = None) -> list[Hit]:
    if limit < 1 or limit > 100:
        raise ValueError("limit must be between 1 and 100")
    history = events.for_user(user_id)
    durations = store.durations(list({e.video_id for e in history})) if history else {}
    taste = taste_from_events(history, durations)
    exclude = sorted(taste.seen | set(taste.negatives))
    pool = limit * 4
    if taste.positives:
        candidates = _from_taste(store, taste, pool, exclude)
        if prefer and embedder is not None:
            candidates = _interleave(candidates, _preferred(store, embedder, prefer, pool,
                                                            exclude))
    elif prefer:
        if embedder is None:
            raise ValueError("a stated preference needs the text embedder")
        candidates = _preferred(store, embedder, prefer, pool, exclude)
    else:
        candidates = _cold_start(store, events, pool, set(exclude))
    # Payloads are read for the picks only (a real one is a few KB). A pick that is a copy
    # of a watched video leaves the candidates and the picking runs again: what it picks
    # then is what it would have picked without the copy, as a greedy pass never looks at
    # a candidate it does not pick.
    while True:
        picks = with_payloads(store, diversify(candidates, limit, DIVERSITY))
        copies = _copies_of_seen(store, taste, picks, durations)
        if not copies:
            return picks
        candidates = [h for h in candidates if h.video_id not in copies]


def _from_taste(store: VideoStore, taste: Taste, pool: int, exclude: list[str]) -> list[Hit]:
    """Candidates from the engine (near any liked video, in any weighted space), then scored
    by their nearest liked videos (shortlist/recommend/interests.py): each interest of the
    user finds its own."""
    ranked = sorted(taste.positives.items(), key=lambda kv: -kv[1])[:MAX_POSITIVES]
    negatives = [v for v, _ in sorted(taste.negatives.items(), key=lambda kv: -kv[1])[:5]]
    known = store.vectors([v for v, _ in ranked] + negatives)
    liked = {v: (known[v], w) for v, w in ranked if v in known}
    skipped = {v: known[v] for v in negatives if v in known}
    if not liked:
        return []
    found = store.liked_neighbours([vectors for vectors, _ in liked.values()],
                                   list(skipped.values()), SPACE_WEIGHTS,
                                   CANDIDATES_PER_SLOT * pool, exclude)
    scores = interest_scores({h.video_id: h.vectors or {} for h in found}, liked, skipped)
    best = sorted(found, key=lambda h: (-scores[h.video_id], h.video_id))[:pool]
    return [Hit(h.video_id, scores[h.video_id], h.payload, h.vectors) for h in best]


def _copies_of_seen(store: VideoStore, taste: Taste, hits: list[Hit],
                    durations: dict[str, float]) -> set[str]:
    """The hits that re-upload something the user watched: not new to them. Only a watched
    video of a hit's length can be a copy of it, so only those pairs are compared, in the
    spaces is_duplicate compares (a user with 500 events: 11 -> 5 ms, its vectors' read
    included; one length test per pair in Python before)."""
    if not hits or not taste.seen:
        return set()
    seen = sorted(taste.seen)
    lengths = np.array([float(h.payload.get("duration_s") or 0.0) for h in hits])
    seen_lengths = np.array([float(durations.get(s) or 0.0) for s in seen])
    pairs = same_length(seen_lengths[:, None], lengths[None, :])  # seen x hits
    rows = list(np.flatnonzero(pairs.any(axis=1)))[:50]
    vectors = store.vectors([seen[i] for i in rows], spaces=DUPLICATE_SPACES)
    return {hits[j].video_id for i in rows if seen[i] in vectors
            for j in np.flatnonzero(pairs[i])
            if is_duplicate(vectors[seen[i]], float(seen_lengths[i]), hits[j].vectors or {},
                            float(lengths[j]))}


def _preferred(store, embedder, prefer: str, pool: int, exclude: list[str]) -> list[Hit]:
    hits = search(store, embedder, prefer, limit=min(100, pool))
    ids = [h.video_id for h in hits if h.video_id not in set(exclude)]
    vecs = store.vectors(ids)
    return [Hit(h.video_id, h.score, h.payload, vecs.get(h.video_id)) for h in hits
            if h.video_id in vecs]


def _cold_start(store: VideoStore, events: EventLog, pool: int, exclude: set[str]) -> list[Hit]:
    popular = [v for v, _ in events.popular(limit=pool) if v not in exclude]
    newest = [p["video_id"] for p in store.newest(pool) if p["video_id"] not in exclude]
    order = list(dict.fromkeys(x for pair in zip(popular, newest, strict=False) for x in pair))
    order += [v for v in popular + newest if v not in order]
    vecs = store.vectors(order[:pool])
    payloads = {p["video_id"]: p for p in store.get_many(order[:pool])}
    n = max(1, len(order))
    return [Hit(v, round(1.0 - i / n, 4), payloads[v], vecs.get(v))
            for i, v in enumerate(order[:pool]) if v in payloads]


def diversify(candidates: list[Hit], limit: int, balance: float = 0.7) -> list[Hit]:
    """Maximal marginal relevance on the text vectors: relevant, yet unlike those already
    picked. All pairs' cosines are one matrix product; each pick updates every candidate's
    redundancy at once (one pair at a time cost 5 ms per request)."""
    if len(candidates) <= 1:
        return candidates[:limit]
    scores = np.clip(np.array([h.score for h in candidates], dtype=float), 0.0, None)
    relevance = balance * (scores / scores.max() if scores.max() > 0 else np.ones_like(scores))
    text = [(h.vectors or {}).get(TEXT) or None for h in candidates]
    has_text = np.array([v is not None for v in text])
    sims = np.zeros((len(candidates), len(candidates)))
    if has_text.any():
        rows = np.array([v for v in text if v is not None], dtype=float)
        rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        sims[np.ix_(has_text, has_text)] = rows @ rows.T
    # Likeness to the most similar picked video with a text vector (none picked yet: -inf).
    redundancy = np.full(len(candidates), -np.inf)
    left = np.ones(len(candidates), dtype=bool)
    picked: list[int] = []
    while left.any() and len(picked) < limit:
        value = relevance - (1 - balance) * np.where(
            has_text & np.isfinite(redundancy), redundancy, 0.0)
        best = int(np.argmax(np.where(left, value, -np.inf)))  # ties: the earlier candidate
        picked.append(best)
        left[best] = False
        if has_text[best]:
            redundancy = np.maximum(redundancy, sims[best])
    return [candidates[i] for i in picked]


def _interleave(a: list[Hit], b: list[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out = []
    for pair in zip(a, b, strict=False):
        for h in pair:
            if h.video_id not in seen:
                seen.add(h.video_id)
                out.append(h)
    for h in a + b:
        if h.video_id not in seen:
            seen.add(h.video_id)
            out.append(h)
    return out

