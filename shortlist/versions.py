"""Stage versions: what each stage's output depends on, from the components themselves.

Each stage's version is its component's own `name:version` (which carries every option
the component was built with) plus the stage's own budget settings. Tables a component
reads (the ImageNet words, the genre descriptions) enter through a digest of their
content, so editing one is a new version without anyone remembering to bump a number.
These strings key the task caches and are stored with every video (the reindex compares
them), so no setting can change a result without changing its stage's version.
"""

from __future__ import annotations

import hashlib
from typing import Any


def digest(*tables: Any) -> str:
    """8 hex digits naming the content of some tables (their repr)."""
    return hashlib.sha256(repr(tables).encode()).hexdigest()[:8]


def component_version(component: Any) -> str:
    return f"{component.name}:{component.version}"
