"""Runs past one machine: every problem as a Dask task on a cluster (`--cluster ADDRESS` for a
running `dask scheduler`, `--cluster local:N` for a LocalCluster of N worker processes).

What crosses to a worker is the problem's YAML document and the run's options, never pickled
code of the problem's (running.worker.payload); the task is running.worker.cluster_cells, which
keeps its backends loaded in the worker process across tasks, so imports and JAX's compilations
are paid once per worker, not per cell.

Isolation keeps its meaning on a cluster:
- **A hung cell.** Before each cell the task announces it (an event on a topic of this run's,
  with the dtypes and variables it will give rows for, as a supervised worker reports it), so
  the clock of a cell starts when it starts. A cell past `timeout` has its task cancelled and
  its worker restarted through the worker's nanny (a thread cannot be stopped any other way);
  the cell gets `error` rows ("timed out"), and the problem is sent again without it.
- **A dead worker.** Dask's scheduler sends a task whose worker died to another worker. For
  this run it is told to do so once (allowed_failures = 1): a cell whose worker dies twice is
  Dask's KilledWorker, and becomes `error` rows with that reason; the problem is sent again
  without it. The scheduler is also told to give a worker one task per thread
  (worker-saturation 1.0), so that a death costs only the task that was running.
  Both are set on the scheduler for the run, and set back after it.
- **Nothing lost or duplicated.** A problem's rows are taken from the one task of it that
  finished; a task cancelled or superseded is ignored if it comes back.

The rows are the same as a local run's: the same code on the same document, each backend a
cell of its own in the backends' order, its libraries on one thread (`threads` = 1; Dask's
parallelism is its workers and their threads).
"""

from __future__ import annotations

import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field, replace

from diffcompare.exact import budget
from diffcompare.running.options import RunOptions
from diffcompare.running.worker import payload

INSTALL_HINT = "pip install 'diffcompare[cluster]'"
POLL_S = 0.05  # how often the client looks for finished tasks and cells past their limit


class ClusterError(Exception):
    """The cluster cannot be used (dask missing, no scheduler at the address): one line."""


def _dask():
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"--cluster needs Dask distributed, which is not installed: {INSTALL_HINT}") from None
    return distributed


def parse(spec: str) -> tuple[str, int | str]:
    """'local:N' -> ('local', N); anything else is a scheduler's address ('tcp://host:8786')."""
    spec = str(spec).strip()
    if spec.startswith("local"):
        _, _, count = spec.partition(":")
        try:
            workers = int(count or "0")
        except ValueError:
            workers = 0
        if workers < 1:
            raise ClusterError(f"--cluster {spec}: expected local:N with N ≥ 1 worker processes")
        return "local", workers
    if not spec:
        raise ClusterError("--cluster: expected a scheduler's address (tcp://host:8786) or local:N")
    return "address", spec


class Cluster:
    """A client of a Dask cluster, as a context manager: connects (starting a LocalCluster for
    local:N), and closes what it started. threads: each task's libraries' threads."""

    def __init__(self, spec, *, connect_timeout: float = 30.0):
        self.spec = spec
        self.connect_timeout = connect_timeout
        self.client = None
        self._local = None

    def __enter__(self) -> Cluster:
        distributed = _dask()
        kind, what = parse(self.spec)
        try:
            if kind == "local":
                import dask

                # One task per worker process at a time, each a process of its own: a hung or
                # dead cell costs one worker. The scheduler lives in this process.
                with dask.config.set({"distributed.scheduler.allowed-failures": 1}), warnings.catch_warnings():
                    # "Port 8787 is already in use": the scheduler's health endpoint moves to
                    # another port, which nobody here reads.
                    warnings.filterwarnings("ignore", message=".*already in use", category=UserWarning)
                    self._local = distributed.LocalCluster(
                        n_workers=what,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=40,  # ERROR: a worker restarted on a timeout is not news
                    )
                self.client = distributed.Client(self._local, timeout=self.connect_timeout)
            else:
                self.client = distributed.Client(what, timeout=self.connect_timeout)
        except Exception as exc:
            self.__exit__(None, None, None)
            raise ClusterError(f"--cluster {self.spec}: cannot connect: {type(exc).__name__}: {exc}") from None
        try:  # a scheduler without workers would hold the run's tasks for ever
            self.client.wait_for_workers(1, timeout=self.connect_timeout)
        except Exception:
            self.__exit__(None, None, None)
            raise ClusterError(
                f"--cluster {self.spec}: no worker has joined the scheduler within {self.connect_timeout:g} s"
            ) from None
        return self

    def __exit__(self, *exc_info) -> None:
        for thing in (self.client, self._local):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing a cluster that is going away: nothing to keep
                    pass
        self.client = self._local = None

    def workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1)["workers"])


def _tune_scheduler(client, values: dict) -> dict:
    """Set attributes of the scheduler for this run; returns their previous values. A nested
    function, so that cloudpickle sends it by value: the scheduler needs no diffcompare."""

    def tune(dask_scheduler=None, values=None):
        previous = {}
        for name, value in values.items():
            previous[name] = getattr(dask_scheduler, name, None)
            if value is not None:
                setattr(dask_scheduler, name, value)
        return previous

    try:
        return client.run_on_scheduler(tune, values=values)
    except Exception:  # a scheduler that refuses: its own policy stands (Dask's default: 3 retries)
        return {}


@dataclass
class _Problem:
    """A problem's state on the client: the cells still to come, the rows of those done."""

    position: int
    todo: list[int]  # backend indices not yet done, in order
    cells: dict[int, list] = field(default_factory=dict)  # backend index -> blocks


