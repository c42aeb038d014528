"""Bridges from the outside world to Prefect: S3 notifications via SQS or Lambda."""
