"""Word handling shared by the describer, the sparse vectors and search: tokens and keywords."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
i'm it's don't that's there's can't won't isn't let's we're they're you're i've i'll uh um
oh okay yeah hi hello get got go going like one two thing things really well know say said
make made way much many even still us
""".split())

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens with stop words removed; keeps digits and non-ASCII letters."""
    out = []
    for w in _WORD.findall(text.lower()):
        w = w.replace("’", "'")
        if w in STOPWORDS or len(w) < 2:
            continue
        out.append(_stem(w))
    return out


def _stem(word: str) -> str:
    """A light plural stemmer, so 'cats' finds 'cat' without a stemming library."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def keywords(text: str, limit: int = 6) -> list[str]:
    """The most frequent content words of a text, longest first on ties."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) >= 4]
    counts = Counter(words)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))
    return [w for w, _ in ranked[:limit]]


def sparse_weights(weighted_texts: Iterable[tuple[str, float]],
                   sounds: str = "") -> dict[int, float]:
    """A video's keyword vector: Qdrant's BM25 term weights (English stemming and stop
    words) of each field, scaled by the field's weight and summed; IDF is applied by the
    engine. The sound keys of `sounds` count as terms too, at half weight (see sound_keys).
    Both stores take the same vector, so keyword ranking agrees across backends."""
    weights: dict[int, float] = {}
    for text, weight in [*weighted_texts, (" ".join(sound_keys(sounds)), 0.5)]:
        if not text.strip():
            continue
        vector = _bm25().embed_document(text)
        for index, value in zip(vector.indices, vector.values, strict=True):
            weights[index] = weights.get(index, 0.0) + weight * value
    return {i: round(w, 4) for i, w in weights.items()}


def query_sparse(query: str) -> dict[int, float]:
    """A query's keyword vector: its stemmed words and sound keys, each once (IDF weighs
    them). A query of stop words alone matches nothing, not the sound of "theand"."""
    words = _bm25().embed_query(query).indices
    if not words:
        return {}
    keys = " ".join(sound_keys(query, query=True))
    sounds = _bm25().embed_query(keys).indices if keys else []
    return dict.fromkeys([*words, *sounds], 1.0)


@functools.cache
def _bm25():
    """Qdrant Edge's BM25 tokenizer (the engine's own, so a Qdrant server's `qdrant/bm25`
    inference would split words the same way)."""
    from qdrant_edge import Bm25

    return Bm25()


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)]}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord("\\"): "\\\\"})


def one_line(text: object) -> str:
    """`text` fit for one line of line-based output: a file name holding a newline (or any
    control character) is written escaped, as `ls -b` would, so it cannot forge a line."""
    return str(text).translate(_CONTROL)



SOUND_PREFIX = "zq"  # marks a sound key among words (no English word starts so)


def sound_keys(text: str, query: bool = False) -> list[str]:
    """Metaphone keys of a text's words, and of each two and three words run together, so
    a name the speech recogniser split or misheard ("Ajanta" heard as "edge en ta": AJNT
    both) still matches. Leading vowels count as one sound, as they do in speech.
    For a query, only the words of at least four letters and their pairs."""
    import jellyfish

    words = [w for w in _WORD.findall(text.lower()) if w.isalpha()]
    spans = [w for w in words if len(w) >= (4 if query else 3) and w not in STOPWORDS]
    for n in (2,) if query else (2, 3):
        spans += ["".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    keys = []
    for span in spans:
        key = jellyfish.metaphone(span)
        if len(key) >= 3:
            key = ("A" + key[1:]) if key[0] in "AEIOU" else key
            keys.append(SOUND_PREFIX + key.lower())
    return list(dict.fromkeys(keys))
