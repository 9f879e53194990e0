"""The exact side's bounds: what it may spend on one problem before it gives up.

The exact side (SymPy's derivative, the mpmath reference, the one-sided derivatives
at kinks) is built once per problem, before any backend is judged, so it must end
well before a cell's time limit, or every backend's cell would wait it out in turn.
Two kinds of bound keep it short:

- Work, decided before anything runs, and so the same on every machine and every
  run: f's size written out as a tree (`tree_ops`: a `let` step used twice counts
  twice, which is what SymPy's expressions cost), the reference's precision
  (exact.reference.MAX_REFERENCE_DIGITS), and the magnitude of an argument that
  mpmath's exp, sin, cosh … are given (`check_magnitude`: past 2^16384, long
  double's range, one call would take minutes or memory without end).
- Time, as a backstop: a `Deadline` of `seconds()` for the whole exact side of a
  problem (60 s; a third of `--timeout` where that is shorter), checked between
  the steps of every loop; and, for calls that have no steps of ours to check
  between (one SymPy diff, cse or Piecewise can run for hours), `interrupt_after`,
  which stops the call itself.

Past SymPy's share of the time the reference is the IR's chain rule in mpmath; past
either bound even for that, the long-double chain rule, each row saying why
(exact.truth): one decision per problem, made in its first cell.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

from diffcompare.lang.ir import topo_order

DEFAULT_S = 60.0  # the exact side of one problem, at most
MAX_TREE_OPS = 20_000  # f written out as a tree, per element of its result: past this SymPy is not given f
MAX_ARGUMENT_BITS = 16_384  # |x| < 2^16384 (long double's range) for mpmath's exp, sin, cosh … and powers

_SETTINGS = {"seconds": DEFAULT_S}


def configure(seconds: float | None = None) -> None:
    """The seconds the exact side of each problem is given (None: the default)."""
    _SETTINGS["seconds"] = DEFAULT_S if seconds is None else max(0.1, float(seconds))


def seconds() -> float:
    return _SETTINGS["seconds"]


def for_timeout(timeout: float | None) -> float:
    """The exact side's seconds under a cell time limit: a third of it at most, so that the
    first cell, which builds the exact side, still has time for its backend."""
    return seconds() if timeout is None else min(seconds(), max(0.1, timeout / 3))


class ExactLimit(Exception):
    """The exact reference is past a bound (time, magnitude); the message says which.
    Not a ValueError: evaluation turns those into NaN, and this must not be one."""


class Deadline:
    """A point in time after which the exact side of a problem stops."""

    def __init__(self, seconds_: float | None = None):
        self.seconds = seconds() if seconds_ is None else seconds_
        self.end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self, what: str = "the exact reference") -> None:
        if time.monotonic() > self.end:
            raise ExactLimit(f"{what} did not settle within {self.seconds:g} s")


def tree_ops(root, cap: int = MAX_TREE_OPS) -> int:
    """Operations in one element of f written out as a tree (every use of a shared node
    counted again), counted on the DAG in one pass; stops counting past cap (returns
    a number > cap). A reduction or a matrix product counts its operand once per
    element it sums."""
    size: dict[int, int] = {}
    for node in topo_order(root):
        total = 1
        for arg in node.args:
            uses = 1
            if node.op == "matmul":  # each element of a @ b sums a.shape[-1] products
                uses = node.args[0].shape[-1] if node.args[0].shape else 1
            elif node.op != "index" and not node.shape:  # a reduction: every element of its operand
                for n in arg.shape:
                    uses *= n
            total += size[id(arg)] * uses
        size[id(node)] = min(total, cap + 1)
    return size[id(root)]


class Interrupted(BaseException):
    """Raised into a thread whose time under interrupt_after is up. A BaseException, so that
    the `except Exception` blocks inside SymPy cannot swallow it and carry on."""


def _raise_in(thread_id: int, exception) -> None:
    """exception (a class, or None to cancel a pending one) raised in thread_id at its next
    bytecode: CPython's PyThreadState_SetAsyncExc, the only way to stop pure Python code
    running in any thread (SIGALRM reaches only the main thread, and the report's typesetting
    runs SymPy in another)."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception is not None else None
    )


