"""Averages that say "no data" (NaN) rather than invent a score when there is nothing to average."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

NAN = float("nan")


def mean(values: Iterable[float | bool]) -> float:
    """The mean of `values`, NaN when there are none (never a made-up 0 or 1)."""
    items = [float(v) for v in values]
    return sum(items) / len(items) if items else NAN


def ratio(part: int, whole: int) -> float:
    """`part / whole`, NaN when `whole` is 0."""
    return part / whole if whole else NAN


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (linear interpolation, as numpy), NaN for no values."""
    items = list(values)
    return float(np.percentile(items, q)) if items else NAN


def is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def nan_to_none(value: object) -> object:
    """The same structure with every NaN replaced by None, so JSON gets `null`."""
    if is_nan(value):
        return None
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [nan_to_none(v) for v in value]
    return value
