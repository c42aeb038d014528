"""The Qdrant collection: schema, deterministic ids, writes and reads."""
