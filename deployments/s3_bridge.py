"""SQS poller: bucket notifications in, Prefect events `s3.object.created` out.

A message is deleted only after every object in it was accepted by Prefect, so a crash
loses nothing: SQS delivers the message again and the duplicate is dropped on arrival.
The `ingest-s3-object` deployment (prefect.yaml) is triggered by these events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from shortlist.s3_events import ObjectCreated, SeenObjects, parse_notification

EVENT = "s3.object.created"
log = logging.getLogger("shortlist.s3_bridge")

Emit = Callable[[ObjectCreated], bool]  # True once Prefect accepted the event


def prefect_emitter() -> Emit:
    from prefect.events import emit_event

    def emit(obj: ObjectCreated) -> bool:
        event = emit_event(
            event=EVENT,
            resource={"prefect.resource.id": obj.url, "prefect.resource.name": obj.key,
                      "s3.bucket": obj.bucket},
            payload={"bucket": obj.bucket, "key": obj.key, "size": obj.size, "etag": obj.etag,
                     "source": obj.url},
        )
        return event is not None

    return emit


def poll_once(sqs, queue_url: str, emit: Emit, seen: SeenObjects, wait_s: int = 10) -> int:
    """Handle one batch of messages; returns how many events were emitted."""
    reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                WaitTimeSeconds=wait_s)
    emitted = 0
    for message in reply.get("Messages", []):
        try:
            objects = parse_notification(message["Body"])
        except (ValueError, KeyError) as exc:
            log.warning("dropping a message that is not an S3 notification: %s", exc)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            continue
        accepted = True
        for obj in objects:
            if not seen.first_time(obj):
                continue
            if emit(obj):
                emitted += 1
            else:
                accepted = False
                seen.forget(obj)
        if accepted:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return emitted


def run(queue_url: str, sqs=None, emit: Emit | None = None, stop_after_s: float | None = None,
        wait_s: int = 10) -> int:
    """Poll until interrupted (or for `stop_after_s`); returns the number of events emitted."""
    import boto3

    sqs = sqs or boto3.client("sqs")
    emit = emit or prefect_emitter()
    seen = SeenObjects()
    started, total = time.monotonic(), 0
    while stop_after_s is None or time.monotonic() - started < stop_after_s:
        total += poll_once(sqs, queue_url, emit, seen, wait_s=wait_s)
    return total
