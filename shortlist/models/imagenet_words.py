"""Map the 1000 fine ImageNet labels to the plain words people search with.

ImageNet orders its classes by WordNet branch, so contiguous index ranges share a
coarse category ("tiger cat" -> cat, pet, animal). Objects (398-999) are grouped by
words in their names instead.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

_RANGES: list[tuple[int, int, tuple[str, ...]]] = [
    (0, 6, ("fish", "animal", "underwater")),
    (7, 24, ("bird", "animal")),
    (25, 32, ("amphibian", "animal")),
    (33, 37, ("turtle", "reptile", "animal")),
    (38, 51, ("lizard", "reptile", "animal")),
    (52, 68, ("snake", "reptile", "animal")),
    (69, 79, ("spider", "insect", "animal")),
    (80, 100, ("bird", "animal")),
    (101, 101, ("elephant", "animal", "wildlife")),
    (102, 106, ("animal", "wildlife")),
    (107, 126, ("sea creature", "animal", "underwater")),
    (127, 146, ("bird", "animal")),
    (147, 150, ("whale", "sea creature", "animal")),
    (151, 268, ("dog", "pet", "animal")),
    (269, 280, ("wolf", "fox", "animal", "wildlife")),
    (281, 285, ("cat", "pet", "animal")),
    (286, 293, ("big cat", "wildlife", "animal")),
    (294, 297, ("bear", "wildlife", "animal")),
    (298, 299, ("animal", "wildlife")),
    (300, 326, ("insect", "animal")),
    (327, 329, ("sea creature", "animal", "underwater")),
    (330, 332, ("rabbit", "animal")),
    (333, 338, ("rodent", "animal")),
    (339, 339, ("horse", "animal")),
    (340, 353, ("animal", "wildlife")),
    (354, 364, ("animal", "wildlife")),
    (365, 384, ("monkey", "primate", "animal")),
    (385, 386, ("elephant", "animal", "wildlife")),
    (387, 388, ("panda", "animal")),
    (389, 397, ("fish", "animal", "underwater")),
    (924, 969, ("food",)),
    (970, 980, ("landscape", "nature", "outdoors")),
    (981, 983, ("person",)),
    (984, 997, ("plant", "nature")),
]

# Words in an object's name -> coarse words. Checked in order; every match counts.
_OBJECT_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (r"\b(car|cab|jeep|limousine|minivan|convertible|racer|wagon|pickup|model t|"
     r"police van|ambulance|go-kart|golfcart|moving van|tow truck|trailer truck|"
     r"garbage truck|fire engine|school bus|trolleybus|minibus|recreational vehicle)\b",
     ("car", "vehicle", "traffic")),
    (r"\b(bicycle|tricycle|unicycle|mountain bike)\b", ("bicycle", "cycling", "vehicle")),
    (r"\b(moped|motor scooter|crash helmet|disk brake)\b", ("motorcycle", "vehicle")),
    (r"\b(snorkel|bathing cap|swimming trunks|scuba diver|maillot|bikini)\b",
     ("swimming", "water", "sports")),
    (r"\b(tripod|reflex camera|Polaroid camera|lens cap|binoculars)\b",
     ("camera", "photography")),
    (r"\b(locomotive|freight car|passenger car|streetcar|bullet train|electric locomotive)\b",
     ("train", "railway", "vehicle")),
    (r"\b(airliner|warplane|airship|wing|space shuttle|missile|projectile)\b",
     ("aircraft", "flight", "sky")),
    (r"\b(canoe|speedboat|yawl|schooner|catamaran|trimaran|liner|container ship|"
     r"fireboat|gondola|lifeboat|pirate|submarine|aircraft carrier|paddle)\b",
     ("boat", "water", "sea")),
    # A bare "screen" is a display; "window screen" and "fire screen" are meshes.
    (r"\b(computer|laptop|notebook|desktop|computer keyboard|mouse|monitor|^screen|"
     r"hard disc|modem|printer|web site|cellular telephone|iPod)\b",
     ("computer", "technology")),
    (r"\b(television|home theater|entertainment center|projector|loudspeaker|"
     r"radio|tape player|cassette|CD player)\b", ("electronics", "technology")),
    (r"\b(guitar|piano|violin|cello|banjo|drum|accordion|harmonica|harp|sax|"
     r"trombone|cornet|flute|oboe|organ|marimba|maraca|gong|chime)\b",
     ("musical instrument", "music")),
    (r"\b(ball|racket|bat|rugby|volleyball|basketball|soccer|tennis|golf|ski|"
     r"balance beam|parallel bars|horizontal bar|puck|dumbbell|barbell)\b", ("sports",)),
    (r"\b(church|mosque|palace|castle|monastery|cinema|restaurant|"
     r"barbershop|bakery|butcher shop|grocery store|tobacco shop|toyshop|"
     r"shoe shop|confectionery|boathouse|triumphal arch|obelisk|dome|planetarium|"
     r"prison|greenhouse|bell cote|steel arch bridge|suspension bridge|viaduct|"
     r"street sign|traffic light|parking meter|streetcar)\b",
     ("building", "city", "architecture")),
    (r"\b(suit|gown|jersey|sweatshirt|cardigan|kimono|jean|miniskirt|bikini|"
     r"abaya|cloak|poncho|sarong|fur coat|lab coat|trench coat|pajama|apron|"
     r"bow tie|Windsor tie|sunglass|wig|mask|hat|cowboy hat|bonnet|sombrero)\b",
     ("clothing", "person", "fashion")),
    (r"\b(cup|mug|plate|bowl|frying pan|wok|teapot|coffeepot|espresso maker|"
     r"coffee mug|beer bottle|wine bottle|water bottle|pitcher|cocktail shaker|"
     r"refrigerator|microwave|toaster|dishwasher|stove|ladle|spatula)\b",
     ("kitchen", "food", "drink")),
    (r"\b(book jacket|comic book|crossword|envelope|menu|packet|binder|"
     r"web site|scoreboard|slide rule|rule)\b", ("text", "document")),
    (r"\b(tent|sleeping bag|mountain tent|lakeside|cliff|valley|volcano|alp)\b",
     ("outdoors", "nature")),
    (r"\b(library|bookshop|bookcase|book jacket)\b", ("books", "indoors")),
    (r"\b(rocket|space shuttle|telescope|radio telescope|missile|projectile|planetarium)\b",
     ("space", "rocket", "science")),
    (r"\b(microscope|oscilloscope|beaker|magnetic compass|syringe|stethoscope)\b",
     ("science", "laboratory")),
    (r"\b(sofa|studio couch|four-poster|bookcase|wardrobe|desk|dining table|"
     r"rocking chair|folding chair|chiffonier|quilt|window shade|lampshade)\b",
     ("furniture", "indoors", "home")),
    (r"\b(fountain(?! pen)|patio|picket fence|worm fence|stone wall|lawn mower|swing|"
     r"park bench|maze)\b", ("garden", "outdoors")),
    (r"\b(toy|teddy|jigsaw puzzle|balloon|pinwheel|yo-yo|piggy bank)\b", ("toy",)),
]


@functools.lru_cache(maxsize=1)
def words_digest() -> str:
    """Names the content of the words table: a change to it is a new tagger version."""
    from shortlist.versions import digest

    return digest(_RANGES, _OBJECT_WORDS, class_names())


@functools.lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, in model output order."""
    text = resources.files("shortlist.models").joinpath("data/imagenet_classes.txt").read_text()
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != 1000:
        raise RuntimeError(f"imagenet_classes.txt has {len(names)} names, expected 1000")
    return names


@functools.lru_cache(maxsize=1024)
def coarse_words(index: int) -> tuple[str, ...]:
    """Plain words for one ImageNet class, most specific first, the class's own name included."""
    name = class_names()[index]
    words: list[str] = [name.lower()]
    for lo, hi, group in _RANGES:
        if lo <= index <= hi:
            words.extend(group)
    if 398 <= index <= 923 or index in (998, 999):
        for pattern, group in _OBJECT_WORDS:
            if re.search(pattern, name, flags=re.IGNORECASE):
                words.extend(group)
    return tuple(dict.fromkeys(words))
