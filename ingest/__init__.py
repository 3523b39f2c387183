"""Ingestion: load, clean, chunk, embed and store documents in Chroma and a BM25 index.

Use ``python -m ingest [PATH ...]`` or, from Python, :func:`ingest.ingest`.
"""

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from ingest.pipeline import ingest, remove_documents
from ingest.report import FileFailure, IngestReport

__all__ = ["FileFailure", "IngestReport", "ingest", "remove_documents"]
