"""Prefect tasks: thin wrappers over shortlist.pipeline adding caching, retries and tags."""
