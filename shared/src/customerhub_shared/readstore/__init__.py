"""The read-store port (documents, queries, checkpoints, generations) and its adapters."""

from customerhub_shared.readstore.port import Document, Query, ReadStore

__all__ = ["Document", "Query", "ReadStore"]
