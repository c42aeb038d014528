"""Asking a running `shortlist serve` to do work that needs the store it owns."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shortlist.errors import NotFound, StoreUnavailable
from shortlist.settings import Settings


def serving_client(settings: Settings, timeout_s: float = 60.0) -> ServeClient | None:
    """The `shortlist serve` of another process that owns this embedded store, with this
    user's credential (the API key, else the server's token), or None.

    Asked by `Components.store()` (shortlist/runtime.py), the one place that decides
    whether a process uses the store itself or through a server, and by the reindex.
    """
    if settings.qdrant_url or settings.pg_dsn:
        return None  # a Qdrant or PostgreSQL server admits every process: use it directly
    from shortlist.api.auth import credential_for
    from shortlist.store.owner import current_owner

    owner = current_owner(settings.data_dir)
    if owner is None or owner.pid == os.getpid():
        return None
    return ServeClient(owner.url, credential_for(settings.data_dir, settings.api_key),
                       timeout_s=timeout_s)


class ServeClient:
    """The store calls, ingest's writes and the reindex of this user's other processes,
    answered by the running `shortlist serve` that owns the embedded store (which admits
    one process): the HTTP end of ServedStore."""

    def __init__(self, base_url: str, api_key: str | None = None,
                 timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s

    def store_call(self, operation: str, arguments: dict) -> object:
        """POST /admin/store/{operation}: one call of the store interface (ServedStore)."""
        return self._call("POST", f"/admin/store/{operation}", arguments)["result"]

    def store_scroll(self, batch: int) -> Iterator[dict]:
        """Every payload in the catalogue, streamed by the server one JSON line each and
        closed by `{"_end": count}`: a stream cut short raises instead of ending early."""
        seen = 0
        with self._open("GET", f"/admin/store/scroll?batch={batch}") as resp:
            for line in resp:
                row = json.loads(line) if line.strip() else None
                if row is None:
                    continue
                if "_end" in row and len(row) == 1:
                    if row["_end"] != seen:
                        break
                    return
                seen += 1
                yield row
        raise StoreUnavailable(f"the server at {self.base_url} stopped sending the catalogue "
                               f"after {seen} videos")

    def reindex(self, tracked: list[str]) -> dict:
        """POST /admin/reindex and wait for the report (the server runs it to the end)."""
        return self._call("POST", "/admin/reindex", {"tracked": tracked})

    def upsert(self, points: list) -> None:
        """POST /admin/points: the server writes `VideoPoint`s into the store it owns."""
        from shortlist.api.schemas import PointIn

        self._call("POST", "/admin/points", {"points": [PointIn.of(p) for p in points]})

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        with self._open(method, path, body) as resp:
            return json.loads(resp.read())

    @contextmanager
    def _open(self, method: str, path: str, body: dict | None = None) -> Iterator[Any]:
        # Imported here: every CLI command asks serving_client, few talk to a server
        # (http.client and urllib cost 30 ms of a cold `shortlist recommend`).
        import http.client
        import urllib.error
        import urllib.request

        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        req = urllib.request.Request(self.base_url + path, method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                yield resp
        except urllib.error.HTTPError as exc:
            detail = _detail(exc)
            if exc.code == 404:
                raise NotFound(detail) from exc
            if 400 <= exc.code < 500:
                raise ValueError(detail) from exc
            raise StoreUnavailable(f"the server at {self.base_url} failed: {detail}") from exc
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as exc:
            raise StoreUnavailable(f"the store is owned by the server at {self.base_url}, "
                                   f"which did not answer: {exc}") from exc


def _detail(exc: Any) -> str:
    """The server's reason in an HTTPError's JSON body."""
    try:
        detail = json.loads(exc.read()).get("detail")
    except (ValueError, AttributeError):
        return f"HTTP {exc.code}"
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(str(d.get("msg", d)) for d in detail)
    return str(detail)
