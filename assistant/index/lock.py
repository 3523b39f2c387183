"""The index's ingest lock: one writer at a time per index, a second fails fast."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.core.errors import AssistantError
from assistant.core.i18n import _


class IngestRunningError(AssistantError):
    """Another process holds the index's ingest lock."""


@contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """One writer at a time per index (a second one fails fast instead of corrupting it):
    IngestRunningError when another holds the lock."""
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IngestRunningError(
                _("Another ingestion is already running on {folder}.").format(
                    folder=lock_path.parent
                ),
                hint=_("Wait for it to finish, then run this again."),
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
