"""Prefect flows: ingest (sources in, catalogue out)."""
