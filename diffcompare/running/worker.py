"""What runs in a worker process: a problem rebuilt from its document, run through
its backends cell by cell.

Three kinds of worker use it: the supervised ones (diffcompare.running.supervisor),
which report each finished cell through a pipe so that a hung or dead cell costs
only itself; the tasks of a Dask cluster (diffcompare.running.cluster), which announce
each cell before it starts; and the jobs of a concurrent.futures executor given to
run_problems.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterable

from diffcompare import backends as registry
from diffcompare.running.blame import Explainer
from diffcompare.running.cells import cell_shape, failed_cell_blocks, problem_blocks
from diffcompare.running.options import RunOptions
from diffcompare.spec.problem import Problem, build_problem


def payload(problem: Problem) -> tuple:
    """What crosses the process boundary: the YAML document, not the Problem
    (an expression DAG can be deeper than pickle likes)."""
    return problem.document, problem.file, problem.default_name, problem.params


def rebuild(problem_payload: tuple, options: RunOptions) -> Problem:
    """In a worker process: the parent's timing and limits, then the problem from its document."""
    options.apply()
    document, file, default_name, params = problem_payload
    return build_problem(document, file, default_name, params)


def select_backends(names: Iterable[str] | None) -> dict:
    """Each backend loaded (or an Unavailable saying why not), in the order asked for."""
    names = registry.available_names() if names is None else list(names)
    return {name: registry.load(name) for name in names}


_LOADED: dict[str, object] = {}  # this worker process's backends, each loaded the first time a cell needs it


def loaded(name: str):
    """The backend `name`, loaded once per worker process and kept for every later problem."""
    if name not in _LOADED:
        _LOADED.update(select_backends([name]))
    return _LOADED[name]


def run_job(problem_payload: tuple, options: RunOptions) -> list[dict]:
    """An executor's job: rebuild the problem, run it through every backend, return its cells."""
    problem = rebuild(problem_payload, options)
    names = registry.available_names() if options.backends is None else options.backends
    backends = {name: loaded(name) for name in names}
    return problem_blocks(problem, backends, options.dtypes, options.rtol, options.atol)


def each_cell(problem: Problem, names, indices, options: RunOptions, announce):
    """The problem's cells for the backends names[i], i in indices, in order, as (i, shape, blocks,
    error): announce(i, shape) is called before the cell's gradient starts, shape being the dtypes,
    modes and variables it will give rows for (cells.cell_shape); blocks are its rows, or None and
    error the line of what problem_blocks' own guards let through."""
    explainer = Explainer()
    for i in indices:
        backend = loaded(names[i])
        shape = cell_shape(problem, backend, options.dtypes)
        announce(i, shape)
        try:
            blocks = problem_blocks(problem, {names[i]: backend}, options.dtypes, options.rtol, options.atol, explainer)
        except Exception as exc:  # problem_blocks guards its cells; this guards the guard
            yield i, shape, None, registry.error_line(exc)
            continue
        yield i, shape, blocks, None


def cluster_cells(problem_payload: tuple, names: list[str], indices: list[int], options: RunOptions, topic, key):
    """A Dask task: the problem's cells for the backends names[i], i in indices, in order, as
    [(i, blocks)]. Before each cell's gradient starts, an event on `topic` (on the scheduler
    before the cell runs) says which cell, with the dtypes and variables it will give rows for,
    so that the client can time the cell and give a cell it cancels the right `error` rows.
    The backends stay loaded in the worker process, for every later task."""
    from distributed import get_worker
    from distributed.utils import sync

    worker = get_worker()
    announcement = {"key": key, "worker": worker.address}

    def announce(i, shape) -> None:
        # A round trip to the scheduler, not Worker.log_event's batched send: a cell that kills
        # its process at once would take an announcement still in the batch with it, and its
        # death would be blamed on the cell before it.
        sync(worker.loop, worker.scheduler.log_event, topic=topic, msg=announcement | {"cell": i, "shape": shape})

    problem = rebuild(problem_payload, options)
    return [
        (i, blocks if error is None else failed_cell_blocks(problem, names[i], error, options.dtypes, shape))
        for i, shape, blocks, error in each_cell(problem, names, indices, options, announce)
    ]


def die_with_parent() -> None:
    """A worker must not outlive the run that started it, however that run ends (SIGKILL
    included): on Linux the kernel kills it when its parent dies (PR_SET_PDEATHSIG); anywhere,
    a thread that waits on the pipe from the parent (multiprocessing's parent sentinel, which
    reads as closed once the parent is gone) ends it too, should the first not be there.
    Ctrl-C is the parent's to handle: it stops its workers itself."""
    import multiprocessing

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except Exception:  # no libc to ask: the watchdog below still stands
            pass
    if parent is None:
        return
    if os.getppid() != parent.pid:  # the parent died before the line above took effect
        os._exit(1)
    sentinel = parent.sentinel

    def watch() -> None:
        from multiprocessing.connection import wait

        wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="diffcompare-parent-watchdog", daemon=True).start()


def supervised_worker(conn) -> None:
    """A supervised worker's loop: report ready, then run (problem, backends from index start)
    requests until told to stop, announcing each cell (with the dtypes and variables it will
    give rows for) before its gradient starts and sending its rows when it is done."""
    die_with_parent()
    conn.send(("ready",))
    while True:
        request = conn.recv()
        if request is None:
            # Leave without the interpreter's shutdown: with torch and jax loaded it takes
            # over a second per worker, all of it on the run's wall clock, and a worker
            # has nothing to flush (its results went through the pipe).
            conn.close()
            os._exit(0)
        problem_payload, names, start, options = request
        problem = rebuild(problem_payload, options)
        cells = each_cell(
            problem, names, range(start, len(names)), options, lambda i, shape: conn.send(("started", i, shape))
        )
        for i, _, blocks, error in cells:
            conn.send(("cell", i, blocks) if error is None else ("failed", i, error))
        conn.send(("done",))
