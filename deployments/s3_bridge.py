"""SQS poller: bucket notifications in, Prefect events `s3.object.created` out.

A burst of uploads becomes one event per bucket, naming every new object in it, so one
`ingest-s3-object` flow run ingests them together: each run starts a process and loads the
models (~20 s on 2 cores), far more than a short clip's own work. A message is deleted only
after the event naming its objects was accepted, so a crash loses nothing: SQS delivers
the message again and the duplicate is dropped on arrival.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from shortlist.s3_events import ObjectCreated, SeenObjects, by_bucket, parse_notification

EVENT = "s3.object.created"
MAX_OBJECTS_PER_EVENT = 50
log = logging.getLogger("shortlist.s3_bridge")

# Objects of one bucket in, True once Prefect accepted the event naming them.
Emit = Callable[[list[ObjectCreated]], bool]


def prefect_emitter() -> Emit:
    from prefect.events import emit_event

    def emit(objects: list[ObjectCreated]) -> bool:
        first = objects[0]
        event = emit_event(
            event=EVENT,
            resource={"prefect.resource.id": first.url,
                      "prefect.resource.name": first.key if len(objects) == 1
                      else f"{first.key} and {len(objects) - 1} more",
                      "s3.bucket": first.bucket},
            related=[{"prefect.resource.id": o.url, "prefect.resource.role": "object"}
                     for o in objects],
            # `objects` feeds the deployment's parameter of that name; `key` stays for
            # automations written against single-object events.
            payload={"bucket": first.bucket, "key": first.key,
                     "objects": [o.key for o in objects],
                     "size": sum(o.size for o in objects), "source": first.url},
        )
        return event is not None

    return emit


def poll_once(sqs, queue_url: str, emit: Emit, seen: SeenObjects, wait_s: int = 10,
              linger_s: int = 1) -> int:
    """Handle one burst of messages; returns how many objects were announced.

    After the first message, keep receiving until `linger_s` passes with nothing new (or
    the event is full), so uploads arriving together go out together.
    """
    messages = _receive_burst(sqs, queue_url, wait_s, linger_s)
    objects_of: dict[str, list[ObjectCreated]] = {}  # message receipt handle -> its new objects
    for message in messages:
        try:
            parsed = parse_notification(message["Body"])
        except (ValueError, KeyError) as exc:
            log.warning("dropping a message that is not an S3 notification: %s", exc)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            continue
        objects_of[message["ReceiptHandle"]] = [obj for obj in parsed if seen.first_time(obj)]
    fresh = by_bucket([obj for objects in objects_of.values() for obj in objects])
    refused: set[str] = set()
    emitted = 0
    for objects in fresh.values():
        for start in range(0, len(objects), MAX_OBJECTS_PER_EVENT):
            chunk = objects[start:start + MAX_OBJECTS_PER_EVENT]
            if emit(chunk):
                emitted += len(chunk)
            else:
                for obj in chunk:
                    seen.forget(obj)
                    refused.add(obj.url)
    for handle, objects in objects_of.items():
        if not any(obj.url in refused for obj in objects):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)
    return emitted


def _receive_burst(sqs, queue_url: str, wait_s: int, linger_s: int) -> list[dict]:
    """Messages of one burst, each once (a message can come back while we linger)."""
    burst: dict[str, dict] = {}
    wait = wait_s
    while len(burst) < MAX_OBJECTS_PER_EVENT:
        reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                    WaitTimeSeconds=wait)
        messages = reply.get("Messages", [])
        new = [m for m in messages if m["MessageId"] not in burst]
        burst.update((m["MessageId"], m) for m in messages)  # the latest receipt handle counts
        if not new:
            break
        wait = linger_s
    return list(burst.values())


def run(queue_url: str, sqs=None, emit: Emit | None = None, stop_after_s: float | None = None,
        wait_s: int = 10) -> int:
    """Poll until interrupted (or for `stop_after_s`); returns the number of objects announced."""
    import boto3

    sqs = sqs or boto3.client("sqs")
    emit = emit or prefect_emitter()
    seen = SeenObjects()
    started, total = time.monotonic(), 0
    while stop_after_s is None or time.monotonic() - started < stop_after_s:
        total += poll_once(sqs, queue_url, emit, seen, wait_s=wait_s)
    return total
