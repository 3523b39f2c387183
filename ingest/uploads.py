"""Files uploaded through the web UI: checked, given a safe name, kept in ``data_dir/uploads``.

A browser sends any file name it likes (``../../etc/passwd``, control characters, 300 characters
of emoji); only the checked, sanitised name is ever used on disk, and the file always lands in
the uploads folder.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from assistant.core.i18n import _
from assistant.core.settings import Settings

#: The formats ingestion reads (ingest/load.py), the common spellings only.
ALLOWED_SUFFIXES = (
    ".pdf",
    ".docx",
    ".odt",
    ".ods",
    ".odp",
    ".html",
    ".htm",
    ".md",
    ".txt",
    ".eml",
    ".msg",
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
)
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
_MAX_NAME = 120


@dataclass(frozen=True)
class StoredUpload:
    path: Path  # where the file now is, inside the uploads folder
    original_name: str
    #: The same file was uploaded before (and may be in the index): a failure now must not
    #: delete it.
    existed: bool = False


@dataclass(frozen=True)
class RejectedUpload:
    original_name: str
    reason: str


def uploads_dir(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


def safe_name(name: str) -> str:
    """A file name without folders, control or shell characters, of bounded length."""
    base = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = _UNSAFE.sub("_", stem).strip(" ._") or "document"
    return stem[: _MAX_NAME - len(suffix)] + suffix


def store_upload(source: Path, original_name: str, settings: Settings) -> StoredUpload:
    """Copy an uploaded temporary file into the uploads folder under a safe, unused name.

    Raises ValueError (with a message for the user) for a format we cannot read, a file over
    the size limit, or an uploads folder that cannot be written (read-only, disk full); nothing
    is left behind then.
    """
    name = safe_name(original_name)
    suffix = Path(name).suffix
    if suffix not in ALLOWED_SUFFIXES:
        raise ValueError(
            _("{name}: the file type {suffix} is not supported; use {suffixes}.").format(
                name=original_name,
                suffix=suffix or _("(none)"),
                suffixes=", ".join(ALLOWED_SUFFIXES),
            )
        )
    size = source.stat().st_size
    limit = int(settings.max_file_mb * 2**20)
    if size > limit:
        raise ValueError(
            _(
                "{name}: {size:.1f} MiB is larger than the limit of {limit:g} MiB "
                "(ASSISTANT_MAX_FILE_MB)."
            ).format(name=original_name, size=size / 2**20, limit=settings.max_file_mb)
        )
    folder = uploads_dir(settings)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(original_name, folder, exc) from exc
    target = folder / name
    if target.exists() and _digest(target) != _digest(source):
        # Another document under the same name: keep both (the same file again replaces itself).
        target = folder / f"{Path(name).stem}-{_digest(source)[:8]}{suffix}"
    resolved = target.resolve()
    if resolved.parent != folder.resolve():  # belt and braces: safe_name already prevents it
        raise ValueError(_("{name}: invalid file name.").format(name=original_name))
    existed = resolved.exists()
    partial = resolved.with_name(resolved.name + ".part")
    try:
        shutil.copyfile(source, partial)
        partial.replace(resolved)
    except OSError as exc:
        with contextlib.suppress(OSError):  # a cut-off copy must not take space or be ingested
            partial.unlink(missing_ok=True)
        # shutil names the source in every error of the copy itself, and the target as the
        # second file name: only an error that names the source alone is about reading it.
        if exc.filename == str(source) and exc.filename2 is None:
            raise ValueError(
                _("{name}: the uploaded file cannot be read ({reason}). Upload it again.").format(
                    name=original_name, reason=exc.strerror or exc
                )
            ) from exc
        raise _unwritable(original_name, folder, exc) from exc
    return StoredUpload(resolved, original_name, existed=existed)


def _unwritable(original_name: str, folder: Path, exc: OSError) -> ValueError:
    """The message for the user when the uploads folder cannot take the file."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        problem = _("the disk is full")
        todo = _("Free up disk space, or choose a folder on another disk with ASSISTANT_DATA_DIR.")
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        problem = _("the folder is read-only or not writable")
        todo = _(
            "Choose a folder the assistant may write to with ASSISTANT_DATA_DIR, or change the "
            "permissions of this folder."
        )
    else:
        problem = exc.strerror or str(exc)
        todo = _("Try again; if it fails again, check that the folder can be reached.")
    return ValueError(
        _("{name}: cannot be saved in {folder}: {problem}. {todo}").format(
            name=original_name, folder=folder, problem=problem, todo=todo
        )
    )


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
