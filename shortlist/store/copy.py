"""Copy a whole catalogue from one store to another: how a catalogue that outgrew the
embedded store moves to a Qdrant server (`shortlist copy-store --to-url URL`).

Works through the store interface alone, so any two implementations do. Points keep their
payloads and dense vectors; keyword vectors are made again from the payload's words (the
same function ingest uses). Counted, and checked against the source, at the end.
"""

from __future__ import annotations

from shortlist.errors import StoreUnavailable
from shortlist.store.interface import VideoStore
from shortlist.store.records import VideoPoint, keyword_vector, with_moments


def copy_catalogue(source: VideoStore, target: VideoStore, batch: int = 256) -> int:
    """Upsert every point of `source` into `target`; returns how many. Raises
    StoreUnavailable if the target does not then hold every one of them."""
    copied = 0
    pending: list[dict] = []
    for payload in source.scroll(batch=batch):
        pending.append(payload)
        if len(pending) == batch:
            copied += _copy_batch(source, target, pending)
            pending = []
    if pending:
        copied += _copy_batch(source, target, pending)
    expected = source.count()
    held = target.count()
    if copied != expected or held < expected:
        raise StoreUnavailable(f"copied {copied} of {expected} videos, and the target holds "
                               f"{held}: run the copy again (it overwrites, never doubles)")
    return copied


def _copy_batch(source: VideoStore, target: VideoStore, payloads: list[dict]) -> int:
    ids = [p["video_id"] for p in payloads]
    vectors = source.vectors(ids, spaces=list(source.sizes))  # the moments too
    target.upsert([VideoPoint(p["video_id"], p, with_moments(vectors.get(p["video_id"], {})),
                              keyword_vector(p)) for p in payloads])
    return len(payloads)
