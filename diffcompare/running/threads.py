"""Threads set on purpose: each worker process gets cores ÷ workers for every library's pool.

Left alone, torch, XLA and NumPy's BLAS each start a thread per core in every worker, so two
workers on two cores run four threads on two cores and a row's `time_s` measures the
contention, not the library (torch's gradient at 10⁶ elements: 0.236 s so against 0.022 s on
one thread, issue 18). A worker is started with the libraries' own variables set to its
share (they read them when they load, which in a spawned worker is after this is set), and
torch is told again once loaded (torch.set_num_threads). Every row carries the share its cell
ran under (the `threads` column); a run in this process (one job) leaves the libraries as they
are, and its rows say how many cores they could use.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

# Read by OpenMP (torch's intra-op pool, NumPy's OpenBLAS built with it), OpenBLAS, MKL,
# Accelerate and numexpr when they load.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
# XLA's CPU client: one thread where the share is one (Eigen's pool off, one intra-op thread).
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

_current: int | None = None  # this process's share, once a worker has set it


def cores() -> int:
    """The cores this process may run on (its affinity where the system says, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def per_worker(jobs: int) -> int:
    """Each of `jobs` workers' share of the cores: at least one thread."""
    return max(1, cores() // max(1, jobs))


def current() -> int:
    """The threads this process's cells run under: the worker's share, else every core."""
    return _current if _current is not None else cores()


def environment(threads: int) -> dict[str, str]:
    """The variables a worker with this share starts with."""
    env = {name: str(threads) for name in THREAD_VARIABLES}
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in flags:
            env["XLA_FLAGS"] = f"{flags} {XLA_ONE_THREAD}".strip()
    return env


@contextmanager
def started_with(threads: int | None):
    """os.environ as a worker with this share should inherit it, while it is started (a spawned
    process copies the parent's environment at start); as it was, after. None: unchanged."""
    if threads is None:
        yield
        return
    saved = {name: os.environ.get(name) for name in (*THREAD_VARIABLES, "XLA_FLAGS")}
    os.environ.update(environment(threads))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def configure(threads: int | None) -> None:
    """In a worker: its share, for the rows (`threads`) and for torch where it is loaded (torch
    reads OMP_NUM_THREADS when it loads; set_num_threads holds it however it was loaded)."""
    global _current
    if threads is None:
        return
    _current = threads
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
