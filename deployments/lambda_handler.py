"""AWS Lambda handler for the S3 -> Lambda -> Prefect API route.

Configure the function with PREFECT_API_URL (and PREFECT_API_KEY for Prefect Cloud) and
an S3 "object created" trigger; the new objects of one invocation become one
`s3.object.created` event per bucket, which triggers the `ingest-s3-object` deployment.
A failure raises, so Lambda retries.
"""

from __future__ import annotations

from typing import Any

from deployments.s3_bridge import prefect_emitter
from shortlist.s3_events import by_bucket, parse_notification


def handler(event: dict[str, Any], context: Any = None, emit=None) -> dict[str, int]:
    emit = emit or prefect_emitter()
    groups = by_bucket(parse_notification(event))
    refused = [o.url for objects in groups.values() if not emit(objects) for o in objects]
    if refused:
        raise RuntimeError(f"Prefect did not accept events for {refused}")
    return {"emitted": sum(len(v) for v in groups.values())}
