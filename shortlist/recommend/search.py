"""Text search: the query's dense vector(s) and its keywords, fused by reciprocal rank.

A query of comma-separated preferences ("comedy, sci-fi, dark tone") is searched as
one dense ranking for the whole query, one per preference and one keyword ranking, all
fused, so each chip pulls its own videos up instead of being averaged into one vague
vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from shortlist.errors import StoreUnavailable
from shortlist.models.text_embedding import TextEmbedder
from shortlist.models.video_embedding import VideoEmbedder
from shortlist.moments import locate, locate_clip, timed_moments
from shortlist.store.interface import VideoStore
from shortlist.store.records import MARENGO_CLIPS, MOMENTS, TEXT_SPACES, Hit, SearchFilters
from shortlist.text import query_sparse
from shortlist.versions import component_version

MAX_QUERY_CHARS = 500
_CHECKED: set[tuple[int, str]] = set()  # (store, embedder) pairs found to agree


def search(store: VideoStore, embedder: TextEmbedder, query: str, limit: int = 10,
           offset: int = 0, filters: SearchFilters | None = None,
           video_embedder: VideoEmbedder | None = None,
           spaces: Sequence[str] = TEXT_SPACES) -> list[Hit]:
    """`video_embedder` (Marengo, when on): the query in the video space too, one more vote.
    `spaces`: where the query's own vectors rank (the eval compares other choices)."""
    query = query.strip()
    if not query:
        raise ValueError("empty query: type some words to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"query too long: at most {MAX_QUERY_CHARS} characters")
    if limit < 1 or limit > 100:
        raise ValueError("limit must be between 1 and 100")
    if offset < 0:
        raise ValueError("offset cannot be negative")
    check_catalogue_embedder(store, embedder)
    vectors = embedder.embed_query(query_texts(query))
    dense = [v.tolist() for v in vectors]
    extra = ({video_embedder.space: video_embedder.embed_query([query])[0].tolist()}
             if video_embedder else None)
    hits = store.hybrid_search(dense, query_sparse(query), query, limit=limit, offset=offset,
                               filters=filters, spaces=spaces, extra=extra)
    # Which moment of each result: what is said or shown there (its moments' vectors), else
    # the video embedder's best clip; vectors fetched for the results that have any.
    clip_query = (extra or {}).get(video_embedder.space) if video_embedder else None
    timed = [h.video_id for h in hits
             if timed_moments(h.payload) or (clip_query and h.payload.get("video_clips"))]
    held = store.vectors(timed, spaces=[MOMENTS, MARENGO_CLIPS]) if timed else {}
    return [replace(h, moment=locate(h.payload, vectors[0], query, parts.get(MOMENTS))
                    or locate_clip(h.payload, clip_query, parts.get(MARENGO_CLIPS)))
            for h in hits for parts in [held.get(h.video_id, {})]]


def check_catalogue_embedder(store: VideoStore, embedder: TextEmbedder) -> None:
    """Refuse to search a catalogue whose text vectors another model made (same size or
    not, the cosines would mean nothing). Asked once per store and embedder."""
    ours = component_version(embedder)
    if (id(store), ours) in _CHECKED:
        return
    newest = store.newest(1)
    made_by = str((newest[0].get("models") or {}).get("embed") or "") if newest else ""
    theirs = ":".join(made_by.split(":")[:2])
    if theirs and theirs != ours:
        raise StoreUnavailable(
            f"this catalogue's text vectors were made by {theirs}, and queries would be "
            f"embedded by {ours}: set SHORTLIST_TEXT_EMBEDDER (and its model) back, or run "
            "`shortlist reindex` to embed the catalogue again (another vector size needs a "
            "new SHORTLIST_COLLECTION and `shortlist ingest`)")
    _CHECKED.add((id(store), ours))


class PlayableUrls:
    """Turns a payload into the URL to play: renditions published to the configured bucket
    get a public or freshly presigned URL; local ones keep their file URL.

    Only the configured bucket and base URL are trusted: a payload naming another bucket,
    or a URL of its own, never becomes a link or a redirect.
    """

    def __init__(self, public_base_url: str | None = None, ttl_s: int = 3600,
                 bucket: str | None = None) -> None:
        self.public_base_url = public_base_url
        self.ttl_s = ttl_s
        self.bucket = bucket
        self._client = None

    def for_payload(self, payload: dict[str, Any]) -> str | None:
        published = self.published(payload)
        if published:
            return published
        url = payload.get("url")
        return url if isinstance(url, str) and url.startswith("file:") else None

    def poster_for(self, payload: dict[str, Any]) -> str | None:
        """The poster's published URL, else its file URL; None for a video without one."""
        published = self.published(payload, "poster_s3")
        if published:
            return published
        path = payload.get("poster_path")
        return _file_url(path) if isinstance(path, str) and path else None

    def published(self, payload: dict[str, Any], field: str = "rendition_s3") -> str | None:
        """The http(s) URL of the rendition (or the poster) in the configured bucket, or
        None."""
        s3_url = payload.get(field)
        if not (self.bucket and isinstance(s3_url, str)
                and s3_url.startswith(f"s3://{self.bucket}/")):
            return None
        from shortlist.media.s3 import playable_url, s3_client

        if self._client is None and not self.public_base_url:
            self._client = s3_client()
        return playable_url(s3_url, self.public_base_url, self.ttl_s, self._client)


def _file_url(path: str) -> str:
    """A local file's URL. `absolute()`, not `resolve()`: resolving asks the file system
    about every folder of the path, and that was half of turning ten hits into JSON (0.64
    -> 0.34 ms); a link in the path still names the same file."""
    return Path(path).absolute().as_uri()


def split_preferences(query: str) -> list[str]:
    return [p.strip() for p in query.replace(";", ",").split(",") if p.strip()][:8]


def query_texts(query: str) -> list[str]:
    """What a query's vectors are embedded from: the whole query, then each preference when
    there are several. The whole query ranks too: "nature, outdoors, calm" means more
    together than "calm" alone, while each preference still pulls up its own videos."""
    parts = split_preferences(query)
    return [query, *parts] if len(parts) > 1 else [query]


def result_record(hit: Hit, urls: PlayableUrls | None = None) -> dict[str, Any]:
    """The shape every result takes in JSON output, CLI and HTTP alike."""
    p = hit.payload
    return {
        "video_id": hit.video_id,
        "score": round(hit.score, 4),
        "source": p.get("source"),
        "url": urls.for_payload(p) if urls else p.get("url"),
        "poster_url": (urls.poster_for(p) if urls else
                       _file_url(p["poster_path"]) if p.get("poster_path") else None),
        "title": p.get("title", ""),
        "tags": p.get("tags", []),
        "genres": p.get("genres", []),
        "duration_s": p.get("duration_s"),
        "description": p.get("description", ""),
        # Where in the video the search matched; null when the whole video is the match.
        "start_s": (hit.moment or {}).get("start_s"),
        "end_s": (hit.moment or {}).get("end_s"),
        "moment_text": (hit.moment or {}).get("moment_text"),
    }
