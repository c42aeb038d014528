"""Shortlist: understand short videos from their content, then search and recommend."""

__version__ = "0.1.0"
