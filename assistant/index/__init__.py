"""The index both wings share: its layout on disk, the records it stores, Chroma, the BM25
segments, the manifest, the embedder, storage checks, the ingest lock and the config check.
Built on ``assistant.core``; ``ingest/`` writes it, the query side reads it."""
