"""A stand-in for Vertex AI on loopback, speaking the documented wire protocol
(`…/publishers/google/models/{model}:generateContent`, and for embeddings `:predict`,
`:embedContent`, `:batchEmbedContents`), for the google-genai SDK to call.

It checks what the SDK sends — a video part, the response schema; for embeddings a text, a
task type and the output size — and answers 400 when the request is wrong, so a test fails
on a wrong request as the real service would. Each test scripts the next answers: "ok",
"429", "500", "malformed", or "slow". Its embeddings are hashed bags of words: texts that
share words are near, so a search through them ranks by the stand-in's vectors.
"""

from __future__ import annotations

import base64
import json
import re
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.standin_http import standin_server

ROUTE = re.compile(r"^/(v1|v1beta1)/(projects/[^/]+/locations/[^/]+/)?publishers/google/"
                   r"models/(?P<model>[^/:]+):(?P<method>generateContent|predict|embedContent|"
                   r"batchEmbedContents)$")
TASKS = {"RETRIEVAL_DOCUMENT", "RETRIEVAL_QUERY"}
ANSWER = {"title": "Penguins waddle on the ice", "genres": ["Animals", "nature"],
          "description": "A colony of penguins walks across the ice.",
          "tags": ["penguin", "ice", "Penguin", "colony"], "moods": ["calm"]}


@dataclass
class StandIn:
    base_url: str
    script: list[str] = field(default_factory=list)  # answers to give, in order; then "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    slow_s: float = 3.0

    def video_bytes(self, i: int = -1) -> bytes | None:
        for part in self.requests[i]["body"]["contents"][0]["parts"]:
            if "inlineData" in part:
                return _bytes(part["inlineData"]["data"])
        return None

    def file_uri(self, i: int = -1) -> str | None:
        for part in self.requests[i]["body"]["contents"][0]["parts"]:
            if "fileData" in part:
                return _field(part["fileData"], "fileUri")
        return None

    def prompt(self, i: int = -1) -> str:
        return " ".join(p.get("text", "") for p in self.requests[i]["body"]["contents"][0]
                        ["parts"])


def _field(message: dict[str, Any], name: str) -> Any:
    """Proto3 JSON: a parser takes a field by its lowerCamel name or its proto name."""
    snake = re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), name)
    return message.get(name, message.get(snake))


def _bytes(data: str) -> bytes:
    """Proto3 JSON bytes: standard or URL-safe base64, padded or not."""
    return base64.urlsafe_b64decode(data.replace("+", "-").replace("/", "_")
                                    + "=" * (-len(data) % 4))


def _wrong(body: dict[str, Any]) -> str | None:
    """What is wrong with a generateContent request, as Vertex would refuse it."""
    parts = [p for c in body.get("contents", []) for p in c.get("parts", [])]
    inline = [_field(p, "inlineData") for p in parts if _field(p, "inlineData")]
    files = [_field(p, "fileData") for p in parts if _field(p, "fileData")]
    videos = ([d for d in inline if _field(d, "mimeType") == "video/mp4" and _bytes(d["data"])]
              + [f for f in files if str(_field(f, "fileUri")).startswith("gs://")
                 and _field(f, "mimeType") == "video/mp4"])
    if len(videos) != 1:
        return "expected exactly one video/mp4 part (inlineData or a gs:// fileData)"
    config = _field(body, "generationConfig") or {}
    if _field(config, "responseMimeType") != "application/json":
        return "generationConfig.responseMimeType must be application/json"
    schema = _field(config, "responseSchema") or _field(config, "responseJsonSchema") or {}
    wanted = {"title", "genres", "description", "tags"}
    if not wanted <= set(schema.get("properties", {})):
        return f"the response schema must have the properties {sorted(wanted)}"
    return None


def bag_of_words(text: str, dim: int) -> list[float]:
    """The stand-in's embedding: each word hashed to a dimension, unit length."""
    import hashlib

    v = [0.0] * dim
    for word in re.findall(r"[a-z]+", text.lower()):
        v[int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1.0
    norm = sum(x * x for x in v) ** 0.5 or 1.0
    return [x / norm for x in v] if any(v) else [1.0 / dim ** 0.5] * dim


def _embedding_requests(method: str, body: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(text, task type, output size) of each text an embedding request carries."""
    if method == "predict":
        size = _field(body.get("parameters") or {}, "outputDimensionality")
        return [(i.get("content"), _field(i, "taskType"), size)
                for i in body.get("instances", [])]
    items = body.get("requests", []) if method == "batchEmbedContents" else [body]
    out = []
    for item in items:
        config = _field(item, "embedContentConfig") or {}
        parts = (item.get("content") or {}).get("parts") or [{}]
        out.append((" ".join(p.get("text", "") for p in parts), _field(config, "taskType"),
                    _field(config, "outputDimensionality")))
    return out


def _wrong_embedding(texts: list[tuple[str, str, Any]]) -> str | None:
    if not texts:
        return "no text to embed"
    for text, task, size in texts:
        if not isinstance(text, str) or not text:
            return "each instance needs a non-empty text content"
        if task not in TASKS:
            return f"task type must be one of {sorted(TASKS)}, not {task!r}"
        if not isinstance(size, int) or not 1 <= size <= 3072:
            return "outputDimensionality must be set, 1 to 3072"
    return None


def _embedding_answer(method: str, texts: list[tuple[str, str, Any]], action: str) -> dict:
    vectors = [bag_of_words(t, size if action != "malformed" else size - 1)
               for t, _, size in texts]
    if method == "predict":
        return {"predictions": [{"embeddings": {"values": v, "statistics": {
            "token_count": 5, "truncated": False}}} for v in vectors]}
    if method == "embedContent":
        return {"embedding": {"values": vectors[0]}, "usageMetadata": {"promptTokenCount": 5}}
    return {"embeddings": [{"values": v} for v in vectors]}


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, name: str, message: str) -> None:
            self._send(status, {"error": {"code": status, "message": message,
                                          "status": name}})

        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            standin.requests.append({"path": self.path, "headers": dict(self.headers),
                                     "body": body})
            route = ROUTE.match(self.path.split("?")[0])
            if route is None:
                return self._error(404, "NOT_FOUND", f"no such method: {self.path}")
            if not (self.headers.get("x-goog-api-key")
                    or self.headers.get("Authorization", "").startswith("Bearer ")):
                return self._error(401, "UNAUTHENTICATED", "no credential")
            embedding = route["method"] != "generateContent"
            texts = _embedding_requests(route["method"], body) if embedding else []
            problem = _wrong_embedding(texts) if embedding else _wrong(body)
            if problem:
                return self._error(400, "INVALID_ARGUMENT", problem)
            action = standin.script.pop(0) if standin.script else "ok"
            if action == "429":
                return self._error(429, "RESOURCE_EXHAUSTED", "Quota exceeded, retry later")
            if action == "500":
                return self._error(500, "INTERNAL", "Internal error encountered.")
            if action == "slow":
                time.sleep(standin.slow_s)
            if embedding:
                return self._send(200, _embedding_answer(route["method"], texts, action))
            text = "{'title': oops" if action == "malformed" else json.dumps(ANSWER)
            self._send(200, {
                "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 300, "candidatesTokenCount": 40,
                                  "totalTokenCount": 340},
                "modelVersion": route["model"]})

    return Handler


def vertex_standin() -> AbstractContextManager[StandIn]:
    """The stand-in, serving until the block ends."""
    return standin_server(StandIn, _handler)
