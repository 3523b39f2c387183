"""Confidence intervals for the report's rates: a percentile bootstrap over reference items.

The reference set is small (tens of items per kind), so a rate of 0.45 may well be 0.35 or 0.55
on another draw of questions; the interval says how far a difference between two runs can be
trusted. Items are the unit of resampling because they are what was drawn, not quotes or facts.
The seed is fixed so that one run's report is the same every time it is rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


def bootstrap_interval(
    values: Sequence[float], *, resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float] | None:
    """The ``level`` percentile-bootstrap interval of the mean of ``values``; None for none."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(resamples, data.size))
    return _percentiles(data[picks].mean(axis=1), level)


def bootstrap_ratio_interval(
    numerators: Sequence[float],
    denominators: Sequence[float],
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """The interval of ``sum(numerators) / sum(denominators)``, resampling the pairs (items).

    For a rate over things an item holds several of (valid quotes over shown quotes): the
    quotes of one answer stand or fall together, so they are resampled with their item rather
    than one by one. Denominators are counts; items with none carry nothing to either sum and
    are left out. None when no item has any.
    """
    top = np.asarray(numerators, dtype=float)
    bottom = np.asarray(denominators, dtype=float)
    if top.shape != bottom.shape:
        raise ValueError("numerators and denominators differ in length")
    if (bottom < 0).any():
        raise ValueError("denominators are counts and cannot be negative")
    kept = bottom > 0
    top, bottom = top[kept], bottom[kept]
    if bottom.size == 0:
        return None
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, bottom.size, size=(resamples, bottom.size))
    # Every kept denominator is positive, so no resample divides by zero.
    return _percentiles(top[picks].sum(axis=1) / bottom[picks].sum(axis=1), level)


def _percentiles(estimates: npt.NDArray[np.float64], level: float) -> tuple[float, float]:
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, not {level}")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram: items whose predicted probability fell in it."""

    predicted: float  # the mean predicted probability of its items
    observed: float  # the share of its items where the event happened (answerable)
    count: int


def reliability_bins(
    probabilities: Sequence[float], outcomes: Sequence[bool], *, bins: int = 10
) -> list[ReliabilityBin]:
    """The non-empty bins of ``bins`` equal-width bins of [0, 1], in order of probability."""
    predicted = np.clip(np.asarray(probabilities, dtype=float), 0.0, 1.0)
    happened = np.asarray(outcomes, dtype=float)
    if predicted.shape != happened.shape:
        raise ValueError("probabilities and outcomes differ in length")
    if predicted.size == 0:
        return []
    # calibration_curve's own rule (a bin holds its upper edge), so the counts line up with
    # the bins it returns, which it does not count.
    ids = np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], predicted)
    counts = np.bincount(ids, minlength=bins)
    try:
        from sklearn.calibration import calibration_curve
    except ImportError:
        filled = counts > 0
        shares = np.bincount(ids, weights=happened, minlength=bins)[filled] / counts[filled]
        means = np.bincount(ids, weights=predicted, minlength=bins)[filled] / counts[filled]
    else:
        shares, means = calibration_curve(
            happened.astype(int), predicted, n_bins=bins, strategy="uniform"
        )
    return [
        ReliabilityBin(float(mean), float(share), int(count))
        for mean, share, count in zip(means, shares, counts[counts > 0], strict=True)
    ]
