"""Checking an exported answer against the index as it is now: does each quote still stand?

An export (``provenance.export_json``) records per quote its document, offsets, the SHA-256 of
the document's source text and of the quote itself. Later the document may have been edited,
re-ingested or removed. :func:`verify_export` reads the current index (read-only) and says per
quote one of:

    unchanged         the document's source text is the same and the quote stands where it stood
    moved             the document changed, but the quote still stands verbatim (new offsets)
    gone              the quote no longer stands verbatim as one passage of the source text
    document_removed  the document is no longer in the index
    altered           the quote's text in the export does not match its hash: the export was edited

"Still stands" means what it meant when the quote was first admitted: found by
``verification.prove`` (``quotes.locate`` in the clean text, then one contiguous span of the
source text). The hashes are not a signature: they catch an export edited by hand, not one
forged with the hashes recomputed. An export of format 1 (no hashes) is checked by its text
alone, and an edit of it cannot be detected.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.core.errors import AssistantError, IndexNotReadyError
from assistant.core.i18n import N_, _
from assistant.core.settings import Settings
from assistant.documents import DocumentTexts, PinnedTexts
from assistant.index.layout import IndexLayout
from assistant.index.manifest import Manifest
from assistant.provenance import quote_sha256
from assistant.quotes import locate, normalize_quote
from assistant.types import Quote, RejectedQuote
from assistant.verification import prove

Status = Literal["unchanged", "moved", "gone", "document_removed", "altered"]

#: The statuses under which a quote still stands (exit code 0 of ``python -m assistant verify``).
STANDING: frozenset[Status] = frozenset({"unchanged", "moved"})

#: The status as a person reads it (the command line prints these), marked for the catalogue:
#: pass a label through ``_()`` where it is shown (:attr:`QuoteCheck.label` does).
LABELS: dict[Status, str] = {
    "unchanged": N_("unchanged"),
    "moved": N_("moved (still stands verbatim)"),
    "gone": N_("gone"),
    "document_removed": N_("document removed"),
    "altered": N_("export altered"),
}

_NOT_AN_EXPORT_HINT = N_(
    "Give the JSON file that *Exporteer JSON* in the web UI downloads (or the output of "
    "`python -m assistant ask --json`)."
)
_NO_HASH = N_("(export without hash: whether the export itself was edited cannot be determined)")


@dataclass(frozen=True)
class Location:
    """Where a quote stands: characters of the clean text, of the source text, and the page."""

    start: int
    end: int
    source_start: int | None
    source_end: int | None
    page: int | None


@dataclass(frozen=True)
class QuoteCheck:
    """The verdict on one exported quote. ``current`` is where it stands now (``unchanged`` and
    ``moved``; None otherwise); ``message`` says it for a person, in the interface language."""

    number: int
    status: Status
    document: str
    title: str
    text: str
    exported: Location
    current: Location | None
    message: str

    @property
    def stands(self) -> bool:
        return self.status in STANDING

    @property
    def label(self) -> str:
        """The status as a person reads it, in the interface language."""
        return _(LABELS[self.status])


@dataclass(frozen=True)
class ExportCheck:
    """All quotes of one export checked against the index; ``ok``: every one still stands."""

    question: str
    export_format: int
    quotes: tuple[QuoteCheck, ...]
    #: Remarks on the whole check (an export without hashes).
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(check.stands for check in self.quotes)

    def counts(self) -> dict[Status, int]:
        """How many quotes have each status (only the statuses that occur)."""
        counts: dict[Status, int] = {}
        for check in self.quotes:
            counts[check.status] = counts.get(check.status, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable result (``python -m assistant verify --json``)."""
        return {
            "ok": self.ok,
            "question": self.question,
            "export_format": self.export_format,
            "counts": self.counts(),
            "notes": list(self.notes),
            "quotes": [
                {**asdict(check), "stands": check.stands, "label": check.label}
                for check in self.quotes
            ],
        }


def load_export(path: Path) -> dict[str, Any]:
    """Read an export file; a file that is missing or not JSON fails with what to give instead."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AssistantError(
            _("There is no file {path}.").format(path=path), hint=_(_NOT_AN_EXPORT_HINT)
        ) from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AssistantError(
            _("{path} cannot be read as JSON ({kind}: {reason}).").format(
                path=path, kind=type(exc).__name__, reason=exc
            ),
            hint=_(_NOT_AN_EXPORT_HINT),
        ) from exc
    if not isinstance(data, dict):
        raise AssistantError(
            _("{path} is JSON but not an answer export.").format(path=path),
            hint=_(_NOT_AN_EXPORT_HINT),
        )
    return data


def verify_export(data: dict[str, Any], settings: Settings) -> ExportCheck:
    """Check every quote of an export (the parsed JSON) against the current index, read-only."""
    quotes = _exported_quotes(data)
    layout = IndexLayout(settings.index_dir)
    manifest = Manifest.load(layout.manifest)
    if manifest.config is None:
        raise IndexNotReadyError(
            _("There is no index in {path} to check the export against.").format(
                path=settings.index_dir
            ),
            hint=_(
                "Run `python -m ingest` first, or point ASSISTANT_DATA_DIR at the index the "
                "export was made from."
            ),
        )
    present = {q["document"] for q in quotes if q["document"] in manifest.documents}
    # Pinned: an ingest running meanwhile changes nothing in the middle of one check; a text
    # that vanished since the manifest was read counts as removed.
    texts, missing = DocumentTexts(layout.documents).pin(present)
    checks = tuple(
        _check(
            # The number the export gave the quote (the answer cites it so), else its place.
            _optional_int(quote.get("number")) or number,
            quote,
            texts,
            removed=quote["document"] not in present - missing,
        )
        for number, quote in enumerate(quotes, start=1)
    )
    export_format = data.get("export_format", 1)
    notes: tuple[str, ...] = ()
    if any("quote_sha256" not in q for q in quotes):
        notes = (
            _(
                "This export has no hashes (for some of its quotes; export format 1): the quotes "
                "were checked by their text alone, and whether the export itself was edited "
                "cannot be determined."
            ),
        )
    question = data.get("question")
    return ExportCheck(
        question=question if isinstance(question, str) else "",
        export_format=export_format if isinstance(export_format, int) else 1,
        quotes=checks,
        notes=notes,
    )


def _exported_quotes(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The export's quotes, each with the fields a check needs (else: not an export)."""
    quotes = data.get("quotes")
    if not isinstance(quotes, list):
        raise AssistantError(
            _("The JSON has no list of quotes, so it is not an answer export."),
            hint=_(_NOT_AN_EXPORT_HINT),
        )
    required = {"text": str, "document": str, "start": int, "end": int}
    for number, quote in enumerate(quotes, start=1):
        wrong = (
            [name for name, kind in required.items() if not _is(quote.get(name), kind)]
            if isinstance(quote, dict)
            else list(required)
        )
        if wrong:
            raise AssistantError(
                _("Quote {number} of the export lacks a valid {fields}.").format(
                    number=number, fields=", ".join(wrong)
                ),
                hint=_("The file is damaged or not an answer export; export the answer again.")
                + " "
                + _(_NOT_AN_EXPORT_HINT),
            )
    return quotes


