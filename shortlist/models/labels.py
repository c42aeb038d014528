"""Small records shared by the taggers: a label with its score."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    name: str
    score: float

    def as_dict(self) -> dict[str, float | str]:
        return {"name": self.name, "score": round(self.score, 4)}
