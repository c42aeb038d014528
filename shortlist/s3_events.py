"""S3 bucket notifications (as SQS delivers them) turned into "object created" records.

Handles what real buckets send: the s3:TestEvent sent when a notification is set up,
URL-encoded keys ("my+clip.mp4"), and the same object announced twice (a Put and a
CompleteMultipartUpload, or SQS's at-least-once redelivery).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class ObjectCreated:
    bucket: str
    key: str
    size: int
    etag: str
    event_name: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def by_bucket(objects: list[ObjectCreated]) -> dict[str, list[ObjectCreated]]:
    """Objects grouped by bucket, in arrival order: one event names one bucket's objects."""
    groups: dict[str, list[ObjectCreated]] = {}
    for obj in objects:
        groups.setdefault(obj.bucket, []).append(obj)
    return groups


def parse_notification(body: str | dict) -> list[ObjectCreated]:
    """Object-created records in one notification; test events and other kinds give []."""
    data = json.loads(body) if isinstance(body, str) else body
    if "Message" in data and "Records" not in data:  # delivered through SNS
        data = json.loads(data["Message"])
    if data.get("Event") == "s3:TestEvent":
        return []
    out = []
    for record in data.get("Records", []):
        name = record.get("eventName", "")
        if not name.startswith("ObjectCreated:"):
            continue
        s3 = record.get("s3", {})
        obj = s3.get("object", {})
        out.append(ObjectCreated(
            bucket=s3.get("bucket", {}).get("name", ""),
            key=unquote_plus(obj.get("key", "")),
            size=int(obj.get("size") or 0),
            etag=str(obj.get("eTag") or obj.get("etag") or "").strip('"'),
            event_name=name,
        ))
    return [o for o in out if o.bucket and o.key and not o.key.endswith("/")]


class SeenObjects:
    """Remembers recently announced (bucket, key, etag) so a second announcement is dropped."""

    def __init__(self, ttl_s: float = 3600.0, max_items: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, obj: ObjectCreated, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        key = (obj.bucket, obj.key, obj.etag)
        with self._lock:
            while self._seen and (len(self._seen) > self.max_items
                                  or next(iter(self._seen.values())) < now - self.ttl_s):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def forget(self, obj: ObjectCreated) -> None:
        """Undo first_time(): the event was not accepted and must be sent again."""
        with self._lock:
            self._seen.pop((obj.bucket, obj.key, obj.etag), None)
