"""Asking a running `shortlist serve` to do work that needs the store it owns."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from shortlist.errors import StoreUnavailable


def request_reindex(base_url: str, tracked: list[str], api_key: str | None,
                    timeout_s: float = 3600.0) -> dict:
    """POST /admin/reindex and wait for the report (the server runs it to the end)."""
    body = json.dumps({"tracked": tracked}).encode()
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["X-API-Key"] = api_key
    req = urllib.request.Request(f"{base_url.rstrip('/')}/admin/reindex", data=body,
                                 headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        raise StoreUnavailable(f"the server at {base_url} refused the reindex "
                               f"({exc.code}): {detail}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise StoreUnavailable(f"the store is owned by the server at {base_url}, which did "
                               f"not answer: {exc}") from exc
