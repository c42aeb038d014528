"""What the store holds and answers with: vector names and sizes, points, hits, filters.

Shared by every store implementation; no client is imported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

TEXT, SPEECH, SCENE, VISUAL, AUDIO, KEYWORDS = (
    "text", "speech", "scene", "visual", "audio", "keywords")
MARENGO = "marengo"  # Twelve Labs' video vector, when that video embedder is on
# Several vectors per video, compared by the best one (Qdrant's MaxSim): the whole
# transcript's (the speech vector) and each moment window's (shortlist/moments.py), so a
# video is found by its whole talk or by its best moment, and search ranks moments while it
# returns videos. Last in every layout: a PostgreSQL rebuild copies rows column by column.
MOMENTS = "moments"
# The same for a video embedder: its whole-video vector, then each clip's (Marengo's clips
# of a few seconds), so a query in that space ranks clips and returns videos.
MARENGO_CLIPS = "marengo_clips"
# Each multivector space opens with a flat space's vector; a catalogue without the
# multivector space is searched by that one (records.searchable).
BEST_PART_OF = {SPEECH: MOMENTS, MARENGO: MARENGO_CLIPS}
MULTIVECTOR_SPACES = frozenset(BEST_PART_OF.values())
# Each signal's words in a space of their own (MiniLM), so none dilutes another:
#   text:   the description (title, genres, tags, on-screen text)
#   speech: the transcript (absent when nobody speaks)
#   scene:  what the image classifier saw, in WordNet's words, weighted by its confidence
# visual: EfficientNet's 1280-d features, audio: YAMNet's 521 scores, both projected down
# (shortlist/projection.py) so the embedded store opens fast.


def dimensions(text_dim: int = 384, video_dim: int | None = None) -> dict[str, int]:
    """Each space's size: the text spaces take the text embedder's (MiniLM: 384; a cloud
    embedder's is configured), the projected visual and audio vectors are fixed, and a video
    embedder adds its own. A store is made for one layout and refuses another (another
    embedder means another catalogue)."""
    sizes = {TEXT: text_dim, SPEECH: text_dim, SCENE: text_dim, VISUAL: 256, AUDIO: 128}
    video = {MARENGO: video_dim} if video_dim else {}
    return {**sizes, **video, MOMENTS: text_dim, **({MARENGO_CLIPS: video_dim} if video else {})}


DIMENSIONS = dimensions()  # the default layout, with the bundled MiniLM
TEXT_SPACES = (TEXT, MOMENTS, SCENE)  # the spaces a text query is searched in


def flat(layout: dict[str, int]) -> list[str]:
    """The spaces of `layout` that hold one vector per video: what recommendations and
    "more like this" compare, and what a store returns unless asked for the moments."""
    return [s for s in layout if s not in MULTIVECTOR_SPACES]


def older_layout(sizes: dict[str, int]) -> dict[str, int]:
    """The layout of a catalogue made before moments were stored: it still opens, is searched
    by its speech vectors, and gains moments when `shortlist reindex` rebuilds it."""
    return {k: v for k, v in sizes.items() if k not in MULTIVECTOR_SPACES}


def fits_layout(found: dict[str, int], sizes: dict[str, int]) -> bool:
    """Whether a catalogue with spaces `found` opens for embedders that write `sizes`: the
    same spaces and sizes, less multivector spaces it was made before (older_layout)."""
    return all(sizes.get(k) == v for k, v in found.items()) and all(
        k in found or k in MULTIVECTOR_SPACES for k in sizes)


_WHOLE_OF = {best: whole for whole, best in BEST_PART_OF.items()}


def searchable(spaces: Sequence[str], layout: dict[str, int]) -> list[str]:
    """`spaces` as a catalogue of `layout` can rank them: the speech vectors stand in for
    the moments (and the video vectors for their clips) in an older catalogue."""
    return [_WHOLE_OF[s] if s in _WHOLE_OF and s not in layout else s for s in spaces]


def by_best_part(extra: dict[str, list[float]] | None, layout: dict[str, int]
                 ) -> dict[str, list[float]] | None:
    """A video embedder's query vectors, each searched in the space that ranks a video by
    its best clip where the catalogue has one."""
    if not extra:
        return extra
    return {searchable([BEST_PART_OF.get(s, s)], layout)[0]: q for s, q in extra.items()}


def with_moments(dense: dict[str, Any]) -> dict[str, Any]:
    """A point's vectors with each multivector space filled from its flat one when it has
    none (a point made before moments were stored, copied into a catalogue that has them)."""
    missing = {best: [dense[whole]] for whole, best in BEST_PART_OF.items()
               if whole in dense and best not in dense}
    return {**dense, **missing} if missing else dense


def fit(dense: dict[str, Any], layout: dict[str, int]) -> dict[str, Any]:
    """A point's vectors as a catalogue of `layout` stores them: an older catalogue has no
    moments space (reindex adds it); every other space must be there (check_point)."""
    return {k: v for k, v in dense.items() if k in layout or k not in MULTIVECTOR_SPACES}


# Payload fields that filters and orderings use get an index in the engine.
INDEXED_FIELDS = {"tags": "keyword", "genres": "keyword", "language": "keyword",
                  "duration_s": "float", "has_speech": "bool", "video_id": "keyword",
                  "status": "keyword", "ingested_at": "datetime"}


@dataclass(frozen=True)
class VideoPoint:
    video_id: str
    payload: dict[str, Any]
    dense: dict[str, list]  # name -> vector (moments: a list of vectors); a missing name
    # means "no such signal"
    sparse: dict[int, float]


def keyword_vector(payload: dict[str, Any]) -> dict[int, float]:
    """The keyword vector of a catalogue entry, from the words its payload holds: at ingest,
    and again when a catalogue moves between stores (shortlist/store/migrate.py)."""
    from shortlist.text import sparse_weights

    title, transcript = payload.get("title") or "", payload.get("transcript") or ""
    ocr = payload.get("ocr_text") or ""
    labels = " ".join(str(lb.get("name", "")) for lb in payload.get("visual_labels") or [])
    return sparse_weights([
        (title, 2.0), (" ".join(payload.get("tags") or []), 2.0),
        (" ".join(payload.get("genres") or []), 1.5), (transcript, 1.0), (ocr, 1.5),
        (labels, 1.0)], sounds=" ".join([title, transcript, ocr]))


def check_point(point: VideoPoint, sizes: dict[str, int] = DIMENSIONS) -> None:
    """Refuse a point the store would refuse, before any index is written: vector names and
    sizes, finite numbers, and a payload that names the same video. Raises ValueError."""
    if point.payload.get("video_id") != point.video_id:
        raise ValueError(f"point {point.video_id!r}: payload.video_id must equal the point's id")
    for name, value in point.dense.items():
        if name not in sizes:
            raise ValueError(f"point {point.video_id!r}: unknown vector {name!r} "
                             f"(known: {', '.join(sizes)})")
        problem = vector_problem(name, value, sizes[name])
        if problem:
            raise ValueError(f"point {point.video_id!r}: vector {name!r} {problem}")
    for index, weight in point.sparse.items():
        if not (isinstance(index, int) and 0 <= index < 2**32 and math.isfinite(weight)):
            raise ValueError(f"point {point.video_id!r}: bad keyword weight {index}: {weight}")


def vector_problem(name: str, value: Any, size: int | None) -> str | None:
    """What makes `value` unfit for the space `name` of `size` numbers, or None. A
    multivector space (a talking video's moments) holds several vectors of that size."""
    if name in MULTIVECTOR_SPACES:
        if not isinstance(value, list) or not value:
            return "must be a non-empty list of vectors"
        vectors = value
    else:
        vectors = [value]
    for vector in vectors:
        if not isinstance(vector, list) or len(vector) != size:
            return (f"has {len(vector) if isinstance(vector, list) else 'no'} dimensions, "
                    f"the collection takes {size if size is not None else 'none'}")
        if not all(isinstance(x, int | float) and math.isfinite(x) for x in vector):
            return "holds a value that is not a finite number"
    return None


@dataclass(frozen=True)
class Hit:
    video_id: str
    score: float
    payload: dict[str, Any]
    vectors: dict[str, list[float]] | None = None
    moment: dict[str, Any] | None = None  # where in the video a search matched (moments.py)


# How every store fuses rankings: reciprocal rank, k = 2 as Qdrant's default. A text query's
# dense rankings (one per space) are three views of one reading of the query, so they are
# fused into one ranking first, which then counts once beside the keyword ranking. Fused flat
# (three dense votes against one keyword vote, which Qdrant's rank-scaling weights cap at one
# first place's worth each), a spoken word's exact match lost to a video first in one dense
# space and second in another (`shortlist eval` on the sample: keyword queries nDCG@10
# .855 -> .917, all .693 -> .704). This two-level fusion runs here, in `fuse_search`, over
# each engine's rankings: inside an engine (nested prefetches) the inner ranking's ties came
# in segment order, so the same query could answer in another order after a reopen.
RRF_K = 2
# What each space's ranking weighs inside that first fusion (rrf_fuse's rank scaling). The
# description and the scene words both carry the image classifier's labels, so at equal
# weights vision held two of a talking video's three votes and drowned what is said in it.
# Measured with `shortlist eval` on the sample (57 queries), speech weight x scene weight:
# 1 x 1 (before) all nDCG@10 .700, topic .536, multi .526; 1.5 x 0.5 .708, .575, .610;
# 2 x 0.7 .709, .574, .625; 1.25 x 0.6 .706, .570, .566; every speech weight above 1 gained
# topic and multi, none moved keyword queries or recall@10 without speech, except 2 x 0.5
# (.546 -> .528). The speech vectors stand in for the moments in an older catalogue.
SEARCH_SPACE_WEIGHTS = {TEXT: 1.0, MOMENTS: 1.5, SPEECH: 1.5, SCENE: 0.5}
# Each preference of a comma-separated query ("comedy, music") ranks in the description and
# what is said; the whole query ranks in every space. Ranking the preferences in the scene
# words too cost an engine search each (a third of a two-preference query's) and found no
# more: `shortlist eval`, same ingest, multi nDCG@10 .610 with them, .625 without, topic
# .575/.577, all else equal (the description alone: multi .544; speech alone: topic .561).
PREFERENCE_SPACES = frozenset({TEXT, MOMENTS, SPEECH})


def rrf_fuse(rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None,
             k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion exactly as Qdrant's engine scores it, for a store whose
    database has none (PostgreSQL): a weight scales the rank, 1 / ((rank + 1) / w + k - 1),
    so equal weights give the classic 1 / (rank + k). Best first, ties by id."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, video_id in enumerate(ranking):
            scores[video_id] = scores.get(video_id, 0.0) + 1.0 / ((rank + 1) / weight + k - 1)
    return sorted(scores.items(), key=lambda kv: (-round(kv[1], 9), kv[0]))


def ranking(scored: Iterable[tuple[str, float]]) -> list[str]:
    """Ids best first, equal scores in id order (identical vectors are common: videos whose
    classifier saw the same classes), so a fused rank never depends on segment layout."""
    return [v for v, _ in sorted(scored, key=lambda vs: (-round(vs[1], 6), vs[0]))]


# One ranking a search asks a store for: (space, query), the query a dense vector, or for
# KEYWORDS the sparse {token: weight}. A search asks for all of its rankings at once, so a
# store runs them as one batch (the engine plans them together; a server gets one request).
RankRequest = tuple[str, Any]


def fuse_search(rank: Callable[[Sequence[RankRequest]], Sequence[Iterable[tuple[str, float]]]],
                dense: Sequence[Sequence[float]], sparse: dict[int, float],
                spaces: Sequence[str], extra: dict[str, list[float]] | None,
                depth: int) -> list[tuple[str, float]]:
    """A search's fused ranking (see RRF_K) from a store's own rankings: `rank(requests)`
    answers each request with (id, score) pairs, at most `depth`, filtered, in order.
    `dense`: the whole query's vector, then each preference's (PREFERENCE_SPACES)."""
    requests: list[RankRequest] = []
    groups = []  # per dense query: (index of its request, that space's weight)
    for i, q in enumerate(dense):
        ranked_in = spaces if i == 0 else [s for s in spaces if s in PREFERENCE_SPACES]
        groups.append([(len(requests) + j, SEARCH_SPACE_WEIGHTS.get(s, 1.0))
                       for j, s in enumerate(ranked_in)])
        requests += [(s, q) for s in ranked_in]
    alone = [(KEYWORDS, sparse)] if sparse else []  # each one vote of its own
    alone += list((extra or {}).items())
    answers = [ranking(found) for found in rank(requests + alone)]
    votes = [[v for v, _ in rrf_fuse([answers[j] for j, _ in group],
                                     [w for _, w in group])][:depth] for group in groups]
    return rrf_fuse(votes + answers[len(requests):])


def dense_only(vector, spaces: Sequence[str] | None = None) -> dict[str, Any]:
    """The dense vectors of a record's vectors (a sparse one, or none, left out): the flat
    ones, or those of `spaces` (moments included when asked for)."""
    if not isinstance(vector, dict):
        return {}
    return {k: v for k, v in vector.items() if isinstance(v, list)
            and (k in spaces if spaces is not None else k not in MULTIVECTOR_SPACES)}


def liked_spaces(positives: Sequence[dict[str, list[float]]],
                 weights: dict[str, float]) -> list[str]:
    """The spaces a query from liked videos ranks in: weighted, and held by one of them."""
    return [s for s, w in weights.items() if w and any(s in p for p in positives)]


def page_of(hits: Sequence[Hit], offset: int, limit: int) -> list[Hit]:
    """One page of fused hits, ties broken by video id. Rank fusion gives equal scores to
    videos at the same ranks, and an engine orders those by segment layout, which changes
    when a shard is reopened; so stores fetch past the page and cut here."""
    ordered = sorted(hits, key=lambda h: (-round(h.score, 9), h.video_id))
    return ordered[offset:offset + limit]


def fill_page(ranked: Sequence[Any], limit: int,
              keep: Callable[[list[Any]], list[Hit]]) -> list[Hit]:
    """Up to `limit` hits, in `ranked` order, from `keep`, asked for as many as are still
    missing each time: so payloads (a few KB each) are read for what is shown, and an item
    `keep` drops (deleted meanwhile, a copy) gives its place to the next."""
    hits: list[Hit] = []
    rest = list(ranked)
    while rest and len(hits) < limit:
        batch, rest = rest[:limit - len(hits)], rest[limit - len(hits):]
        hits += keep(batch)
    return hits


@dataclass(frozen=True)
class SearchFilters:
    """What a user can narrow results by; every field is optional."""

    tags: tuple[str, ...] = ()  # any of these tags or genres
    genres: tuple[str, ...] = ()
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    language: str | None = None
    has_speech: bool | None = None

    @property
    def empty(self) -> bool:
        return self == SearchFilters()
