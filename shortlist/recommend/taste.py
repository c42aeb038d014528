"""A user's taste from their recent events: which videos count for, and against, them.

Weights: recency halves every `half_life_days`; a watch counts by the share of the
video that was watched (a like counts fully, a skip counts against).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from shortlist.recommend.events import Event

WATCHED_THROUGH = 0.5  # share of a video watched that makes it a positive signal


@dataclass(frozen=True)
class Taste:
    positives: dict[str, float] = field(default_factory=dict)  # video_id -> weight
    negatives: dict[str, float] = field(default_factory=dict)
    seen: frozenset[str] = frozenset()

    @property
    def known(self) -> bool:
        return bool(self.positives or self.negatives)


def taste_from_events(events: list[Event], durations: dict[str, float],
                      now: float | None = None, half_life_days: float = 14.0) -> Taste:
    now = time.time() if now is None else now
    pos: dict[str, float] = {}
    neg: dict[str, float] = {}
    seen: set[str] = set()
    for e in events:
        decay = 0.5 ** (max(0.0, now - e.at) / 86400.0 / half_life_days)
        if e.kind == "skipped":
            neg[e.video_id] = neg.get(e.video_id, 0.0) + decay
            continue
        seen.add(e.video_id)
        if e.kind == "liked":
            pos[e.video_id] = pos.get(e.video_id, 0.0) + 1.5 * decay
        else:
            duration = durations.get(e.video_id) or 0.0
            share = 1.0 if not duration or e.seconds is None \
                else min(1.0, e.seconds / duration)
            if share >= WATCHED_THROUGH:
                pos[e.video_id] = pos.get(e.video_id, 0.0) + share * decay
    for vid in list(neg):  # a later like or full watch outweighs an old skip
        if pos.get(vid, 0.0) >= neg[vid]:
            del neg[vid]
    return Taste(pos, neg, frozenset(seen))
