"""A stand-in for Twelve Labs' embed API on loopback, speaking its documented wire protocol
(`POST /embed/tasks`, `GET /embed/tasks/{id}/status`, `GET /embed/tasks/{id}`, `POST /embed`),
for the `twelvelabs` SDK to call.

It checks what the SDK sends — an API key, the model, an MP4 upload, both scopes — and
answers 400 when the request is wrong. Each test scripts the next answers ("ok", "429",
"500", "malformed", "slow", "failed" for a task) and how many polls a task stays
"processing". Vectors are hashed bags of words (tests/standin_vertex.py): a video gets
the words a test gives it ("a | b": its first clip a, its second b), so a text query with
those words is near it.
"""

from __future__ import annotations

import re
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.standin_http import standin_server
from tests.standin_vertex import bag_of_words

MODEL = "marengo3.0"
DIM = 512


@dataclass
class StandIn:
    base_url: str
    script: list[str] = field(default_factory=list)
    video_words: list[str] = field(default_factory=list)  # for the next uploads, in order
    processing_polls: int = 1
    slow_s: float = 3.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)


def _form(content_type: str, body: bytes) -> dict[str, list[bytes]]:
    """multipart/form-data fields, each name with its values in order."""
    message = BytesParser(policy=default).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, list[bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields.setdefault(name, []).append(part.get_payload(decode=True) or b"")
    return fields


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            import json

            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: str, message: str) -> None:
            self._send(status, {"code": code, "message": message})

        def _scripted(self) -> str | None:
            """The scripted failure for this request, answered; else the action to do."""
            action = standin.script.pop(0) if standin.script else "ok"
            if action == "429":
                self._error(429, "too_many_requests", "rate limit exceeded")
                return None
            if action == "500":
                self._error(500, "internal_error", "internal server error")
                return None
            if action == "slow":
                time.sleep(standin.slow_s)
            return action

        def _authorised(self) -> bool:
            if not self.headers.get("x-api-key"):
                self._error(401, "api_key_invalid", "no API key")
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            standin.requests.append({"method": "GET", "path": self.path})
            if not self._authorised():
                return
            match = re.match(r"^/embed/tasks/(?P<id>[^/?]+)(?P<status>/status)?$",
                             self.path.split("?")[0])
            task = standin.tasks.get(match["id"]) if match else None
            if task is None:
                return self._error(404, "not_found", f"no task at {self.path}")
            action = self._scripted()
            if action is None:
                return
            if match["status"]:
                task["polls"] += 1
                ready = task["polls"] > standin.processing_polls
                status = task["fate"] if ready else "processing"
                return self._send(200, {"_id": match["id"], "model_name": MODEL,
                                        "status": status})
            size = DIM - 1 if action == "malformed" else DIM
            # "a | b": the first 6 s clip shows a, the second b; the video shows both.
            words = [w.strip() for w in task["words"].split("|")]
            clip_words = words if len(words) == 2 else words * 2
            segments = [{"float": bag_of_words(said, size), "start_offset_sec": start,
                         "end_offset_sec": start + 6, "embedding_option": option,
                         "embedding_scope": "clip"}
                        for start, said in zip((0.0, 6.0), clip_words, strict=True)
                        for option in ("visual", "audio")]
            segments += [{"float": bag_of_words(" ".join(words), size), "start_offset_sec": 0.0,
                          "end_offset_sec": 12.0, "embedding_option": option,
                          "embedding_scope": "video"}
                         for option in ("visual", "audio")]
            self._send(200, {"_id": match["id"], "model_name": MODEL, "status": "ready",
                             "video_embedding": {"metadata": {"duration": 12.0},
                                                 "segments": segments}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            fields = _form(self.headers.get("Content-Type", ""), self.rfile.read(length))
            standin.requests.append({"method": "POST", "path": self.path,
                                     "fields": {k: v if k != "video_file" else [b"<video>"]
                                                for k, v in fields.items()}})
            if not self._authorised():
                return
            if [m.decode() for m in fields.get("model_name", [])] != [MODEL]:
                return self._error(400, "parameter_invalid", f"model_name must be {MODEL}")
            path = self.path.split("?")[0]
            if path == "/embed/tasks":
                video = (fields.get("video_file") or [b""])[0]
                if video[4:8] != b"ftyp":
                    return self._error(400, "parameter_invalid", "video_file is not an MP4")
                scopes = sorted(v.decode() for v in fields.get("video_embedding_scope", []))
                if scopes != ["clip", "video"]:
                    return self._error(400, "parameter_invalid",
                                       f"video_embedding_scope must be clip and video, not "
                                       f"{scopes}")
                action = self._scripted()
                if action is None:
                    return
                task_id = f"task{len(standin.tasks) + 1:04d}"
                words = standin.video_words.pop(0) if standin.video_words else "video"
                standin.tasks[task_id] = {"words": words, "polls": 0,
                                          "fate": "failed" if action == "failed" else "ready"}
                return self._send(200, {"_id": task_id})
            if path == "/embed":
                text = b"".join(fields.get("text", [])).decode()
                if not text:
                    return self._error(400, "parameter_invalid", "text is required")
                action = self._scripted()
                if action is None:
                    return
                size = DIM - 1 if action == "malformed" else DIM
                return self._send(200, {"model_name": MODEL, "text_embedding": {
                    "segments": [{"float": bag_of_words(text, size)}]}})
            self._error(404, "not_found", f"no such endpoint: {self.path}")

    return Handler


def twelvelabs_standin() -> AbstractContextManager[StandIn]:
    """The stand-in, serving until the block ends."""
    return standin_server(StandIn, _handler)
