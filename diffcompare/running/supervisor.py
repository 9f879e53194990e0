"""Isolation: every problem × backend cell under a wall-clock limit, in a worker
process that may hang, raise or die without taking the run with it.

Each worker is a spawned process that takes one problem at a time and runs its
backends one by one, reporting each finished cell through a pipe. The parent
watches the clock: a cell that runs past its limit gets its worker killed and
an `error` row ("timed out"); a worker that dies (a segfault, os._exit) costs
the cell it was running an `error` row with its exit code. Either way a fresh
worker picks the problem up at the next backend, and the run goes on.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import wait

from diffcompare.running.options import RunOptions
from diffcompare.running.worker import payload, supervised_worker

DEFAULT_TIMEOUT_S = 300.0  # per problem × backend cell


class _Slot:
    """One worker process and what it is doing."""

    def __init__(self, context):
        self.context = context
        self.start_process()

    def start_process(self):
        self.conn, child = self.context.Pipe()
        self.process = self.context.Process(target=supervised_worker, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.position = None  # the problem it runs
        self.backend = None  # the index of the backend it runs
        self.since = 0.0

    def send(self, position, request):
        self.position, self.backend, self.since = position, request[2], time.monotonic()
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


def run_isolated(problems, names, options: RunOptions, *, jobs, timeout, finished, failed_cell, progress=None) -> None:
    """Fill finished[position] with each problem's cells. failed_cell(problem, backend, message)
    makes the rows of a cell whose worker timed out or died. progress(problem, backend), if
    given, hears of every finished cell: rows, failure, timeout or death alike."""
    context = multiprocessing.get_context("spawn")
    pending = list(range(len(problems)))
    slots = [_Slot(context) for _ in range(max(1, min(jobs, len(problems))))]
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

    def add(position, backend, blocks):
        cells[position] += blocks
        if progress:
            progress(problems[position], names[backend])

    def add_failed(position, backend, message):
        add(position, backend, failed_cell(problems[position], names[backend], message))

    try:
        for slot in slots:
            if pending:
                position = pending.pop(0)
                slot.send(position, request(position, 0))
        while any(slot.position is not None for slot in slots):
            busy = [s for s in slots if s.position is not None]
            deadline = min(s.since for s in busy) + timeout
            ready = wait([s.conn for s in busy], timeout=max(0.0, deadline - time.monotonic()))
            for slot in busy:
                if slot.conn in ready:
                    try:
                        message = slot.conn.recv()
                    except (EOFError, OSError):
                        slot.process.join(timeout=5)
                        code = slot.process.exitcode
                        position, backend = slot.position, slot.backend
                        add_failed(position, backend, f"the backend's process died (exit code {code})")
                        slot.start_process()
                        resume(slot, position, backend + 1)
                        continue
                    if message[0] == "started":
                        slot.backend, slot.since = message[1], time.monotonic()
                    elif message[0] == "cell":
                        add(slot.position, message[1], message[2])
                    elif message[0] == "failed":
                        add_failed(slot.position, message[1], message[2])
                    elif message[0] == "done":
                        finish(slot, slot.position)
                        if pending:
                            position = pending.pop(0)
                            slot.send(position, request(position, 0))
                elif time.monotonic() - slot.since > timeout:
                    position, backend = slot.position, slot.backend
                    slot.kill()
                    add_failed(position, backend, f"timed out after {timeout:g} s")
                    slot.start_process()
                    resume(slot, position, backend + 1)
    finally:
        for slot in slots:
            if slot.position is not None:
                slot.kill()
            else:
                slot.stop()
