"""One module per model backend. Each loads its weights on first use, never at import."""