def _is(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _optional_int(value: Any) -> int | None:
    return value if _is(value, int) else None


def _check(number: int, quote: dict[str, Any], texts: PinnedTexts, *, removed: bool) -> QuoteCheck:
    text, document = quote["text"], quote["document"]
    exported = Location(
        quote["start"],
        quote["end"],
        _optional_int(quote.get("source_start")),
        _optional_int(quote.get("source_end")),
        _optional_int(quote.get("page")),
    )
    title = str(quote.get("title") or document)

    # ``title`` is read when a verdict is made: the document's current title once it is read.
    def verdict(status: Status, message: str, current: Location | None = None) -> QuoteCheck:
        return QuoteCheck(number, status, document, title, text, exported, current, message)

    hashed = quote.get("quote_sha256")
    unhashed = "" if isinstance(hashed, str) else " " + _(_NO_HASH)
    if isinstance(hashed, str) and hashed != quote_sha256(text):
        return verdict(
            "altered",
            _(
                "The text of this quote in the export does not match its hash: the export was "
                "edited after it was exported. Export the answer again."
            ),
        )
    if removed:
        return verdict(
            "document_removed",
            _("The document {document} is no longer in the index: it was removed.").format(
                document=document
            )
            + unhashed,
        )
    stored = texts.get(document)
    title = stored.title
    clean = stored.text.text
    recorded = quote.get("document_sha256") or None  # None/"" in an export without it
    same_document = isinstance(recorded, str) and recorded == texts.sha256(document)
    if same_document and clean[exported.start : exported.end] == text:
        return verdict(
            "unchanged",
            _("The document has not changed; the quote stands in it verbatim, in the same place."),
            exported,
        )
    proven = prove(text, document, texts, near=exported.start)
    # The passage found must be the quote itself, not a longer one: word snapping widens a
    # quote whose last word now goes on ("5 miljoen" in "5 miljoenen").
    if not isinstance(proven, Quote) or normalize_quote(proven.text) != normalize_quote(text):
        return verdict("gone", _gone(proven, texts, document) + unhashed)
    current = Location(
        proven.start, proven.end, proven.source_start, proven.source_end, proven.page
    )
    where = (
        _("characters {start}–{end}, source text {source_start}–{source_end}").format(
            start=current.start,
            end=current.end,
            source_start=current.source_start,
            source_end=current.source_end,
        )
        if current.source_start is not None
        else _("characters {start}–{end}").format(start=current.start, end=current.end)
    )
    if recorded is None and current == exported:
        # Without the document's hash the document may or may not have changed; the quote is
        # where the export says, and that is all an old export lets us know.
        return verdict(
            "unchanged",
            _("The quote stands in it verbatim, in the same place ({where}).").format(where=where)
            + unhashed,
            current,
        )
    if same_document:
        # The same source text, yet not at the export's offsets: the document was processed
        # again (another cleaner version), or the export's offsets were edited.
        message = (
            _(
                "The document has not changed, but the quote does not stand where the export "
                "says: it is in the same place."
            )
            if current == exported
            else _(
                "The document has not changed, but the quote does not stand where the export "
                "says: it is now at {where}."
            ).format(where=where)
        )
    else:
        message = (
            _(
                "The document has changed, but the quote still stands in it verbatim, in the same "
                "place."
            )
            if current == exported
            else _(
                "The document has changed, but the quote still stands in it verbatim, now at "
                "{where}."
            ).format(where=where)
        )
    return verdict("moved", message + unhashed, current)


def _gone(proven: Quote | RejectedQuote, texts: PinnedTexts, document: str) -> str:
    """Why a quote no longer stands, in the interface language."""
    if texts.alignment(document) is None:
        return _(
            "The document was indexed by an older version and cannot be checked against its "
            "source text; run `python -m ingest` and check again."
        )
    if isinstance(proven, RejectedQuote) and locate(proven.text, texts.normalized(document)):
        return _(
            "The text is still in the document, but no longer as one contiguous passage of the "
            "source text."
        )
    return _("The quote no longer stands verbatim in the document.")