_HOOK_LOCK = threading.Lock()
_previous_hook = None  # the sys.unraisablehook _drop_eaten stands in front of


def _drop_eaten(unraisable) -> None:
    """sys.unraisablehook while alarms are used: an Interrupted that landed in code whose
    exceptions Python only prints (a garbage collector's callback, a weak reference's, a
    finaliser) is dropped without a word, since the alarm raises it again within AGAIN_S
    in the block it was meant for; anything else goes to the hook that was there before.
    Without it a 100,000-problem campaign on local:2 printed 28 such tracebacks ("Exception
    ignored in: <bound method GCDiagnosis._gc_callback ...>", in WeakSet's _remove ...)."""
    if isinstance(unraisable.exc_type, type) and issubclass(unraisable.exc_type, Interrupted):
        return
    (_previous_hook or sys.__unraisablehook__)(unraisable)


def _install_hook() -> None:
    global _previous_hook
    with _HOOK_LOCK:
        if sys.unraisablehook is not _drop_eaten:  # put back by whoever had replaced it: stand in front again
            _previous_hook = sys.unraisablehook
            sys.unraisablehook = _drop_eaten


class _Alarm:
    """A timer that raises Interrupted in the thread that armed it, unless disarmed first, and
    again every AGAIN_S until the block is left: an exception raised between two bytecodes
    can land in code that eats it (a callback or finaliser run by the garbage collector, whose
    exceptions Python only prints; a bare `except:`), and the hang then goes on. Seen in the
    full test suite: JAX's gc callback (`_xla_gc_callback`, run at every collection once jax
    is imported) ate it, and SymPy's tanh(x ** 1.7), which allocates without end, ran on past
    its limit until the process was killed for its memory."""

    AGAIN_S = 0.05
    # At most this many repeats (5 s): an alarm whose block was somehow never told it ended
    # must not fire into whatever the thread does next for ever (seen once under pytest-xdist,
    # in pytest's own report code).
    MAX_AGAIN = 100

    def __init__(self, seconds: float):
        self.thread_id = threading.get_ident()
        self.lock = threading.Lock()
        self.armed, self.fired, self.repeats = True, False, 0
        self.seconds = seconds
        self.timer = None

    def start(self) -> None:
        _install_hook()
        with self.lock:
            self._schedule(self.seconds)

    def _schedule(self, seconds: float) -> None:
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True
        self.timer.start()

    def _fire(self) -> None:
        with self.lock:
            if self.armed:
                self.fired = True
                _raise_in(self.thread_id, Interrupted)
                self.repeats += 1
                if self.repeats <= self.MAX_AGAIN:
                    self._schedule(self.AGAIN_S)

    def disarm(self) -> bool:
        """Stop the timer; True if it fired. Under the lock, so that it cannot fire after this:
        an exception it raised and the thread has not yet met is cancelled here, and the
        caller raises Interrupted itself, never somewhere after the block."""
        with self.lock:
            self.armed = False
            fired = self.fired
            if fired:
                _raise_in(self.thread_id, None)
            if self.timer is not None:
                self.timer.cancel()
        return fired

    def disarm_surely(self) -> bool:
        """disarm, even if a repeat lands while it runs (it can, until disarm holds the lock)."""
        while True:
            try:
                return self.disarm()
            except Interrupted:
                continue


@contextmanager
def interrupt_after(seconds: float):
    """Run the block for at most `seconds`, then raise Interrupted inside it, wherever it is
    (between two bytecodes: a call into C finishes first). Works in any thread."""
    if seconds <= 0:
        raise Interrupted
    alarm = _Alarm(seconds)
    try:
        alarm.start()  # inside the try: whatever lands from here on, the alarm is disarmed
        yield
    except Interrupted:
        alarm.disarm_surely()
        raise
    except BaseException:
        if alarm.disarm_surely():
            raise Interrupted from None
        raise
    if alarm.disarm_surely():
        raise Interrupted
