"""Flow run by the `ingest-s3-object` deployment when an `s3.object.created` event arrives."""

from __future__ import annotations

from prefect import flow

from flows.ingest import ingest
from shortlist.report import RunSummary


@flow(name="ingest-s3-object")
def ingest_s3_object(bucket: str, key: str | None = None, objects: list[str] | None = None,
                     profile: str | None = None) -> RunSummary:
    """Ingest what was uploaded (as a subflow run of `ingest`, with its artifacts): the keys
    of one burst that the bridge gathered into one event (`objects`), or a single `key`."""
    keys = list(dict.fromkeys([*(objects or []), *([key] if key else [])]))
    if not keys:
        raise ValueError("nothing to ingest: pass `objects` (a list of keys) or `key`")
    return ingest(sources=[f"s3://{bucket}/{k}" for k in keys], profile=profile)
