"""The settings an index was built with, and the check that the current settings can read it."""

from __future__ import annotations

from llama_index.core.base.embeddings.base import BaseEmbedding

from assistant.core.errors import IndexMismatchError
from assistant.core.i18n import _
from assistant.core.settings import Settings
from assistant.index.embed import embed_query
from assistant.index.layout import IndexLayout
from assistant.index.manifest import IndexConfig, Manifest

#: Bump when chunking changes in a way that makes existing chunks incomparable.
CHUNKER_VERSION = "2"  # 2: offsets of chunks whose text repeats earlier text


def expected_config(settings: Settings, embedding_dim: int) -> IndexConfig:
    return IndexConfig(
        embedding_backend=settings.embedding_backend,
        embedding_model=settings.resolved_embedding_model,
        embedding_dim=embedding_dim,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        chunker_version=CHUNKER_VERSION,
    )


def open_manifest(settings: Settings, embedder: BaseEmbedding) -> Manifest:
    """The index's manifest; a new index records the settings, an old one must match them."""
    manifest = Manifest.load(IndexLayout(settings.index_dir).manifest)
    if manifest.config is None:
        dim = len(embed_query(embedder, "dimensie"))
        manifest.config = expected_config(settings, dim)
        manifest.save()
        return manifest
    check_config(manifest.config, settings)
    return manifest


def check_config(stored: IndexConfig, settings: Settings) -> None:
    """Raise IndexMismatchError when the settings differ from those the index was built with."""
    wanted = expected_config(settings, stored.embedding_dim)
    differences = stored.differences(wanted)
    if differences:
        raise IndexMismatchError(
            _("The index in {folder} was built with other settings: {differences}.").format(
                folder=settings.index_dir, differences="; ".join(differences)
            ),
            hint=_(
                "Rebuild it with `python -m ingest --rebuild` (re-embeds every document), or "
                "restore the settings it was built with."
            ),
        )
