"""Words from WordNet for what the classifier sees, tags without filler, names that sound alike."""

from __future__ import annotations

import os
import subprocess
import sys

from shortlist.models.imagenet_words import class_names
from shortlist.models.wordnet import class_tags, class_words, noun_keywords
from shortlist.text import sound_keys


def _index(name: str) -> int:
    return [n.lower() for n in class_names()].index(name)


def test_a_class_gets_its_synonyms_and_what_kind_of_thing_it_is():
    tabby = class_words(_index("tabby"))
    assert {"tabby cat", "domestic cat", "house cat", "animal"} <= set(tabby)
    assert "food" in class_words(_index("strawberry"))
    assert "mountain" in class_words(_index("volcano"))


def test_classes_named_like_other_things_get_no_false_words():
    for mesh in ("window screen", "fire screen", "typewriter keyboard"):
        assert "computer" not in class_words(_index(mesh)), mesh
    assert "outer space" not in class_words(_index("space bar"))
    assert "garden" not in class_words(_index("fountain pen"))


def test_tags_are_plain_words_not_latin_names():
    assert class_tags(_index("tabby")) == ("domestic cat",)
    assert all(t.islower() for i in range(0, 1000, 7) for t in class_tags(i))


def test_a_classs_words_come_in_the_same_order_in_every_process():
    """Croquet ball is a kind of two things; their order (and so a tied tag's, and a
    title's) must not depend on the process's string hash salt. Salts 1 and 9 order NLTK's
    set of the two links differently (nltk 3.10)."""
    code = ("from shortlist.models.wordnet import class_tags, class_words; "
            f"print(class_tags({_index('croquet ball')}), class_words({_index('croquet ball')}))")
    runs = {subprocess.run([sys.executable, "-c", code], env={**os.environ,
                                                                "PYTHONHASHSEED": str(seed)},
                           capture_output=True, text=True, check=True).stdout
            for seed in (1, 9)}
    assert len(runs) == 1 and "croquet equipment" in runs.pop()


def test_spoken_tags_are_nouns_and_names_without_filler():
    said = ("You will own me another twenty and we'll be supposed to see the Ajanta Caves. "
            "The caves are famous for their paintings.")
    found = noun_keywords(said)
    assert "ajanta" in found and {"cave", "caves"} & set(found) and "painting" in found
    assert not {"another", "we'll", "supposed", "will"} & set(found)
    assert noun_keywords("egion-based segmentation") == ["segmentation"]


def test_a_misheard_name_still_sounds_the_same():
    heard = set(sound_keys("we walked into the edge en ta caves at dawn"))
    assert set(sound_keys("Ajanta", query=True)) & heard
    assert not set(sound_keys("Parliament", query=True)) & heard
