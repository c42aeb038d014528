"""Read videos from S3 (or any S3-compatible endpoint) with boto3.

Endpoint and credentials come from the environment as boto3 reads them
(AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote_plus, urlparse

from shortlist.errors import SourceError


def parse_s3_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise SourceError(f"not an s3:// URL: {url}")
    return parsed.netloc, unquote_plus(parsed.path.lstrip("/"))


def s3_client():
    import boto3

    return boto3.client("s3")


def list_objects(prefix_url: str, client=None) -> list[str]:
    """Every object under s3://bucket/prefix, as s3:// URLs (folder markers left out)."""
    bucket, prefix = parse_s3_url(prefix_url)
    client = client or s3_client()
    urls = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        urls += [f"s3://{bucket}/{o['Key']}" for o in page.get("Contents", [])
                 if not o["Key"].endswith("/")]
    return urls


def fetch_s3(url: str, dest: Path, client=None) -> list[tuple[Path, str]]:
    """Download one object, or every object under a prefix ending in '/'. Returns (path, url)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = parse_s3_url(url)
    client = client or s3_client()
    try:
        if key == "" or key.endswith("/"):
            keys = [parse_s3_url(u)[1] for u in list_objects(url, client)]
            if not keys:
                raise SourceError(f"no objects under {url}")
        else:
            keys = [key]
        out = []
        for k in keys:
            head = client.head_object(Bucket=bucket, Key=k)
            target = dest / bucket / k
            # The ETag names the version: re-download only when the object changed.
            tag_file = target.with_name(target.name + ".etag")
            etag = head.get("ETag", "")
            if not (target.exists() and tag_file.exists() and tag_file.read_text() == etag):
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".partial")
                client.download_file(bucket, k, str(partial))
                partial.replace(target)
                tag_file.write_text(etag)
            out.append((target, f"s3://{bucket}/{k}"))
        return out
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"cannot read {url}: {exc}") from exc


def publish_file(path: Path, bucket: str, key: str, client=None,
                 content_type: str = "video/mp4") -> str:
    """Upload a rendition or poster (skipped when an object of the same size is there);
    returns its s3:// URL."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = client or s3_client()
    try:
        try:
            head = client.head_object(Bucket=bucket, Key=key)
            if head.get("ContentLength") == path.stat().st_size:
                return f"s3://{bucket}/{key}"
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        client.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
        return f"s3://{bucket}/{key}"
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"cannot publish to s3://{bucket}/{key}: {exc}") from exc


def playable_url(s3_url: str, public_base_url: str | None, ttl_s: int, client=None) -> str:
    """A URL a browser can play: the public one, or a presigned one made now.

    Presigning at read time means a stored URL never goes stale: every answer carries
    one that is valid for `ttl_s` from the moment it was given.
    """
    bucket, key = parse_s3_url(s3_url)
    if public_base_url:
        return f"{public_base_url.rstrip('/')}/{key}"
    client = client or s3_client()
    return client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                         ExpiresIn=ttl_s)
