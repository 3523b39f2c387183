"""Load e-mail: ``.eml`` (MIME, RFC 5322) and Outlook ``.msg`` into a LoadedDocument.

The standard library's ``email`` package reads ``.eml``: with ``policy.default`` it decodes RFC 2047
header words, parses addresses and dates and picks the body part (``get_body``), so no dependency
is needed for the open format. Outlook's ``.msg`` is an OLE compound file of MAPI properties, which
only a dedicated parser reads; extract-msg is the maintained one (it also converts an embedded
message to an ``EmailMessage``, so nested mail is passed on as ``.eml`` like in the MIME case).

A message becomes one header segment (``Van: ...``, ``Datum: ...``: so sender and date can be found
and quoted) followed by the body's paragraphs. Attachments are returned whole, whatever their size:
the caller decides which to ingest and reports those it skips.
"""

from __future__ import annotations

import email.utils
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from assistant.core.errors import DocumentError
from assistant.core.i18n import N_, _

# Imported as a module, not by name: load.py may import this module while it is itself loading.
from ingest import document as base
from ingest.textfiles import DROP_TAGS, decode, html_blocks

_RESAVE = N_("Save the message again from the mail program (File > Save As, .eml or .msg).")
_MONTHS = (
    "januari februari maart april mei juni juli augustus september oktober november december"
).split()
#: Headers of which at least one must be present for a file to count as an e-mail.
_MAIL_HEADERS = ("from", "to", "subject", "date", "message-id", "received", "mime-version")
_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
_ADDRESS_HEADERS = (("Van", "from"), ("Aan", "to"), ("Cc", "cc"))
_SIGNATURES = {f"application/{kind}-signature" for kind in ("pkcs7", "x-pkcs7", "pgp")}
_SMIME = ("application/pkcs7-mime", "application/x-pkcs7-mime", "multipart/encrypted")


# --- shared --------------------------------------------------------------------------------------
def format_date(moment: datetime) -> str:
    """``12 maart 2024, 14:05``: Dutch month names from a table, so no locale is involved."""
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}"


def _address(name: str, addr: str) -> str:
    name, addr = name.strip().strip('"').strip(), addr.strip()
    if not addr:
        return name
    return f"{name} <{addr}>" if name and name.lower() != addr.lower() else addr


def _safe_name(raw: str, fallback: str) -> str:
    """The sender's file name without folders, and with no character a file system refuses."""
    name = re.sub(r'[\x00-\x1f\x7f<>:"|?*]', "_", re.split(r"[/\\]", raw)[-1])
    return name.strip().lstrip(".")[:200] or fallback


def _unique(attachments: list[base.Attachment]) -> tuple[base.Attachment, ...]:
    # Two attachments named alike ("image001.png") must not overwrite each other downstream.
    seen: set[str] = set()
    result = []
    for att in attachments:
        name, number, stem, suffix = att.name, 1, Path(att.name).stem, Path(att.name).suffix
        while name.lower() in seen:
            number += 1
            name = f"{stem} ({number}){suffix}"
        seen.add(name.lower())
        result.append(base.Attachment(name=name, data=att.data))
    return tuple(result)


def _paragraphs(text: str) -> list[base.Segment]:
    # Quoted history ("> ...", "-----Original Message-----", "Van: ... Verzonden: ...") is source
    # text too: it stays, split into paragraphs like the rest.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = (block.rstrip() for block in _BLANK_LINES.split(text))
    return [base.Segment(text=block) for block in blocks if block.strip()]


def _html_segments(html: str | bytes) -> list[base.Segment]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(DROP_TAGS):
        tag.decompose()
    return list(html_blocks(soup))


def _document(
    path: Path,
    subject: str,
    details: list[tuple[str, str]],
    body: list[base.Segment],
    atts: list[base.Attachment],
) -> base.LoadedDocument:
    details = [(label, value) for label, value in [*details, ("Onderwerp", subject)] if value]
    header = "\n".join(f"{label}: {value}" for label, value in details)
    segments = ([base.Segment(text=header)] if header else []) + body
    if not segments:
        raise DocumentError(path, _("the message has no headers and no text"), hint=_(_RESAVE))
    return base.LoadedDocument(
        path=path,
        format="email",
        title=subject or base.title_from_filename(path),
        segments=tuple(segments),
        details=tuple(details),
        attachments=_unique(atts),
    )


