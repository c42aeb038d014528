"""Hand out GPU devices to GPU-tagged work, one holder per device, across threads and processes.

Prefect's tag concurrency limits count slots but do not say which GPU a task
should use. Each device here is a lock file; holding the lock is owning the device.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path


class GpuSlots:
    def __init__(self, count: int, lock_dir: Path, poll_s: float = 0.05) -> None:
        self.count = count
        self.lock_dir = lock_dir
        self.poll_s = poll_s
        self._local = threading.Lock()
        self._held: set[int] = set()

    @contextlib.contextmanager
    def acquire(self, timeout_s: float | None = None) -> Iterator[int | None]:
        """Yield a free device index (None when no GPU is configured), blocking until one frees."""
        if self.count <= 0:
            yield None
            return
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            got = self._try_any()
            if got is not None:
                index, fd = got
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"no GPU free among {self.count} within {timeout_s} s")
            time.sleep(self.poll_s)
        try:
            yield index
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            with self._local:
                self._held.discard(index)

    def _try_any(self) -> tuple[int, int] | None:
        for index in range(self.count):
            with self._local:  # flock is per process: threads of one process need this too
                if index in self._held:
                    continue
                fd = os.open(self.lock_dir / f"gpu{index}.lock", os.O_CREAT | os.O_RDWR, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                self._held.add(index)
                return index, fd
        return None


def device_name(index: int | None) -> str:
    return "cpu" if index is None else f"cuda:{index}"
