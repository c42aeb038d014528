"""What the API will read and what its errors may say: body-size limits, short error echoes.

Written as a small ASGI middleware rather than taken from a library: Starlette has no
request-size limit of its own, and uvicorn's `--limit-concurrency` limits something else.
"""

from __future__ import annotations

import json
from typing import Any

# Request bodies, in bytes, by path prefix (the first that matches); the rest get DEFAULT.
# A batch of catalogue points (100 at most, each with its transcript) is the one big body.
BODY_LIMITS = {"/admin/points": 16 * 1024 * 1024}
DEFAULT_BODY_LIMIT = 64 * 1024
ECHO_LIMIT = 120  # characters of a refused input an error answer may repeat
MAX_ERRORS = 20


def body_limit(path: str) -> int:
    for prefix, limit in BODY_LIMITS.items():
        if path.startswith(prefix):
            return limit
    return DEFAULT_BODY_LIMIT


class BodySizeLimit:
    """Answers 413 to a body over the path's limit, whether it declares its length or not."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return
        # Read the body here, up to the limit, and hand it on whole.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(send, limit: int) -> None:
    body = json.dumps({"detail": f"request body too large: at most {limit} bytes here"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def short_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI's validation errors without large echoes of what was sent: the field, the
    reason, and at most ECHO_LIMIT characters of the input."""
    out = []
    for e in errors[:MAX_ERRORS]:
        item = {"loc": [x if isinstance(x, int) else str(x)[:ECHO_LIMIT]
                        for x in e.get("loc", ())][:10],
                "msg": str(e.get("msg", ""))[:300], "type": str(e.get("type", ""))[:60]}
        if "input" in e:
            text = e["input"] if isinstance(e["input"], str) else repr(e["input"])
            item["input"] = text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "…"
        out.append(item)
    if len(errors) > MAX_ERRORS:
        out.append({"loc": [], "msg": f"and {len(errors) - MAX_ERRORS} more errors",
                    "type": "too_many_errors"})
    return out
