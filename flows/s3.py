"""Flow run by the `ingest-s3-object` deployment when an `s3.object.created` event arrives."""

from __future__ import annotations

from prefect import flow

from flows.ingest import ingest
from shortlist.report import RunSummary


@flow(name="ingest-s3-object")
def ingest_s3_object(bucket: str, key: str, profile: str | None = None) -> RunSummary:
    """Ingest one uploaded object (as a subflow run of `ingest`, with its artifacts)."""
    return ingest(sources=[f"s3://{bucket}/{key}"], profile=profile)
