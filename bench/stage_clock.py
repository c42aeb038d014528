"""Seconds spent per named stage, summed over calls: shared by the ingest benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class StageClock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
