"""Timing one gradient evaluation: the median of repeated warm calls."""

from __future__ import annotations

import statistics
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable

DEFAULT_REPEAT = 7
DEFAULT_BUDGET_S = 0.02  # per cell, so that a default run stays quick (--budget for more)
_settings = {"repeat": DEFAULT_REPEAT, "budget_s": DEFAULT_BUDGET_S}


def configure(repeat: int | None = None, budget_s: float | None = None) -> None:
    """--repeat / --budget: more calls per cell, for more precise figures."""
    _settings["repeat"] = DEFAULT_REPEAT if repeat is None else max(1, int(repeat))
    _settings["budget_s"] = DEFAULT_BUDGET_S if budget_s is None else max(0.0, float(budget_s))


def settings() -> tuple[int, float]:
    return _settings["repeat"], _settings["budget_s"]


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    """(fn(), seconds): the first call, whose time is part of a backend's setup."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def median_time(fn: Callable[[], object], repeat: int | None = None, budget_s: float | None = None) -> float:
    """Median seconds of fn() over up to `repeat` calls within `budget_s`.

    The caller has already made the warm-up call (it needed the result), so
    every call timed here is warm. At least one call is always timed.
    """
    repeat = _settings["repeat"] if repeat is None else repeat
    budget_s = _settings["budget_s"] if budget_s is None else budget_s
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < repeat:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if time.perf_counter() > deadline:
            break
    return statistics.median(times)


class PerProblem:
    """A figure measured once per problem (the very object) and key, and given again to
    the calls that ask for it with the same problem: f's time, shared by the modes of one
    problem × dtype. Bounded (the oldest forgotten first); a problem that is gone, or
    another object at its address, is measured afresh."""

    def __init__(self, size: int = 64):
        self.size = size
        self._memo: OrderedDict[tuple, tuple[weakref.ref, object]] = OrderedDict()

    def get(self, problem, key, measure: Callable[[], object]) -> object:
        slot = (id(problem), key)
        found = self._memo.get(slot)
        if found is not None and found[0]() is problem:
            self._memo.move_to_end(slot)
            return found[1]
        value = measure()
        self._memo[slot] = (weakref.ref(problem), value)
        self._memo.move_to_end(slot)
        while len(self._memo) > self.size:
            self._memo.popitem(last=False)
        return value
