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

from shortlist.media.transcode import Rendition
from shortlist.models.text_embedding import TextEmbedder
from shortlist.models.wordnet import is_english_word, noun_keywords
from shortlist.signals import Description, Signals

# Genre -> words that describe it; the describer matches a video's text against these.
# An open vocabulary of what people film and talk about (after the topic lists of video
# sites), not the sample corpus's own categories.
GENRES: dict[str, str] = {
    "animals": "animals, pets, dogs, cats, farm animals, zoo",
    "wildlife": "wild animals, wildlife, safari, jungle, monkeys, lions, bears",
    "birds": "birds, parrots, eagles, birdwatching",
    "sea life": "fish, whales, sharks, coral reef, underwater, aquarium",
    "insects": "insects, butterflies, bees, spiders, bugs",
    "nature": "nature, landscapes, mountains, lakes, forests, rivers, scenery",
    "plants and flowers": "plants, flowers, gardens, trees, gardening",
    "weather": "weather, storms, rain, snow, sunsets, clouds",
    "food and cooking": "food, cooking, recipes, kitchen, baking, fruit, vegetables, meals",
    "drinks": "drinks, coffee, tea, wine, beer, cocktails",
    "travel": "travel, tourism, holidays, destinations, sightseeing",
    "monuments and landmarks": "famous monuments, landmarks, palaces, temples, castles, "
                               "cathedrals, historic sites",
    "architecture": "architecture, buildings, houses, skyscrapers, interiors",
    "city life": "city, streets, urban life, traffic, crowds, pedestrians",
    "art": "art, paintings, painters, drawing, sculpture, museums, graffiti",
    "music": "music, songs, singing, bands, concerts, musical instruments",
    "dance": "dance, dancing, ballet, choreography",
    "film and animation": "films, movies, cartoons, animation, cinema",
    "comedy": "comedy, jokes, humour, funny sketches",
    "sports": "sports, athletes, football, basketball, swimming, matches, competitions",
    "fitness": "fitness, exercise, gym, workouts, running, yoga",
    "cycling": "cycling, bicycles, bike rides",
    "cars and vehicles": "cars, motorcycles, trucks, vehicles, driving, traffic",
    "aviation": "aircraft, aeroplanes, flying, airports, pilots",
    "boats and ships": "boats, ships, sailing, harbours, canals",
    "trains": "trains, railways, stations",
    "technology": "technology, computers, software, programming, gadgets, electronics",
    "science": "science, physics, chemistry, biology, research, experiments, scientists",
    "space": "space, astronomy, planets, stars, galaxies, rockets, astronauts, the moon",
    "medicine and health": "medicine, health, doctors, hospitals, nurses, disease, patients",
    "law and justice": "law, courts, judges, lawyers, crime, police, justice",
    "politics": "politics, government, elections, politicians, democracy, presidents",
    "history": "history, the past, wars, ancient civilisations, historical events",
    "religion": "religion, faith, prayer, churches, temples, spirituality",
    "education": "education, school, teachers, students, lessons, university, lectures",
    "books and literature": "books, literature, writers, poetry, novels, reading",
    "business and work": "business, work, jobs, offices, careers, employees, bosses",
    "money and finance": "money, finance, banks, economy, markets, investing",
    "fashion and beauty": "fashion, clothes, style, beauty, make-up",
    "family and children": "family, children, babies, parents, kids",
    "people": "people, portraits, faces, friends, parties, interviews",
    "news": "news, reports, current events, journalism",
    "games": "video games, board games, gaming, puzzles",
    "crafts and diy": "crafts, do it yourself, making things, woodwork, sewing",
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
    """Local rules (here) or Gemini watching the video (shortlist/cloud/gemini.py)."""

    name: str
    version: str

    def describe(self, signals: Signals, rendition: Rendition) -> Description: ...


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

    def describe(self, signals: Signals, rendition: Rendition | None = None) -> Description:
        """From the signals alone: the rendition is not looked at again."""
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
        """Words a person would tag the video with: what is seen, heard, said and written;
        spoken and written words only where they are nouns (WordNet), so no filler."""
        found: list[str] = []
        if s.visual:
            found += [w.name for w in s.visual.words[:6]]
            found += [lb.name.split(",")[0] for lb in s.visual.labels[:2] if lb.score >= 0.15]
        if s.audio:
            found += [AUDIO_TAGS[lb.name] for lb in s.audio.labels if lb.name in AUDIO_TAGS
                      and lb.score >= 0.2 and lb.name != "Silence"]
        if s.transcript and s.transcript.text:
            found += noun_keywords(s.transcript.text, limit=5)
        if s.ocr_lines:
            found += noun_keywords(" ".join(s.ocr_lines), limit=3)
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
    """What the video is about, as a person would title it: a clean on-screen caption, else
    the main things said, else the main thing seen."""
    for line in s.ocr_lines:
        if _reads_as_words(line):
            return line[:60]
    if s.transcript and s.transcript.text:
        said = noun_keywords(s.transcript.text, limit=3)
        if said:
            return _listed(said)
    seen = [lb.name.split(",")[0] for lb in (s.visual.labels if s.visual else ())
            if lb.score >= 0.3][:1]
    seen += [w.name for w in (s.visual.words if s.visual else ())][:2 - len(seen)]
    if seen:
        return _listed(seen)
    heard = [t for t in tags if t not in ("speech", "silence")][:2]
    return _listed(heard) if heard else "Untitled video"


def _listed(words: list[str]) -> str:
    text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return text[0].upper() + text[1:]


def _reads_as_words(line: str) -> bool:
    """An on-screen line of 2 to 8 words, nearly all of them English (a caption, not an OCR
    fragment like "egion-based segmentation")."""
    words = re.findall(r"[A-Za-z]+", line)
    if not 2 <= len(words) <= 8:
        return False
    return sum(is_english_word(w) for w in words) >= 0.8 * len(words)


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
