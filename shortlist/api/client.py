"""Asking a running `shortlist serve` to do work that needs the store it owns."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

from shortlist.errors import NotFound, StoreUnavailable
from shortlist.settings import Settings


def serving_client(settings: Settings, timeout_s: float = 60.0) -> ServeClient | None:
    """The `shortlist serve` of another process that owns this embedded store, with this
    user's credential (the API key, else the server's token), or None.

    The one place that decides whether a process uses the store itself or through a
    server: the read commands, ingest and the reindex all ask here.
    """
    if settings.qdrant_url:
        return None  # a Qdrant server admits every process: use it directly
    from shortlist.api.auth import credential_for
    from shortlist.store.owner import current_owner

    owner = current_owner(settings.data_dir)
    if owner is None or owner.pid == os.getpid():
        return None
    return ServeClient(owner.url, credential_for(settings.data_dir, settings.api_key),
                       timeout_s=timeout_s)


class ServeClient:
    """The read commands of the CLI, ingest's writes and the reindex, answered by a running
    `shortlist serve`.

    That process owns the embedded store and has it loaded, so a command answers in a
    fraction of a second instead of opening the store itself (which it could not: the
    folder admits one process).
    """

    def __init__(self, base_url: str, api_key: str | None = None,
                 timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s

    def search(self, query: str, limit: int) -> list[dict]:
        return self._call("POST", "/search", {"query": query, "limit": limit})["results"]

    def similar(self, video_id: str, limit: int) -> list[dict]:
        return self._call("GET", f"/videos/{quote(video_id)}/similar?limit={limit}")["results"]

    def recommend(self, user: str, limit: int, prefer: str | None) -> list[dict]:
        query = urlencode({"limit": limit, **({"prefer": prefer} if prefer else {})})
        return self._call("GET", f"/users/{quote(user)}/recommendations?{query}")["results"]

    def reindex(self, tracked: list[str]) -> dict:
        """POST /admin/reindex and wait for the report (the server runs it to the end)."""
        return self._call("POST", "/admin/reindex", {"tracked": tracked})

    def video(self, video_id: str) -> dict:
        return self._call("GET", f"/videos/{quote(video_id)}")

    def upsert(self, points: list) -> None:
        """POST /admin/points: the server writes `VideoPoint`s into the store it owns."""
        from shortlist.api.schemas import PointIn

        self._call("POST", "/admin/points", {"points": [PointIn.of(p) for p in points]})

    def videos(self) -> list[dict]:
        rows: list[dict] = []
        while True:
            page = self._call("GET", f"/videos?limit=1000&offset={len(rows)}")
            rows += page["videos"]
            if not page["videos"] or len(rows) >= page["total"]:
                return rows

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        req = urllib.request.Request(self.base_url + path, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body else None)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = _detail(exc)
            if exc.code == 404:
                raise NotFound(detail) from exc
            if 400 <= exc.code < 500:
                raise ValueError(detail) from exc
            raise StoreUnavailable(f"the server at {self.base_url} failed: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise StoreUnavailable(f"the store is owned by the server at {self.base_url}, "
                                   f"which did not answer: {exc}") from exc


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read()).get("detail")
    except (ValueError, AttributeError):
        return f"HTTP {exc.code}"
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(str(d.get("msg", d)) for d in detail)
    return str(detail)
