"""What one ingestion run did: per-file outcomes, the source audit, OCR, for the summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.core.i18n import _, ngettext


@dataclass(frozen=True)
class FileFailure:
    """A file that could not be ingested, and why."""

    path: str
    reason: str
    hint: str | None = None


@dataclass(frozen=True)
class UnmappedSentence:
    """A sentence of a document's clean text that is not one contiguous passage of its source
    (see ``clean.audit``); quotes from it are rejected."""

    path: str
    page: int | None
    text: str


@dataclass(frozen=True)
class UncertainPage:
    """A page read by OCR whose mean word confidence is under ``ocr_min_confidence``: indexed,
    but its text may hold misread words."""

    path: str
    page: int
    confidence: float


@dataclass(frozen=True)
class IngestReport:
    """What one ingestion run did."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    failed: tuple[FileFailure, ...] = ()
    chunks_written: int = 0
    documents_total: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    #: Documents cleaned in this run and checked sentence by sentence against their source.
    audited: int = 0
    unmapped: tuple[UnmappedSentence, ...] = ()
    #: Pages read by OCR in this run (``ocr_cached`` of them taken from the OCR cache).
    ocr_pages: int = 0
    ocr_cached: int = 0
    ocr_seconds: float = 0.0
    uncertain: tuple[UncertainPage, ...] = ()
    #: E-mail attachments not ingested because of their format ("message.eml: foto.heic").
    skipped_attachments: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """The run in a few lines, in the interface language, for the console."""
        lines = [
            _(
                "Documents: {added} added, {updated} updated, {unchanged} unchanged, "
                "{removed} removed, {failed} failed."
            ).format(
                added=len(self.added),
                updated=len(self.updated),
                unchanged=len(self.unchanged),
                removed=len(self.removed),
                failed=len(self.failed),
            ),
            _(
                "Index: {documents}, {chunks} ({written} written in this run), {seconds:.1f} s."
            ).format(
                documents=_documents(self.documents_total),
                chunks=_chunks(self.chunks_total),
                written=_chunks(self.chunks_written),
                seconds=self.seconds,
            ),
        ]
        if self.audited:
            lines.append(
                _(
                    "Source check: {documents} cleaned, {sentences} not found as one passage of "
                    "their source."
                ).format(
                    documents=_documents(self.audited),
                    sentences=ngettext("{n} sentence", "{n} sentences", len(self.unmapped)).format(
                        n=len(self.unmapped)
                    ),
                )
            )
        if self.ocr_pages:
            read = self.ocr_pages - self.ocr_cached
            pace = (
                _(", {seconds:.1f} s per page").format(seconds=self.ocr_seconds / read)
                if read
                else ""
            )
            lines.append(
                _(
                    "OCR: {pages} ({cached} from the OCR cache{pace}); {uncertain} under the "
                    "confidence threshold."
                ).format(
                    pages=ngettext("{n} scanned page", "{n} scanned pages", self.ocr_pages).format(
                        n=self.ocr_pages
                    ),
                    cached=self.ocr_cached,
                    pace=pace,
                    uncertain=len(self.uncertain),
                )
            )
        for scan in self.uncertain:
            lines.append(
                "  "
                + _(
                    "LOW OCR CONFIDENCE {path} p. {page}: {confidence:.0f}% (indexed; check the "
                    "scan)"
                ).format(path=scan.path, page=scan.page, confidence=scan.confidence)
            )
        for name in self.skipped_attachments:
            lines.append(
                "  " + _("ATTACHMENT NOT INGESTED {name}: unsupported file type").format(name=name)
            )
        for failure in self.failed:
            lines.append(
                "  " + _("FAILED {path}: {reason}").format(path=failure.path, reason=failure.reason)
            )
            if failure.hint:
                lines[-1] += f"\n      -> {failure.hint}"
        for sentence in self.unmapped:
            text = sentence.text[:160]
            if sentence.page:
                line = _("UNMAPPED {path} p. {page}: {text}").format(
                    path=sentence.path, page=sentence.page, text=text
                )
            else:
                line = _("UNMAPPED {path}: {text}").format(path=sentence.path, text=text)
            lines.append(f"  {line}")
        return "\n".join(lines)


def _documents(count: int) -> str:
    return ngettext("{n} document", "{n} documents", count).format(n=count)


def _chunks(count: int) -> str:
    return ngettext("{n} chunk", "{n} chunks", count).format(n=count)


@dataclass
class Tally:
    """The counts of a run while it goes (made into an IngestReport at the end)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)
    chunks_written: int = 0
    audited: int = 0
    unmapped: list[UnmappedSentence] = field(default_factory=list)
    ocr_pages: int = 0
    ocr_cached: int = 0
    ocr_seconds: float = 0.0
    uncertain: list[UncertainPage] = field(default_factory=list)
    skipped_attachments: list[str] = field(default_factory=list)