# --- .eml ----------------------------------------------------------------------------------------
def load_eml(path: Path, max_bytes: int) -> base.LoadedDocument:
    """Read a MIME message (``.eml``); DocumentError when it is no e-mail or its body is sealed."""
    base.check_size(path, max_bytes)
    try:
        with path.open("rb") as handle:
            message = BytesParser(policy=default_policy).parse(handle)
    except (OSError, ValueError, LookupError) as exc:
        reason = _("not a readable e-mail ({error})").format(error=exc)
        raise DocumentError(path, reason, hint=_(_RESAVE)) from exc
    assert isinstance(message, EmailMessage)  # policy.default always builds EmailMessage
    if not any(message.get(name) for name in _MAIL_HEADERS):
        reason = _("not an e-mail: the file has no mail headers")
        raise DocumentError(path, reason, hint=_(_RESAVE))

    subject = _header_text(message, "subject")
    details = [(label, _addresses(message, name)) for label, name in _ADDRESS_HEADERS]
    details.append(("Datum", _eml_date(message)))
    body_part = message.get_body(preferencelist=("plain", "html"))
    if body_part is None:
        if any(part.get_content_type() in _SMIME for part in message.walk()):
            raise _sealed(path, _("S/MIME or PGP"), _("the mail program"), ".eml")
        body: list[base.Segment] = []
    else:
        text = _part_text(path, body_part)
        is_html = body_part.get_content_subtype() == "html"
        body = _html_segments(text) if is_html else _paragraphs(text)
    return _document(path, subject, details, body, list(_eml_attachments(message, body_part)))


def _sealed(path: Path, kind: str, program: str, suffix: str) -> DocumentError:
    return DocumentError(
        path,
        _(
            "the message is encrypted or signed in a sealed form ({kind}): its text cannot be read"
        ).format(kind=kind),
        hint=_("Open it in {program}, decrypt it, and save it again as {suffix}.").format(
            program=program, suffix=suffix
        ),
    )


def _header(message: Message, name: str) -> Any:
    try:
        return message.get(name)
    except (ValueError, IndexError, TypeError):  # a malformed header is not worth failing for
        return None


def _header_text(message: Message, name: str) -> str:
    return " ".join(str(_header(message, name) or "").split())


def _addresses(message: Message, name: str) -> str:
    addresses = getattr(_header(message, name), "addresses", ())
    formatted = (_address(a.display_name, a.addr_spec) for a in addresses)
    return ", ".join(f for f in formatted if f) or _header_text(message, name)


def _eml_date(message: Message) -> str:
    moment = getattr(_header(message, "date"), "datetime", None)
    # The time as the sender's client wrote it (its own time zone), as a mail program shows it.
    return format_date(moment) if isinstance(moment, datetime) else _header_text(message, "date")


def _part_text(path: Path, part: Message) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = (part.get_content_charset() or "").lower()
    # Outlook labels Windows-1252 text as iso-8859-1; browsers treat the two alike for this reason.
    charset = "cp1252" if charset in ("iso-8859-1", "latin-1", "latin1") else charset
    try:
        return data.decode(charset if charset not in ("", "us-ascii") else "ascii")
    except (LookupError, UnicodeDecodeError):  # no, unknown or wrong label: detect the encoding
        return decode(path, data)


def _eml_attachments(message: Message, body_part: Message | None) -> Iterator[base.Attachment]:
    for number, part in enumerate(_leaf_parts(message), start=1):
        if part is body_part or part is message:
            continue
        filename = part.get_filename()
        if part.get_content_type() == "message/rfc822":
            payload: Any = part.get_payload()  # a list holding the one attached message
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                title = _header_text(inner, "subject") or f"bericht-{number}"
                yield base.Attachment(
                    name=_safe_name(f"{title}.eml", "bericht.eml"), data=_bytes_of(inner)
                )
            continue
        if part.get_content_type() in _SIGNATURES:
            continue  # the signature of a signed message: not content
        if not filename and part.get_content_disposition() != "attachment":
            continue  # an alternative body (the HTML of a plain message)
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            yield base.Attachment(name=_safe_name(filename or "", f"bijlage-{number}"), data=data)


def _leaf_parts(part: Message) -> Iterator[Message]:
    # Not Message.walk(): it would descend into an attached message, whose own attachments belong
    # to that message (it is passed on whole, as .eml).
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        yield part
        return
    payload = part.get_payload()
    for sub in payload if isinstance(payload, list) else ():
        if isinstance(sub, Message):
            yield from _leaf_parts(sub)


def _bytes_of(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=default_policy)
    except (UnicodeError, ValueError, LookupError, TypeError):  # a header that will not re-encode
        return message.as_string().encode("utf-8", "replace")


