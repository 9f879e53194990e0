"""Isolation: every problem × backend cell under a wall-clock limit, in a worker
process that may hang, raise or die without taking the run with it.

Each worker is a spawned process that takes one problem at a time and runs its
backends one by one, reporting each step through a pipe. The parent watches the
clock: a cell that runs past its limit gets its worker killed and `error` rows
("timed out"); a worker that dies (a segfault, os._exit) costs the cell it was
running `error` rows with its exit code. Either way a fresh worker picks the problem
up at the next backend, and the run goes on.

The clock of a cell starts when its worker has started (it reports `ready` once
diffcompare is imported), and restarts at each of its reports, so that neither a
worker's start-up nor the previous cell is charged to a cell. Before a cell's
gradient starts, the worker reports the dtypes and variables the backend will give
rows for, so that a cell that times out or dies has `error` rows for those and no
others.

No process outlives the run: a worker dies with its parent (diffcompare.running.worker),
the busy workers are killed and the idle ones stopped when the run ends however it
ends (an exception, Ctrl-C, SIGTERM), and the multiprocessing resource tracker that
starting them needed is stopped too, unless it was running before the run.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import types
from multiprocessing.connection import wait

from diffcompare.backends import threads as thread_share
from diffcompare.running.options import RunOptions
from diffcompare.running.worker import payload, supervised_worker

DEFAULT_TIMEOUT_S = 300.0  # per problem × backend cell
STARTUP_S = 120.0  # a worker that has not imported diffcompare by then (or by the timeout, if longer) is stuck


def check_timeout(timeout) -> float:
    """A cell's limit must be a positive, finite number of seconds; else ValueError with one line."""
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(f"timeout: expected a number of seconds, got {timeout!r}") from None
    if not (value > 0 and value != float("inf")):  # False for nan too
        raise ValueError(f"timeout: expected a positive, finite number of seconds, got {timeout!r}")
    return value


class _Slot:
    """One worker process and what it is doing."""

    def __init__(self, context, startup_s, threads=None):
        self.context = context
        self.startup_s = startup_s
        self.threads = threads  # its share of the cores (backends.threads), None: the libraries' own
        self.start_process()

    def start_process(self):
        self.conn, child = self.context.Pipe()
        self.process = self.context.Process(target=supervised_worker, args=(child,), daemon=True)
        with thread_share.started_with(self.threads):  # its libraries' pools sized as they load
            _start_without_main(self.process)
        child.close()
        self.ready = False  # True once the worker reports that it has started
        self.position = None  # the problem it runs
        self.backend = None  # the index of the backend it runs (or is about to)
        self.shape = None  # [(dtype, [variables])] of that cell, as the worker reported it
        self.since = time.monotonic()  # when the current clock started

    def deadline(self, timeout):
        return self.since + (timeout if self.ready else max(timeout, self.startup_s))

    def send(self, position, request):
        self.position, self.backend, self.shape = position, request[2], None
        if self.ready:
            self.since = time.monotonic()
        self.conn.send(request)

    def kill(self):
        self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self):
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _start_without_main(process) -> None:
    """Start a spawned process without its re-running the caller's main module.

    spawn re-imports the parent's __main__ in every child (as __mp_main__), so a script
    that calls diffcompare.run(..., timeout=…) at its top level, without
    `if __name__ == "__main__":`, would have each worker run that call again and die in
    it. A worker needs nothing from __main__ (its target, its backends and its requests
    all live in importable modules), so for the moment of start() __main__ is a bare
    module, as it is in an interactive session, and the child imports no script."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        process.start()
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _tracker_running() -> bool:
    from multiprocessing import resource_tracker

    return getattr(resource_tracker._resource_tracker, "_fd", None) is not None


def _stop_tracker() -> None:
    """Stop the resource tracker that starting spawned processes launched: it would
    otherwise outlive this process in its process group."""
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        try:
            stop()
        except Exception:  # a private API: never let it cost the run
            pass


def run_isolated(problems, names, options: RunOptions, *, jobs, timeout, finished, failed_cell, progress=None) -> None:
    """Fill finished[position] with each problem's cells. failed_cell(problem, backend, message, shape)
    makes the rows of a cell whose worker timed out or died; shape is [(dtype, [variables])]
    as the worker reported them before the gradient started, or None if it did not get that far.
    progress(problem, backend), if given, hears of every finished cell: rows, failure, timeout
    or death alike."""
    timeout = check_timeout(timeout)
    if not problems:
        return
    context = multiprocessing.get_context("spawn")
    tracker_was_running = _tracker_running()
    pending = list(range(len(problems)))
    slots: list[_Slot] = []
    cells: dict[int, list] = {i: [] for i in range(len(problems))}

    def request(position, start):
        return (payload(problems[position]), names, start, options)

    def resume(slot, position, start):
        if start < len(names):
            slot.send(position, request(position, start))
        else:
            finish(slot, position)

    def finish(slot, position):
        finished[position] = cells.pop(position)
        slot.position = None
        if pending:
            position = pending.pop(0)
            slot.send(position, request(position, 0))

    def add(position, backend, blocks):
        cells[position] += blocks
        if progress:
            progress(problems[position], names[backend])

    def add_failed(position, backend, message, shape):
        add(position, backend, failed_cell(problems[position], names[backend], message, shape))

    def lost(slot, message):
        """The slot's worker is gone (killed or dead): its cell fails, a fresh worker goes on."""
        position, backend, shape = slot.position, slot.backend, slot.shape
        slot.start_process()
        if position is None:
            return
        if backend < len(names):
            add_failed(position, backend, message, shape)
        resume(slot, position, backend + 1)

    try:
        for _ in range(max(1, min(jobs, len(problems)))):
            slots.append(_Slot(context, STARTUP_S, options.threads))
        for slot in slots:
            if pending:
                position = pending.pop(0)
                slot.send(position, request(position, 0))
        while any(slot.position is not None for slot in slots):
            busy = [s for s in slots if s.position is not None]
            deadline = min(s.deadline(timeout) for s in busy)
            ready = wait([s.conn for s in busy], timeout=max(0.0, deadline - time.monotonic()))
            for slot in busy:
                if slot.conn in ready:
                    try:
                        message = slot.conn.recv()
                    except (EOFError, OSError):
                        slot.process.join(timeout=5)
                        code = slot.process.exitcode
                        slot.conn.close()
                        lost(slot, f"the backend's process died (exit code {code})")
                        continue
                    slot.since = time.monotonic()  # every report starts the next step's clock
                    if message[0] == "ready":
                        slot.ready = True
                    elif message[0] == "started":
                        slot.backend, slot.shape = message[1], message[2]
                    elif message[0] in ("cell", "failed"):
                        if message[0] == "cell":
                            add(slot.position, message[1], message[2])
                        else:
                            add_failed(slot.position, message[1], message[2], slot.shape)
                        # Until the next cell reports, the time (loading its backend) is that cell's.
                        slot.backend, slot.shape = message[1] + 1, None
                    elif message[0] == "done":
                        finish(slot, slot.position)
                elif time.monotonic() >= slot.deadline(timeout):
                    if slot.ready:
                        text = f"timed out after {timeout:g} s"
                    else:
                        text = f"the backend's process did not start within {max(timeout, slot.startup_s):g} s"
                    slot.kill()
                    lost(slot, text)
    finally:
        for slot in slots:
            if slot.position is not None or not slot.ready:
                slot.kill()
            else:
                slot.stop()
        if not tracker_was_running:
            _stop_tracker()