class _Events:
    """The cells the workers announce, by task key: (worker, backend index, shape, when heard)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started: dict[str, tuple] = {}

    def __call__(self, event) -> None:  # in the client's event loop: quick
        _, message = event
        with self.lock:
            self.started[message["key"]] = (message["worker"], message["cell"], message["shape"], time.monotonic())

    def get(self, key):
        with self.lock:
            return self.started.get(key)

    def running(self) -> list[tuple]:
        """(key, what was heard) of the tasks that have announced a cell and not come back."""
        with self.lock:
            return list(self.started.items())

    def forget(self, key) -> None:
        with self.lock:
            self.started.pop(key, None)


def run_on_cluster(
    cluster: Cluster, problems, names, options: RunOptions, *, timeout, finished, failed_cell, progress=None
) -> None:
    """Fill finished[position] with each problem's cells, as runner.run_isolated does, from tasks
    on the cluster. failed_cell(problem, backend, message, shape) makes a failed cell's rows;
    progress(problem, backend), if given, hears of every finished cell."""
    distributed = _dask()
    client = cluster.client
    options = replace(options, threads=1, exact_s=budget.for_timeout(timeout))
    topic = f"diffcompare-cells-{uuid.uuid4().hex}"
    events = _Events()
    client.subscribe_topic(topic, events)
    previous = _tune_scheduler(client, {"allowed_failures": 1, "WORKER_SATURATION": 1.0})
    states: dict[int, _Problem] = {}
    wanted: dict[str, tuple] = {}  # key -> (future, position), of the tasks whose rows are wanted
    done = distributed.as_completed()

    def submit(state: _Problem) -> None:
        key = f"diffcompare-{uuid.uuid4().hex}"
        arguments = (payload(problems[state.position]), names, list(state.todo), options, topic, key)
        future = client.submit(_cells_task, *arguments, key=key, pure=False)
        wanted[key] = (future, state.position)
        done.add(future)

    def record(state: _Problem, index: int, blocks: list) -> None:
        state.cells[index] = blocks
        state.todo.remove(index)
        if progress:
            progress(problems[state.position], names[index])

    def fail(state: _Problem, index: int, message: str, shape) -> None:
        record(state, index, failed_cell(problems[state.position], names[index], message, shape))

    def settle(state: _Problem) -> None:
        """Its next task, or its rows: every cell done."""
        if state.todo:
            submit(state)
            return
        finished[state.position] = [block for index in sorted(state.cells) for block in state.cells[index]]
        del states[state.position]

    def arrived(future, result=None) -> None:
        heard = events.get(future.key)  # the last cell its task announced
        events.forget(future.key)
        entry = wanted.pop(future.key, None)
        if entry is None:
            return  # cancelled on a timeout: its problem was sent again without the cell
        state = states[entry[1]]
        if result is not None:
            for index, blocks in result:
                record(state, index, blocks)
        else:
            exception = _exception_of(future)
            if heard is not None and heard[1] in state.todo:
                if type(exception).__name__ == "KilledWorker":
                    reason = "its worker process died while running it, and again on its one retry"
                else:
                    reason = f"its task failed: {type(exception).__name__}: {exception}"
                fail(state, heard[1], reason, heard[2])
            else:  # it failed before any cell started: every cell it had to run
                for index in list(state.todo):
                    fail(state, index, f"its task failed: {type(exception).__name__}: {exception}", None)
        settle(state)

    def overdue() -> None:
        """Cancel the tasks whose announced cell has run past the limit."""
        now = time.monotonic()
        for key, heard in events.running():
            if key not in wanted or now - heard[3] < timeout:
                continue
            worker, index, shape, _ = heard
            future, position = wanted.pop(key)
            events.forget(key)
            future.cancel()
            try:  # the only way to stop a thread that runs on: its process, through the nanny
                client.restart_workers([worker], timeout=max(60.0, timeout), raise_for_error=False)
            except Exception:  # no nanny: the worker stays busy; the run goes on without it
                pass
            state = states[position]
            fail(state, index, f"timed out after {timeout:g} s", shape)
            settle(state)

    try:
        for position in range(len(problems)):
            states[position] = _Problem(position, list(range(len(names))))
            submit(states[position])
        while states:
            batch = done.next_batch(block=False)
            # The batch's rows in one round trip: one future.result() each cost about twice
            # Dask's own overhead per task (BENCHMARKS.md, "Past one machine").
            ready = [f for f in batch if f.status == "finished" and f.key in wanted]
            results = dict(zip((f.key for f in ready), _gathered(client, ready)))
            for future in batch:
                arrived(future, results.get(future.key))
            overdue()
            if not batch:
                time.sleep(POLL_S)
    finally:
        for future, _ in wanted.values():
            future.cancel()
        try:
            client.unsubscribe_topic(topic)
        except Exception:
            pass
        if previous:
            _tune_scheduler(client, previous)


def _gathered(client, futures) -> list:
    """The results of finished futures, in one call; [] for none. A future lost between its
    finishing and this call (its worker died with the result) is sent again by Dask."""
    if not futures:
        return []
    try:
        return client.gather(futures, errors="raise")
    except Exception:  # one of them failed after all: each on its own, the failed one as failed
        return [_result_or_none(f) for f in futures]


def _result_or_none(future):
    try:
        return future.result(timeout=60)
    except Exception:
        return None


def _exception_of(future):
    try:
        return future.exception(timeout=5)
    except Exception as exc:  # a cancelled future has no exception to give: that is the reason
        return exc


def _cells_task(problem_payload, names, indices, options, topic, key):
    """The task (a module function, sent by reference): the worker imports diffcompare."""
    from diffcompare.running.worker import cluster_cells

    return cluster_cells(problem_payload, names, indices, options, topic, key)
