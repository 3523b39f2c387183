"""What one ingestion run did: per-file outcomes, the source audit, OCR, for the summary."""

from __future__ import annotations

from dataclasses import dataclass, field


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
        lines = [
            f"Documents: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
            f"{len(self.failed)} failed.",
            f"Index: {self.documents_total} documents, {self.chunks_total} chunks "
            f"({self.chunks_written} chunks written in this run), {self.seconds:.1f} s.",
        ]
        if self.audited:
            lines.append(
                f"Source check: {self.audited} documents cleaned, {len(self.unmapped)} sentences "
                "not found as one passage of their source."
            )
        if self.ocr_pages:
            read = self.ocr_pages - self.ocr_cached
            pace = f", {self.ocr_seconds / read:.1f} s per page" if read else ""
            lines.append(
                f"OCR: {self.ocr_pages} scanned pages ({self.ocr_cached} from the OCR cache"
                f"{pace}); {len(self.uncertain)} under the confidence threshold."
            )
        for scan in self.uncertain:
            lines.append(
                f"  LOW OCR CONFIDENCE {scan.path} p. {scan.page}: {scan.confidence:.0f}% "
                "(indexed; check the scan)"
            )
        for name in self.skipped_attachments:
            lines.append(f"  ATTACHMENT NOT INGESTED {name}: unsupported file type")
        for failure in self.failed:
            hint = f"\n      -> {failure.hint}" if failure.hint else ""
            lines.append(f"  FAILED {failure.path}: {failure.reason}{hint}")
        for sentence in self.unmapped:
            page = f" p. {sentence.page}" if sentence.page else ""
            lines.append(f"  UNMAPPED {sentence.path}{page}: {sentence.text[:160]}")
        return "\n".join(lines)


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
