"""E-mail attachments as documents of their own: saved as files in the index folder, one folder
per message, and ingested like any file, with a link back to the message (``parent``).

Saved as real files because every loader reads a path, and the source panel and a later check
of an exported quote open the document's file; the folder belongs to the index (a rebuild
deletes it and makes it again from the messages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.load import FORMATS, Attachment, LoadedDocument

#: Attachments of attachments (a forwarded message with its own PDF) are followed this deep.
MAX_DEPTH = 2


@dataclass(frozen=True)
class SavedAttachment:
    """An attachment written to disk, ready to be ingested."""

    name: str
    path: Path


def supported(attachment: Attachment) -> bool:
    return Path(attachment.name).suffix.lower() in FORMATS


def folder_of(root: Path, parent_id: str) -> Path:
    """The folder with the saved attachments of message ``parent_id``."""
    return root / parent_id


def save(root: Path, parent_id: str, attachments: tuple[Attachment, ...]) -> list[SavedAttachment]:
    """Write the supported attachments of a message to its folder (replacing what was there)."""
    folder = folder_of(root, parent_id)
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[SavedAttachment] = []
    used: set[str] = set()
    for number, attachment in enumerate(attachments, start=1):
        if not supported(attachment):
            continue
        name = _safe_name(attachment.name, number)
        if name.lower() in used:  # two attachments of one name: keep both
            name = f"{number}-{name}"
        used.add(name.lower())
        path = folder / name
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(attachment.data)
        temporary.replace(path)
        saved.append(SavedAttachment(attachment.name, path))
    keep = {s.path.name for s in saved}
    for old in folder.iterdir():
        if old.name not in keep:
            old.unlink(missing_ok=True)
    return saved


def as_attachment_of(loaded: LoadedDocument, message: LoadedDocument, name: str) -> LoadedDocument:
    """The attachment's document, titled and labelled as part of its message."""
    about = dict(message.details)
    details = [("Bijlage bij", message.title)]
    details += [(k, about[k]) for k in ("Van", "Aan", "Datum") if k in about]
    return replace(loaded, title=f"{name} (bijlage bij: {message.title})", details=tuple(details))


def skipped(attachments: tuple[Attachment, ...]) -> list[str]:
    """Names of attachments in a format that is not ingested."""
    return [a.name for a in attachments if not supported(a)]


def _safe_name(name: str, number: int) -> str:
    base = Path(name.replace("\\", "/")).name  # never a path out of the folder
    base = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", base).strip(" .")
    return base or f"bijlage-{number}"
