"""Remember which files failed and why, so `list --failed` can show them and reruns skip them.

Keyed by content hash and pipeline fingerprint: a fixed file, or a new model, gets another try.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

_lock = threading.Lock()


class FailureLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, dict]:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _write(self, data: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        os.replace(tmp, self.path)

    def record(self, source: str, sha256: str, fingerprint: str, error: str) -> None:
        with _lock:
            data = self._read()
            data[source] = {"source": source, "sha256": sha256, "fingerprint": fingerprint,
                            "error": error, "failed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                       time.gmtime())}
            self._write(data)

    def clear(self, source: str) -> None:
        with _lock:
            data = self._read()
            if data.pop(source, None) is not None:
                self._write(data)

    def lookup(self, source: str, sha256: str, fingerprint: str) -> str | None:
        """The recorded error when this exact file failed under this configuration."""
        entry = self._read().get(source)
        if entry and entry["sha256"] == sha256 and entry["fingerprint"] == fingerprint:
            return entry["error"]
        return None

    def all(self) -> list[dict]:
        return sorted(self._read().values(), key=lambda e: e["source"])
