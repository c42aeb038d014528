"""ImageNet class names to the plain words search and tags use: no false friends."""

from __future__ import annotations

from shortlist.models.imagenet_words import class_names, coarse_words


def test_classes_named_like_other_things_get_no_false_words():
    names = class_names()
    words = {names[i].lower(): set(coarse_words(i)) for i in range(1000)}
    assert "computer" in words["laptop"] and "computer" in words["screen"]
    for mesh in ("window screen", "fire screen", "typewriter keyboard"):
        assert "computer" not in words[mesh], mesh  # a lake seen through a mesh is no computer
    assert "space" not in words["space bar"] | words["space heater"]
    assert "space" in words["space shuttle"]
    assert "garden" not in words["fountain pen"] and "garden" in words["fountain"]
