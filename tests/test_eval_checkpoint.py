"""An eval run that is stopped goes on where it stopped: every scored item is kept as it comes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.reference import Item, load_items
from evals.runner import Outcome, evaluate


class _Counting:
    """A system under evaluation that refuses everything and counts what it was asked (the
    checkpoint is what is tested here, not an answer)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, item: Item) -> Outcome:
        self.asked.append(item.id)
        return Outcome(rank=None, answer="", refused=True, refusal_reason="counted")


def test_a_stopped_run_goes_on_where_it_stopped(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    settings = make_settings()
    items = load_items()[:4]
    checkpoint = tmp_path / "run" / "partial.jsonl"
    first = _Counting()
    evaluate(items[:3], settings, system=first, label="t", checkpoint=checkpoint, progress=False)
    assert first.asked == [item.id for item in items[:3]]
    # A kill in mid-write leaves half a line: that item is asked again, the others are not.
    lines = checkpoint.read_text(encoding="utf-8").splitlines()
    checkpoint.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40], encoding="utf-8")
    second = _Counting()
    run = evaluate(items, settings, system=second, label="t", checkpoint=checkpoint, progress=False)
    assert second.asked == [items[2].id, items[3].id]
    assert [result["id"] for result in run.items] == [item.id for item in items]
    # The item asked after the cut-off line was kept on a line of its own.
    third = _Counting()
    evaluate(items, settings, system=third, label="t", checkpoint=checkpoint, progress=False)
    assert third.asked == []
    # Another system or other settings start from scratch.
    other = _Counting()
    evaluate(items[:2], settings, system=other, label="u", checkpoint=checkpoint, progress=False)
    assert other.asked == [item.id for item in items[:2]]
