"""More like this: neighbours by picture, sound and words together, minus the video's own copies."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from shortlist.errors import NotFound
from shortlist.moments import moment_vector
from shortlist.store.interface import VideoStore
from shortlist.store.records import AUDIO, MOMENTS, SPEECH, TEXT, VISUAL, Hit, fill_page

# A re-encode or re-upload of the same content keeps its length and words and nearly its
# picture (frames sampled at 1 fps land on slightly different moments, so not exactly).
SAME_TEXT = 0.95
SAME_PICTURE = 0.85
SAME_SOUND = 0.9
DUPLICATE_SPACES = (VISUAL, TEXT, AUDIO)  # what is_duplicate compares


def similar(store: VideoStore, video_id: str, limit: int = 10,
            at_s: float | None = None) -> list[Hit]:
    """`at_s`: like the moment playing then (shortlist/moments.py): its words stand for the
    video's in the text and speech spaces; picture and sound stay the video's."""
    if limit < 1 or limit > 100:
        raise ValueError("limit must be between 1 and 100")
    own = store.vectors([video_id]).get(video_id)
    record = store.get(video_id)
    if own is None or record is None:
        raise NotFound(f"no video with id {video_id!r}")
    duration = float(record.get("duration_s") or 0.0)
    vectors = {k: v for k, v in own.items() if k in (VISUAL, AUDIO, TEXT)}
    if at_s is not None:
        held = store.vectors([video_id], spaces=[MOMENTS]).get(video_id, {})
        _, words = moment_vector(record, at_s, held.get(MOMENTS))
        vectors[TEXT] = vectors[SPEECH] = words.astype(float).tolist()
    hits = [h for h in store.fused_neighbours(vectors, limit=limit * 3 + 5, exclude=[video_id])
            if h.video_id != video_id]
    # Payloads for the videos shown only, read as the video's own copies (which need their
    # lengths) are left out.
    return fill_page(hits, limit, lambda batch: [
        h for h in with_payloads(store, batch) if not is_duplicate(
            own, duration, h.vectors or {}, float(h.payload.get("duration_s") or 0.0))])


def with_payloads(store: VideoStore, hits: list[Hit]) -> list[Hit]:
    """The hits with their whole payloads; one deleted meanwhile is left out."""
    payloads = {p["video_id"]: p for p in store.get_many([h.video_id for h in hits])}
    return [replace(h, payload=payloads[h.video_id]) for h in hits if h.video_id in payloads]


def is_duplicate(a: dict[str, list[float]], a_duration: float,
                 b: dict[str, list[float]], b_duration: float) -> bool:
    """Same content: same length, near-identical words and sound, very similar picture."""
    if not same_length(a_duration, b_duration):
        return False
    if VISUAL not in a or VISUAL not in b or _cos(a[VISUAL], b[VISUAL]) < SAME_PICTURE:
        return False
    if TEXT in a and TEXT in b and _cos(a[TEXT], b[TEXT]) < SAME_TEXT:
        return False
    if (AUDIO in a) != (AUDIO in b):
        return False
    return not (AUDIO in a and _cos(a[AUDIO], b[AUDIO]) < SAME_SOUND)


def same_length(a_duration: float | np.ndarray, b_duration: float | np.ndarray
                ) -> bool | np.ndarray:
    """Lengths a re-encode of the same video may have (containers round differently).
    Two numbers, or two arrays (pairwise, as NumPy broadcasts them)."""
    return np.abs(a_duration - b_duration) <= np.maximum(
        0.5, 0.02 * np.maximum(a_duration, b_duration))


def _cos(x: list[float], y: list[float]) -> float:
    u, v = np.asarray(x), np.asarray(y)
    return float(u @ v / ((np.linalg.norm(u) * np.linalg.norm(v)) or 1.0))
