"""Timing one gradient evaluation: the median of repeated warm calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

DEFAULT_REPEAT = 7
DEFAULT_BUDGET_S = 0.05  # per cell, so that a default run stays quick


def median_time(fn: Callable[[], object], repeat: int = DEFAULT_REPEAT, budget_s: float = DEFAULT_BUDGET_S) -> float:
    """Median seconds of fn() over up to `repeat` calls within `budget_s`.

    The caller has already made the warm-up call (it needed the result), so
    every call timed here is warm. At least one call is always timed.
    """
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < repeat:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if time.perf_counter() > deadline:
            break
    return statistics.median(times)
