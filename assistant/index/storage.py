"""Writing the index can fail because of the disk, not the data: a read-only folder or a full
disk. Those failures arrive as ``OSError``, as ``sqlite3`` errors or as Chroma's own errors (its
Rust core reports SQLite's codes as text); this module recognises them and says what to do, and
checks for room before a document is written.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.core.errors import AssistantError, BackendError, ConfigurationError
from assistant.core.i18n import _

_READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# SQLite's texts for SQLITE_READONLY and SQLITE_FULL, as Chroma and sqlite3 pass them on.
_READ_ONLY_TEXTS = ("readonly database", "read-only file system")
_FULL_TEXTS = ("database or disk is full", "no space left on device", "disk quota exceeded")
#: Below this much free space a failed Chroma call is blamed on the disk even when the error
#: does not say so: Chroma reports a full disk in its compaction step only as "Error in compaction".
LOW_SPACE_BYTES = 16 * 2**20
#: Disk space a chunk takes in embedded Chroma 1.5 (rows, full-text index, write log, HNSW):
#: about 20 KiB for a 300-token chunk, measured. With a margin, because a disk that runs full
#: halfway through Chroma's write can leave its store unreadable until space is freed.
CHROMA_BYTES_PER_CHUNK = 32 * 1024
#: Besides Chroma, a document's text is written about four times: its text file, the BM25
#: corpus, and both again while each is replaced.
TEXT_COPIES = 4


def space_needed(chunk_count: int, text_bytes: int, *, embedded_chroma: bool) -> int:
    """A generous estimate of the disk space that indexing one document takes."""
    chroma = chunk_count * CHROMA_BYTES_PER_CHUNK if embedded_chroma else 0
    return chroma + TEXT_COPIES * text_bytes


def ensure_space(folder: Path, needed: int) -> None:
    """BackendError (disk full) unless the disk that holds ``folder`` has ``needed`` bytes free:
    refusing before the first write keeps the index as it was."""
    free = free_bytes(folder)
    if free is not None and free < needed:
        raise disk_full_error(
            folder,
            free,
            detail=_("; the next document needs about {mib} MiB").format(mib=_mib(needed)),
        )


def free_bytes(folder: Path) -> int | None:
    """Free space on the disk that holds ``folder`` (or its nearest existing parent)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def is_writable(folder: Path) -> bool:
    """Whether files in ``folder`` can be created and changed (a read-only mount says no even
    to root, which ``os.access`` reports)."""
    return os.access(folder, os.W_OK)


def storage_error(
    exc: BaseException, folder: Path, *, blame_low_space: bool = False
) -> AssistantError | None:
    """The error to show for a write under ``folder`` that failed because the folder is
    read-only or the disk is full; None when the failure has another cause.

    The folder named is that of the file the error names, if any. ``blame_low_space``: with the
    disk nearly full (``LOW_SPACE_BYTES``), put a vague error down to the disk too.
    """
    chain = list(causes(exc))
    os_errors = [cause for cause in chain if isinstance(cause, OSError)]
    texts = " ".join(str(cause).lower() for cause in chain)
    codes = {cause.errno for cause in os_errors}
    named = [Path(cause.filename).parent for cause in os_errors if cause.filename]
    where = named[0] if named else folder
    if codes & _READ_ONLY_ERRNOS or any(text in texts for text in _READ_ONLY_TEXTS):
        reason = next((c.strerror for c in os_errors if c.strerror), None) or str(exc)
        return read_only_error(where, reason)
    free = free_bytes(where)
    if codes & _FULL_ERRNOS or any(text in texts for text in _FULL_TEXTS):
        return disk_full_error(where, free)
    if blame_low_space and free is not None and free < LOW_SPACE_BYTES:
        return disk_full_error(where, free, detail=f" ({type(exc).__name__}: {exc})")
    return None


@contextmanager
def writing_to(folder: Path) -> Iterator[None]:
    """Translate a read-only folder or a full disk met inside the block into an AssistantError."""
    try:
        yield
    except AssistantError:
        raise
    except Exception as exc:
        error = storage_error(exc, folder)
        if error is None:
            raise
        raise error from exc


def read_only_error(folder: Path, reason: str) -> ConfigurationError:
    return ConfigurationError(
        _("Cannot write to {folder}: the folder is read-only or not writable ({reason}).").format(
            folder=folder, reason=reason
        ),
        hint=_(
            "Set ASSISTANT_DATA_DIR to a folder this user can write to, or make this one "
            "writable (file permissions, mount options), then run the ingest again."
        ),
    )


def disk_full_error(folder: Path, free: int | None, *, detail: str = "") -> BackendError:
    """``detail``: appended to the message right after "written" (starting with its own
    punctuation)."""
    left = (
        _("{mib} MiB free").format(mib=_mib(free)) if free is not None else _("free space unknown")
    )
    return BackendError(
        _(
            "No space left on the disk that holds {folder} ({left}): the index could not be "
            "written{detail}."
        ).format(folder=folder, left=left, detail=detail),
        hint=_(
            "Free disk space, or set ASSISTANT_DATA_DIR to a folder on a disk with more room, "
            "then run the ingest again: it finishes what this run could not."
        ),
    )


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f}"


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or during."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
