"""The names of ImageNet's 1000 classes, in the model's output order.

Their words (synonyms, what each is a kind of) come from WordNet: shortlist/models/wordnet.py.
"""

from __future__ import annotations

import functools
from importlib import resources


@functools.lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, in model output order."""
    text = resources.files("shortlist.models").joinpath("data/imagenet_classes.txt").read_text()
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != 1000:
        raise RuntimeError(f"imagenet_classes.txt has {len(names)} names, expected 1000")
    return names
