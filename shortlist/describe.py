"""Fuse a video's signals into {title, genres, description, tags}.

The local describer is plain rules over the model outputs plus zero-shot genre
matching with the text embedder. A cloud describer (Gemini on Vertex AI) returns
the same Description record, so callers never know which one ran.
"""

from __future__ import annotations

import re
import threading
from typing import Protocol

import numpy as np

from shortlist.models.text_embedding import TextEmbedder
from shortlist.signals import Description, Signals
from shortlist.text import keywords

# Genre -> words that describe it; the describer matches a video's text against these.
GENRES: dict[str, str] = {
    "technology": "computers, software, programming, hackers, internet, machines, technology",
    "science": "science, physics, chemistry, biology, research, experiments, scientists, space",
    "politics": "politics, government, elections, politicians, law, democracy, president",
    "education": "education, school, teachers, learning, students, university, lecture",
    "literature": "literature, books, poetry, poets, writers, novels, reading, library",
    "work": "work, jobs, office, business, boss, money, careers, employees",
    "comedy": "comedy, jokes, funny, humor, silly",
    "nature": "nature, landscape, outdoors, forest, mountains, sea, sky, plants",
    "animals": "animals, pets, cats, dogs, birds, wildlife",
    "animation": "animation, cartoon, animated film, cartoon characters",
    "music": "music, songs, singing, musical instruments, concert",
    "sports": "sports, athletes, games, cycling, bicycles, running, ball",
    "city life": "city, streets, buildings, urban, traffic, pedestrians, crowd",
    "food": "food, cooking, kitchen, eating, drinks, coffee",
    "vehicles": "cars, traffic, vehicles, driving, transport, trains, aircraft",
    "people": "people, person, face, portrait, talking head, interview",
}
# Audio labels worth keeping as tags, in plain words.
AUDIO_TAGS = {
    "Speech": "speech", "Music": "music", "Singing": "singing", "Laughter": "laughter",
    "Vehicle": "vehicle sounds", "Engine": "engine", "Car": "car sounds",
    "Applause": "applause", "Crowd": "crowd", "Bird": "birdsong", "Dog": "dog barking",
    "Water": "water", "Wind": "wind", "Rain": "rain", "Traffic noise, roadway noise": "traffic",
    "Guitar": "guitar", "Piano": "piano", "Drum": "drums", "Silence": "silence",
    "Animal": "animal sounds", "Speech synthesizer": "synthetic voice",
}


class Describer(Protocol):
    name: str
    version: str

    def describe(self, signals: Signals) -> Description: ...


class LocalDescriber:
    """Offline describer: model labels, transcript and OCR fused by rules."""

    name = "local"

    @property
    def version(self) -> str:
        """The rules' version, and the content of the tables they read."""
        from shortlist.versions import digest

        return f"rules-1+tables-{digest(GENRES, AUDIO_TAGS)}"

    def __init__(self, embedder: TextEmbedder, max_genres: int = 2) -> None:
        self.embedder = embedder
        self.max_genres = max_genres
        self._genre_vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Embed the genre descriptions now (otherwise on the first video)."""
        with self._lock:
            if self._genre_vectors is None:
                self._genre_vectors = self.embedder.embed(list(GENRES.values()))

    def describe(self, signals: Signals) -> Description:
        tags = self._tags(signals)
        transcript = signals.transcript.text if signals.transcript else ""
        ocr = " ".join(signals.ocr_lines)
        genres = self._genres(" ".join([", ".join(tags), transcript[:1000], ocr]))
        moods = _moods(signals)
        return Description(
            title=_title(signals, tags),
            genres=genres,
            description=_sentence(signals, tags, genres),
            tags=tags,
            moods=moods,
            describer=f"{self.name}:{self.version}",
        )

    def _tags(self, s: Signals) -> tuple[str, ...]:
        found: list[str] = []
        if s.visual:
            found += [w.name for w in s.visual.words[:6]]
            found += [lb.name.split(",")[0] for lb in s.visual.labels[:2] if lb.score >= 0.15]
        if s.audio:
            found += [AUDIO_TAGS[lb.name] for lb in s.audio.labels if lb.name in AUDIO_TAGS
                      and lb.score >= 0.2 and lb.name != "Silence"]
        if s.transcript and s.transcript.text:
            found += keywords(s.transcript.text, limit=5)
        if s.ocr_lines:
            found += keywords(" ".join(s.ocr_lines), limit=3)
        return tuple(dict.fromkeys(t.lower() for t in found if t))[:16]

    def _genres(self, text: str) -> tuple[str, ...]:
        if not text.strip():
            return ()
        self.load()
        doc = self.embedder.embed([text])[0]
        sims = self._genre_vectors @ doc
        names = list(GENRES)
        order = np.argsort(-sims)
        best = float(sims[order[0]])
        if best < 0.15:
            return ()
        picked = [names[i] for i in order[: self.max_genres] if sims[i] >= best - 0.06]
        return tuple(picked)


def _title(s: Signals, tags: tuple[str, ...]) -> str:
    if s.transcript and s.transcript.text:
        first = re.split(r"(?<=[.!?])\s+", s.transcript.text.strip())[0]
        words = first.split()
        title = " ".join(words[:8]).rstrip(",;:")
        if len(words) > 8:
            title += "…"
        if len(title) >= 8:
            return title[0].upper() + title[1:]
    for line in s.ocr_lines:
        if len(line) >= 4:
            return line[:60]
    if tags:
        head = [t for t in tags if t not in ("music", "speech", "silence")][:2] or list(tags[:2])
        return " and ".join(head).capitalize()
    return "Untitled video"


def _sentence(s: Signals, tags: tuple[str, ...], genres: tuple[str, ...]) -> str:
    parts = [f"A {round(s.duration_s)}-second video"]
    if genres:
        parts[0] += f" ({', '.join(genres)})"
    visual = [w.name for w in s.visual.words[:4]] if s.visual else []
    if visual:
        parts.append("showing " + ", ".join(visual))
    sounds = [AUDIO_TAGS[lb.name] for lb in (s.audio.labels if s.audio else ())
              if lb.name in AUDIO_TAGS and lb.score >= 0.2]
    if sounds:
        parts.append("with " + ", ".join(dict.fromkeys(sounds)) + " on the soundtrack")
    text = ", ".join(parts) + "."
    if s.transcript and s.transcript.text:
        quote = s.transcript.text[:160] + ("…" if len(s.transcript.text) > 160 else "")
        text += f" Someone says: “{quote}”"
    if s.ocr_lines:
        text += f" On-screen text: “{' / '.join(s.ocr_lines[:3])[:120]}”."
    return text


def _moods(s: Signals) -> tuple[str, ...]:
    moods = []
    if s.visual and s.visual.brightness is not None:
        if s.visual.brightness < 0.28:
            moods.append("dark")
        elif s.visual.brightness > 0.6:
            moods.append("bright")
    if s.audio is None or s.audio.loudness_db < -40:
        moods.append("calm")
    elif any(lb.name == "Music" and lb.score >= 0.3 for lb in s.audio.labels) \
            and s.audio.loudness_db > -25:
        moods.append("energetic")
    return tuple(moods)
