from __future__ import annotations

import pytest

from evals.metrics import (
    SourceSpan,
    cosine,
    first_hit_rank,
    grounded,
    hit_at,
    key_fact_recall,
    mean,
    percentile,
    reciprocal_rank,
)

REF = [SourceSpan("brief.txt", 100, 200)]


def test_rank_hit_and_mrr() -> None:
    retrieved = [
        SourceSpan("nota.txt", 100, 200),
        SourceSpan("brief.txt", 0, 99),
        SourceSpan("brief.txt", 150, 400),
    ]
    rank = first_hit_rank(retrieved, REF)
    assert rank == 3
    assert (hit_at(rank, 1), hit_at(rank, 3), hit_at(rank, 5)) == (0.0, 1.0, 1.0)
    assert reciprocal_rank(rank) == pytest.approx(1 / 3)
    assert first_hit_rank(retrieved[:2], REF) is None
    assert reciprocal_rank(None) == 0.0 and reciprocal_rank(11) == 0.0


def test_touching_spans_do_not_overlap() -> None:
    assert not SourceSpan("brief.txt", 200, 300).overlaps(REF[0])
    assert SourceSpan("brief.txt", 199, 300).overlaps(REF[0])


def test_key_fact_recall_ignores_case_and_spacing() -> None:
    answer = "Op 25  maart 2024 stuurde de minister de reactie; zeven Aanbevelingen."
    assert key_fact_recall(answer, ["25 maart 2024", "zeven aanbevelingen", "Rli"]) == 2 / 3
    assert key_fact_recall(answer, []) is None


def test_grounding_cosine_percentiles_and_mean() -> None:
    assert grounded([SourceSpan("brief.txt", 120, 130)], REF)
    assert not grounded([SourceSpan("nota.txt", 120, 130)], REF)
    assert cosine([1.0, 0.0], [1.0, 0.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 2.0]) == pytest.approx(0.0)
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert percentile([5.0], 95) == 5.0 and percentile([], 50) is None
    assert mean([1.0, None, 3.0]) == 2.0 and mean([None]) is None
