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
    """Weighted mean cosine over the spaces both videos have; 0 when they share none."""
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
    similarity to the most similar skipped video."""
    if not liked:
        return {}
    weights = SPACE_WEIGHTS if weights is None else weights
    nearest = NEAREST if nearest is None else nearest
    out: dict[str, float] = {}
    for cid, vectors in candidates.items():
        sims = sorted(((similarity(vectors, v, weights), w) for v, w in liked.values()),
                      key=lambda sw: -sw[0])[:nearest]
        score = sum(s * w for s, w in sims) / (sum(w for _, w in sims) or 1.0)
        if skipped:
            score -= SKIP_PENALTY * max(similarity(vectors, v, weights)
                                        for v in skipped.values())
        out[cid] = score
    return out


def _cos(x: list[float], y: list[float]) -> float:
    u, v = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)
    return float(u @ v / ((np.linalg.norm(u) * np.linalg.norm(v)) or 1.0))
