"""Score candidates by the liked videos nearest to them, in every space a video has.

One mean vector of a user's history averages their tastes away: the mean of "sports" and
"paintings" is neither. Here a candidate scores by its few most similar liked videos, so a
user with two unrelated interests gets both. Similarity between two videos is a weighted
mean of their cosines in each space both have (description, speech, scene, picture,
sound); the weights are measured with `shortlist eval` (see SPACE_WEIGHTS). No engine
does this ranking, so it lives here, above the store interface.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from shortlist.store.records import AUDIO, SCENE, SPEECH, TEXT, VISUAL

# Measured on the sample corpus (`shortlist eval`, 30 users liking one or two categories,
# precision@10 against the MiniLM-mean baseline): equal weights 1.16x, description and
# speech doubled with scene and picture halved 1.38x; the sound vector only added noise
# (0.5 -> 0: +0.001) and is left out. Dropping the picture or the scene words cost more
# than halving them did.
SPACE_WEIGHTS: dict[str, float] = {TEXT: 2.0, SPEECH: 2.0, SCENE: 0.5, VISUAL: 0.5,
                                   AUDIO: 0.0}
NEAREST = 2  # liked videos a candidate is scored by (1: 1.10x, 2: 1.16x, 4: 1.23x at equal
# weights; 2 with the weights above)
SKIP_PENALTY = 0.5  # how much likeness to a skipped video counts against a candidate

Vectors = Mapping[str, list[float]]


def similarity(a: Vectors, b: Vectors, weights: Mapping[str, float] | None = None) -> float:
    """Weighted mean cosine over the spaces both videos have; 0 when they share none.
    The definition: interest_scores computes it for all pairs at once."""
    weights = SPACE_WEIGHTS if weights is None else weights
    total = weight = 0.0
    for space, w in weights.items():
        if w and space in a and space in b:
            total += w * _cos(a[space], b[space])
            weight += w
    return total / weight if weight else 0.0


def interest_scores(candidates: Mapping[str, Vectors], liked: Mapping[str, tuple[Vectors, float]],
                    skipped: Mapping[str, Vectors] = {},  # noqa: B006 - read only
                    weights: Mapping[str, float] | None = None,
                    nearest: int | None = None) -> dict[str, float]:
    """Candidate id -> score: the weighted mean similarity to its `nearest` liked videos
    (liked: id -> (vectors, weight from recency and share watched)), less a share of its
    similarity to the most similar skipped video. `similarity` for every pair at once, as
    matrices (one pair at a time cost a second per request at 1k videos)."""
    weights = SPACE_WEIGHTS if weights is None else weights
    if not liked or not candidates or not any(weights.values()):
        return dict.fromkeys(candidates, 0.0)
    nearest = NEAREST if nearest is None else nearest
    ids = list(candidates)
    cands = _space_rows([candidates[c] for c in ids], weights)  # converted once: the cost
    sims = _similarities(cands, _space_rows([v for v, _ in liked.values()], weights),
                         weights)  # C x L
    liked_weights = np.array([w for _, w in liked.values()])
    top = np.argsort(-sims, axis=1, kind="stable")[:, :nearest]
    top_sims = np.take_along_axis(sims, top, axis=1)
    top_weights = liked_weights[top]
    totals = top_weights.sum(axis=1)
    scores = (top_sims * top_weights).sum(axis=1) / np.where(totals == 0, 1.0, totals)
    if skipped:
        scores -= SKIP_PENALTY * _similarities(
            cands, _space_rows(list(skipped.values()), weights), weights).max(axis=1)
    return {cid: float(score) for cid, score in zip(ids, scores, strict=True)}


Rows = dict[str, tuple[np.ndarray | None, np.ndarray]]


def _space_rows(videos: list[Vectors], weights: Mapping[str, float]) -> Rows:
    """Per weighted space: the videos' unit vectors as rows, and which videos have one."""
    return {space: _unit_rows([v.get(space) for v in videos]) for space, w in weights.items()
            if w}


def _similarities(rows: Rows, cols: Rows, weights: Mapping[str, float]) -> np.ndarray:
    """`similarity(row, col)` for every pair."""
    n_rows, n_cols = len(next(iter(rows.values()))[1]), len(next(iter(cols.values()))[1])
    total = np.zeros((n_rows, n_cols))
    weight = np.zeros((n_rows, n_cols))
    for space, (a, a_has) in rows.items():
        b, b_has = cols[space]
        if a is None or b is None:
            continue
        both = np.outer(a_has, b_has)
        total += weights[space] * (a @ b.T) * both
        weight += weights[space] * both
    return np.divide(total, weight, out=np.zeros_like(total), where=weight > 0)


def _unit_rows(vectors: list[list[float] | None]) -> tuple[np.ndarray | None, np.ndarray]:
    """The vectors as unit rows (zeros where absent), and which are present."""
    present = np.array([v is not None for v in vectors])
    if not present.any():
        return None, present
    size = len(next(v for v in vectors if v is not None))
    matrix = np.zeros((len(vectors), size), dtype=np.float32)
    matrix[present] = np.array([v for v in vectors if v is not None], dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms), present


def _cos(x: list[float], y: list[float]) -> float:
    u, v = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)
    return float(u @ v / ((np.linalg.norm(u) * np.linalg.norm(v)) or 1.0))
