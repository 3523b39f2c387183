"""Turn staff feedback from the web UI into draft reference items:
``python -m evals.feedback [data/feedback.jsonl] > drafts.jsonl``.

Each draft is a reference item (see README, "Adding an item") prefilled from one feedback record:
the question, the answer as reference answer when it got a thumbs up, and the verified quotes
as sources (they stand verbatim in the clean text, so the validator accepts them). A person
still has to check the answer, fill in ``key_facts`` and the ``kind``, and remove ``review``
before the item goes into ``reference.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any


def draft_item(record: dict[str, Any]) -> dict[str, Any]:
    """A reference-item draft from one feedback record."""
    liked = record.get("rating") == "up"
    refused = bool(record.get("refused"))
    digest = hashlib.sha1(record["question"].encode("utf-8")).hexdigest()[:8]
    notes = [f"feedback {record.get('rating') or 'comment'} on {record.get('created_at', '?')}"]
    if record.get("comment"):
        notes.append(f"comment: {record['comment']}")
    return {
        "id": f"fb-{digest}",
        "question": record["question"],
        # A liked refusal says the documents do not answer it; a liked answer that they do.
        "answerable": not refused if liked else None,
        "reference_answer": record.get("answer", "") if liked and not refused else "",
        "sources": [
            {"document": q["file"], "quote": q["text"]}
            for q in record.get("quotes", [])
            if q.get("file")
        ],
        "key_facts": [],
        "kind": "unanswerable" if liked and refused else None,
        "split": "dev",
        "review": "; ".join(notes),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.feedback", description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=Path("data/feedback.jsonl"))
    args = parser.parse_args(argv)
    try:
        lines = args.file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        print(f"error: cannot read {args.file} ({exc.strerror}).", file=sys.stderr)
        return 2
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            draft = draft_item(json.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            print(f"warning: {args.file}, line {number} skipped ({exc}).", file=sys.stderr)
            continue
        if draft["id"] in seen:
            continue  # the same question rated twice: one draft
        seen.add(draft["id"])
        print(json.dumps(draft, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
