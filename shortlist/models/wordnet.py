"""The words of an ImageNet class, from WordNet itself: its synonyms, and what kind of thing it is.

ImageNet's 1000 classes are WordNet noun synsets (data/imagenet_wnids.txt gives each
class's id, in the model's output order: the list timm ships). WordNet 3.0 comes from
Debian's `wordnet-base` and is read with NLTK's WordNet reader. Debian leaves out one
small index file NLTK wants (`lexnames`, the names of WordNet's 45 lexicographer files,
fixed since WordNet 3.0), so the reader gets a folder with copies of Debian's files (NLTK
refuses links, hard or symbolic, out of its folder) plus that list.
"""

from __future__ import annotations

import functools
import os
import shutil
from importlib import resources
from pathlib import Path

from shortlist.settings import user_cache_dir

DEBIAN_WORDNET = Path("/usr/share/wordnet")
# WordNet 3.0's lexicographer files, numbered as in its `lexnames` file.
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food "
    "noun.group noun.location noun.motive noun.object noun.person noun.phenomenon "
    "noun.plant noun.possession noun.process noun.quantity noun.relation noun.shape "
    "noun.state noun.substance noun.time verb.body verb.change verb.cognition "
    "verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative "
    "verb.weather adj.ppl").split()
_SYNTACTIC_CATEGORY = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}


class WordNetMissing(RuntimeError):
    pass


@functools.lru_cache(maxsize=1)
def wordnet():
    """NLTK's reader over Debian's WordNet 3.0 (WORDNET_DIR overrides where it lies)."""
    source = Path(os.environ.get("WORDNET_DIR", DEBIAN_WORDNET))
    if not (source / "data.noun").exists():
        raise WordNetMissing(f"WordNet is not installed at {source}: "
                             "apt-get install wordnet-base (or set WORDNET_DIR)")
    folder = _reader_folder(source)
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    if str(folder) not in nltk.data.path:  # NLTK reads only folders on its data path
        nltk.data.path.append(str(folder))
    import warnings

    class EnglishWordNet(WordNetCorpusReader):
        def map_wn(self, version="wordnet"):
            # Maps synsets to NLTK's own downloaded copy, for its multilingual data: this
            # reader has neither, and needs no mapping.
            return None

    with warnings.catch_warnings():  # "multilingual functions are not available": not used
        warnings.simplefilter("ignore", UserWarning)
        return EnglishWordNet(str(folder), None)


def _reader_folder(source: Path) -> Path:
    folder = user_cache_dir() / "wordnet-3.0"
    if (folder / "lexnames").exists() and (folder / "data.noun").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for f in source.iterdir():
        target = folder / f.name
        if f.is_file() and not target.exists():
            shutil.copyfile(f, target)
    partial = folder / "lexnames.partial"
    partial.write_text("".join(f"{i:02d}\t{name}\t{_SYNTACTIC_CATEGORY[name.split('.')[0]]}\n"
                               for i, name in enumerate(LEXNAMES)))
    partial.replace(folder / "lexnames")
    return folder


@functools.lru_cache(maxsize=1)
def imagenet_wnids() -> tuple[str, ...]:
    text = resources.files("shortlist.models").joinpath("data/imagenet_wnids.txt").read_text()
    wnids = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(wnids) != 1000:
        raise RuntimeError(f"imagenet_wnids.txt has {len(wnids)} ids, expected 1000")
    return wnids


def synset_of_class(index: int):
    return wordnet().synset_from_pos_and_offset("n", int(imagenet_wnids()[index][1:]))


@functools.lru_cache(maxsize=4096)
def class_words(index: int, hypernym_levels: int = 1, kind: bool = True) -> tuple[str, ...]:
    """The class's synonyms, the synonyms of its hypernyms `hypernym_levels` up, and the
    kind of thing WordNet files it under ("animal", "food", "plant", "person"...)."""
    synset = synset_of_class(index)
    words = _lemmas(synset)
    level = [synset]
    for _ in range(hypernym_levels):
        level = [h for s in level for h in _hypernyms(s)]
        words += [w for s in level for w in _lemmas(s)]
    if kind:
        lexname = synset.lexname().split(".", 1)[1]
        if lexname != "Tops":
            words.append(lexname)
    return tuple(dict.fromkeys(words))


@functools.lru_cache(maxsize=4096)
def class_tags(index: int) -> tuple[str, ...]:
    """Plain tag words for a class: the common name of what it is a kind of ("tabby" ->
    "domestic cat", "sports car" -> "car"), leaving out Latin and proper names."""
    synset = synset_of_class(index)
    names = [h.lemma_names()[0].replace("_", " ") for h in _hypernyms(synset)]
    return tuple(n for n in dict.fromkeys(names) if n.islower())


def class_gloss(index: int) -> str:
    return synset_of_class(index).definition()


def _hypernyms(synset) -> list:
    """In one fixed order, by their place in the database file. NLTK keeps a synset's
    links in a set, so its `hypernyms()` order changed from process to process (string
    hashes are salted), and with it the order of tied tags and a title: ingesting the same
    video twice gave "Croquet ball and croquet equipment", then "Croquet ball and ball"."""
    return sorted(synset.hypernyms(), key=lambda h: h.offset())


def _lemmas(synset) -> list[str]:
    return [name.replace("_", " ") for name in synset.lemma_names()]


@functools.lru_cache(maxsize=65536)
def is_noun(word: str) -> bool:
    """A noun in WordNet, plurals included ("caves" -> "cave"), that names more than a
    number ("twenty" is only a quantity)."""
    return any(s.lexname() != "noun.quantity" for s in wordnet().synsets(word.lower(), pos="n"))


@functools.lru_cache(maxsize=65536)
def is_english_word(word: str) -> bool:
    return bool(wordnet().synsets(word.lower())) or word.lower() in _FUNCTION_WORDS


_FUNCTION_WORDS = frozenset("a an the of and or to in on at for with by from is are be this "
                            "that it its as not no".split())


def noun_keywords(text: str, limit: int = 6) -> list[str]:
    """The most frequent nouns and names of a text (nouns singular, as WordNet has them),
    longest first on ties: tags without filler ("we'll", "another", "supposed") or OCR
    fragments. A name is a capitalised word that does not start a sentence ("Ajanta")."""
    import re
    from collections import Counter

    from shortlist.text import STOPWORDS

    names = {m.group(1).lower() for m in re.finditer(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]{3,})\b",
                                                     text.strip())}
    counts: Counter[str] = Counter()
    for w in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text.lower()):
        if len(w) < 4 or w in STOPWORDS or "'" in w:
            continue
        if w in names:
            counts[w] += 1
        elif is_noun(w):
            counts[wordnet().morphy(w, "n") or w] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))
    return [w for w, _ in ranked[:limit]]
