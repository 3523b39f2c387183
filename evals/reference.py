"""The hand-written reference set: loading, filtering, and locating its quotes in the corpus."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assistant.quotes import NormalizedText, locate
from evals.metrics import SourceSpan
from ingest.clean import clean_document
from ingest.load import load_document

REFERENCE_FILE = Path(__file__).resolve().parent / "reference.jsonl"


def runs_folder() -> Path:
    """Where runs are written by default: ``evals/runs/`` in a checkout (git-ignored); from an
    installed package, ``eval-runs/`` in the working directory (never into site-packages)."""
    here = Path(__file__).resolve().parent
    if (here.parent / "pyproject.toml").is_file():
        return here / "runs"
    return Path.cwd() / "eval-runs"


KINDS = ("fact", "paraphrase", "list", "multi_doc", "why_definition", "unanswerable", "english")


@dataclass(frozen=True)
class Source:
    document: str  # file name in the corpus folder
    quote: str


@dataclass(frozen=True)
class Item:
    """One reference question with what a correct answer needs."""

    id: str
    question: str
    answerable: bool
    reference_answer: str
    sources: tuple[Source, ...]
    key_facts: tuple[str, ...]
    kind: str
    split: str


def load_items(path: Path = REFERENCE_FILE) -> list[Item]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            items.append(
                Item(
                    id=data["id"],
                    question=data["question"],
                    answerable=bool(data["answerable"]),
                    reference_answer=data["reference_answer"],
                    sources=tuple(Source(s["document"], s["quote"]) for s in data["sources"]),
                    key_facts=tuple(data["key_facts"]),
                    kind=data["kind"],
                    split=data["split"],
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}, line {number}: not a valid reference item ({exc})") from exc
    return items


def select(
    items: list[Item],
    *,
    kinds: list[str] | None = None,
    ids: list[str] | None = None,
    split: str = "dev",
    limit: int | None = None,
) -> list[Item]:
    """Items of the given kinds/ids/split (``all`` for both splits), at most ``limit``."""
    chosen = [
        item
        for item in items
        if (split == "all" or item.split == split)
        and (not kinds or item.kind in kinds)
        and (not ids or item.id in ids)
    ]
    return chosen[:limit] if limit else chosen


@cache
def corpus_text(corpus_dir: Path, name: str) -> NormalizedText:
    """The clean text of a corpus file, as ingestion produces it."""
    return NormalizedText(clean_document(load_document(corpus_dir / name, max_bytes=2**28)).text)


def reference_spans(item: Item, corpus_dir: Path) -> list[SourceSpan]:
    """Where the item's reference quotes stand in the clean corpus texts."""
    spans = []
    for source in item.sources:
        span = locate(source.quote, corpus_text(corpus_dir, source.document))
        if span is None:
            raise ValueError(f"{item.id}: reference quote not found in {source.document}")
        spans.append(SourceSpan(source.document, span.start, span.end))
    return spans
