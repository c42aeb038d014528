"""AWS Lambda handler for the S3 -> Lambda -> Prefect API route.

Configure the function with PREFECT_API_URL (and PREFECT_API_KEY for Prefect Cloud) and
an S3 "object created" trigger; each new object becomes one `s3.object.created` event,
which triggers the `ingest-s3-object` deployment. A failure raises, so Lambda retries.
"""

from __future__ import annotations

from typing import Any

from deployments.s3_bridge import prefect_emitter
from shortlist.s3_events import parse_notification


def handler(event: dict[str, Any], context: Any = None, emit=None) -> dict[str, int]:
    emit = emit or prefect_emitter()
    objects = parse_notification(event)
    refused = [o.url for o in objects if not emit(o)]
    if refused:
        raise RuntimeError(f"Prefect did not accept events for {refused}")
    return {"emitted": len(objects)}