# --- .msg ----------------------------------------------------------------------------------------
def load_msg(path: Path, max_bytes: int) -> base.LoadedDocument:
    """Read an Outlook message (``.msg``); DocumentError when it is no (readable) message."""
    try:
        import extract_msg
        from extract_msg.msg_classes import MessageBase, MessageSigned
    except ImportError as exc:  # a deployment may leave it out: it is GPL-3.0 (README)
        raise DocumentError(
            path,
            _("Outlook .msg files need the extract-msg package, which is not installed"),
            hint=_("Install it (`pip install extract-msg==0.57.0`), or save the message as .eml."),
        ) from exc

    base.check_size(path, max_bytes)
    # extract-msg logs every oddity of a file at INFO and below; keep a configured level.
    lib_logger = logging.getLogger("extract_msg")
    if lib_logger.level == logging.NOTSET:
        lib_logger.setLevel(logging.WARNING)
    try:
        opened = extract_msg.openMsg(str(path))
    except Exception as exc:  # extract-msg/olefile raise their own types, OSError, ValueError...
        raise DocumentError(
            path,
            _("not a readable Outlook message ({kind}: {error})").format(
                kind=type(exc).__name__, error=exc
            ),
            hint=_("The file may be damaged or not a .msg at all. {resave}").format(
                resave=_(_RESAVE)
            ),
        ) from exc
    # The context manager closes the OLE file, which extract-msg keeps open until then.
    with opened as msg:
        if not isinstance(msg, MessageBase):
            reason = _("not an e-mail but an Outlook item of type {kind!r}").format(
                kind=msg.classType
            )
            raise DocumentError(path, reason, hint=_("Export the item as PDF and ingest that."))
        sealed = _sealed(path, "S/MIME", "Outlook", ".msg")
        if (msg.classType or "").lower().endswith(".smime"):
            raise sealed  # enveloped or opaque-signed data: extract-msg cannot open either
        try:
            subject = " ".join((msg.subject or "").split())
            details = _msg_details(msg)
            body = _msg_body(msg)
            attachments = list(_msg_attachments(msg))
        except Exception as exc:  # damaged property streams surface here, as many types
            if isinstance(msg, MessageSigned):
                raise sealed from exc
            reason = _("the Outlook message is damaged ({kind}: {error})").format(
                kind=type(exc).__name__, error=exc
            )
            raise DocumentError(path, reason, hint=_(_RESAVE)) from exc
        if isinstance(msg, MessageSigned) and not body:
            raise sealed
        return _document(path, subject, details, body, attachments)


def _msg_details(msg: Any) -> list[tuple[str, str]]:
    from extract_msg.enums import RecipientType

    name, addr = email.utils.parseaddr(msg.sender or "")
    details = [("Van", _address(name, addr) or (msg.sender or "").strip())]
    for label, kind in (("Aan", RecipientType.TO), ("Cc", RecipientType.CC)):
        people = [_address(r.name or "", r.email or "") for r in msg.recipients if r.type == kind]
        details.append((label, ", ".join(p for p in people if p)))
    return [*details, ("Datum", _msg_date(msg))]


def _msg_date(msg: Any) -> str:
    # Received mail keeps its transport headers, with the sender's own time zone; without them
    # (drafts, sent items) there is only the MAPI time in UTC, shown in Dutch time.
    raw = msg.header.get("date") if msg.headerText else None
    try:
        moment: datetime | None = email.utils.parsedate_to_datetime(str(raw)) if raw else None
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None and isinstance(msg.date, datetime):
        try:
            moment = msg.date.astimezone(ZoneInfo("Europe/Amsterdam"))
        except (KeyError, ValueError, OSError):  # no time zone data on this machine: keep UTC
            moment = msg.date
    return format_date(moment) if moment is not None else ""


def _msg_body(msg: Any) -> list[base.Segment]:
    if msg.body and msg.body.strip():
        return _paragraphs(msg.body)
    if msg.htmlBody:
        return _html_segments(msg.htmlBody)
    return []


def _msg_attachments(msg: Any) -> Iterator[base.Attachment]:
    from extract_msg.msg_classes import MessageBase, MSGFile

    for number, att in enumerate(msg.attachments, start=1):
        data = att.data  # None for web links, broken and unsupported attachments: nothing to pass
        name = _safe_name(str(getattr(att, "name", None) or ""), f"bijlage-{number}")
        if isinstance(data, bytes):
            yield base.Attachment(name=name, data=data)
        elif isinstance(data, MessageBase):
            title = " ".join((data.subject or "").split()) or f"bericht-{number}"
            yield base.Attachment(
                name=_safe_name(f"{title}.eml", "bericht.eml"),
                data=_bytes_of(_as_eml(data)),
            )
        elif isinstance(data, MSGFile):  # another Outlook item (a contact...): as Outlook wrote it
            yield base.Attachment(name=f"{Path(name).stem}.msg", data=data.exportBytes())


def _as_eml(msg: Any) -> Message:
    converted: Message = msg.asEmailMessage()
    # Without transport headers extract-msg leaves out subject and date and writes an empty
    # From; fill them in from the MAPI properties so the nested message reads as it did in Outlook.
    for name, value in (
        ("Subject", msg.subject),
        ("From", msg.sender),
        ("Date", email.utils.format_datetime(msg.date) if isinstance(msg.date, datetime) else None),
    ):
        if value and not str(converted.get(name) or "").strip():
            del converted[name]
            converted[name] = value
    return converted
