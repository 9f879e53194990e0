"""Threads set on purpose: each worker process gets cores ÷ workers for every library's pool.

Left alone, torch, XLA and NumPy's BLAS each start a thread per core in every worker, so two
workers on two cores run four threads on two cores and a row's `time_s` measures the
contention, not the library (torch's gradient at 10⁶ elements: 0.236 s so against 0.022 s on
one thread, issue 18). A worker is started with the libraries' own variables set to its
share (they read them when they load, which in a spawned worker is after this is set), and
torch is told again once loaded (torch.set_num_threads). Every row carries the share its cell
ran under (the `threads` column); a run in this process (one job) leaves the thread counts as
they are, and its rows say how many cores they could use.

Pools that wait by sleeping, not spinning. torch's intra-op pool is GNU OpenMP's, whose threads
spin 300,000 rounds at each barrier and after each parallel region before they sleep: about 10 ms
of a core here after every torch call (measured by the threads' run time, /proc's schedstat).
While any other thread wants that core (another backend's pool, the parent's typesetting, another
process), the spinning and the threads it keeps waiting cost far more than the work: torch's
gradient of Rosenbrock at n = 10⁵ took 0.4 s instead of 3 ms for a first timed call after other
work in the process, and hand-written torch the same, 370–450 ms against 10–16 ms with short
spins (benchmarks/neighbours.py, issue 18). GOMP_SPINCOUNT=10000 bounds the spin to a fraction
of a millisecond (nothing burns after a call), as fast as the default on a quiet machine (2.2 ms
against 2.5–2.8 ms at 10⁵, 33–37 ms against 39–54 ms at 10⁶). It is set, unless the user set it
or OMP_WAIT_POLICY, in this process's environment when diffcompare loads (GNU OpenMP reads it
when torch loads it) and in every worker's.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

# Read by OpenMP (torch's intra-op pool, NumPy's OpenBLAS built with it), OpenBLAS, MKL,
# Accelerate and numexpr when they load.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
# XLA's CPU client: one thread where the share is one (Eigen's pool off, one intra-op thread).
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

# GNU OpenMP's spin before a waiting thread sleeps (its default: 300,000; see above).
POOL_SPIN = {"GOMP_SPINCOUNT": "10000"}
# Where the user chose how OpenMP's threads wait, diffcompare leaves it.
USER_WAIT_VARIABLES = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")

_current: int | None = None  # this process's share, once a worker has set it
_user_chose_wait = any(name in os.environ for name in USER_WAIT_VARIABLES)  # before quiet_pools


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


def pool_spin() -> dict[str, str]:
    """The wait variables diffcompare sets: POOL_SPIN, or nothing where the user chose."""
    return {} if _user_chose_wait else dict(POOL_SPIN)


def quiet_pools() -> dict[str, str]:
    """Pools that sleep when they wait, in this process from now on (for a library not yet
    loaded: GNU OpenMP reads its variables when torch loads it) and in what it starts. Returns
    the variables it set."""
    spin = pool_spin()
    os.environ.update(spin)
    return spin


def spin_in_force() -> str:
    """How OpenMP's waiting threads wait in this process, as its environment says."""
    found = [f"{name}={os.environ[name]}" for name in USER_WAIT_VARIABLES if name in os.environ]
    return " ".join(found) or "OpenMP's default"


def environment(threads: int) -> dict[str, str]:
    """The variables a worker with this share starts with."""
    env = {name: str(threads) for name in THREAD_VARIABLES}
    env.update(pool_spin())
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
    saved = {name: os.environ.get(name) for name in (*THREAD_VARIABLES, "XLA_FLAGS", *POOL_SPIN)}
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


quiet_pools()  # diffcompare loads this before any backend, so before torch in a run of its own
