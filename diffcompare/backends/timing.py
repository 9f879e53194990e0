"""Timing one gradient evaluation: the median of repeated warm calls.

Warm includes memory. glibc's malloc, left to itself, gives a block of 128 KiB or more its own
mapping until a freed one raises that threshold, and hands a free top of its heap back to the
system past a threshold it moves too: so whether a timed call finds the memory its warm-up call
freed, or faults its arrays in afresh (about 5 µs a 4 KiB page here, 38 ms against 11 ms for ten
8 MB temporaries), depends on what this process allocated before, other backends included
(issue 18: the chain-rule engine at n = 10⁶, 4,616 page faults a timed call alone in a process,
none after torch and jax ran, 92 ms against 70 ms). `steady_allocator` sets both thresholds, when
a backend first loads this module, to the values glibc's own adjustment reaches (a 32 MiB block
mapped on its own, 64 MiB of free top kept), so a timed call reuses what its warm-up freed
whatever ran before. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import statistics
import time
from collections.abc import Callable

from diffcompare.lang.memo import PerObject

DEFAULT_REPEAT = 7
DEFAULT_BUDGET_S = 0.02  # per cell, so that a default run stays quick (--budget for more)
_settings = {"repeat": DEFAULT_REPEAT, "budget_s": DEFAULT_BUDGET_S}

# glibc's mallopt parameters, and the values its dynamic adjustment stops at on 64-bit systems
# (DEFAULT_MMAP_THRESHOLD_MAX, and twice that for the trim threshold, as glibc moves it).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
_allocator: dict[str, object] = {}


def steady_allocator() -> bool:
    """Set glibc malloc's thresholds once per process (the module docstring says why); True
    where they are set. DIFFCOMPARE_STEADY_MALLOC=0 leaves the allocator as it is."""
    if "steady" not in _allocator:
        _allocator["steady"] = _set_thresholds()
    return bool(_allocator["steady"])


def _set_thresholds() -> bool:
    if os.environ.get("DIFFCOMPARE_STEADY_MALLOC", "1") == "0" or not _glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False


steady_allocator()  # every backend imports this module before it computes anything


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


class PerProblem(PerObject):
    """A figure measured once per problem (the very object) and key, and given again to
    the calls that ask for it with the same problem: f's time, shared by the modes of one
    problem × dtype. Bounded (the oldest forgotten first); a problem that is gone, or
    another object at its address, is measured afresh (lang/memo.PerObject)."""

    def __init__(self, size: int = 64):
        super().__init__(size)
