"""Helpers with no side effects: statistics and a free loopback port. `_common` re-exports them;
`load_ui.py` imports them from here, so it keeps the environment it was started with (it may
load-test a UI running another generator or a Chroma server)."""

from __future__ import annotations

import socket
import statistics
from collections.abc import Sequence

import numpy as np


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolation percentile (p in 0..100), NaN for no values."""
    return float(np.percentile(values, p)) if len(values) else float("nan")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
