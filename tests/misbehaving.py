"""Test-only backends that misbehave on purpose: they hang, raise, or kill their process;
and one that behaves but tells the test where the run is.
Registered for a subprocess through DIFFCOMPARE_BACKENDS (see test_isolation.py).

Two of them leave signs a test can wait for instead of guessing at the clock, each in a
folder named by an environment variable (nothing is written where it is not set):
- Sleeper: DIFFCOMPARE_TEST_HUNG_DIR gets a file "PROBLEM.DTYPE" when the hang begins.
  Spinner does the same, then spins at 100% CPU; NarrowSleeper is a Sleeper that gives
  rows for float64 and the first variable only.
- Witness: DIFFCOMPARE_TEST_WITNESS_DIR gets a file "PROBLEM" when the backend starts
  on a problem; it is chainrule otherwise, so its rows agree where chainrule's do.
"""

import os
import time
from pathlib import Path

from diffcompare.backends import BaseBackend
from diffcompare.backends.chainrule import ChainRuleBackend


def _leave_sign(variable: str, name: str) -> None:
    folder = os.environ.get(variable)
    if folder:
        (Path(folder) / name).touch()


class Sleeper(BaseBackend):
    name = "sleeper"

    def gradient(self, problem, dtype):
        _leave_sign("DIFFCOMPARE_TEST_HUNG_DIR", f"{problem.name}.{dtype}")
        while True:  # until the supervisor kills the process
            time.sleep(60)


class Spinner(BaseBackend):
    name = "spinner"

    def gradient(self, problem, dtype):
        _leave_sign("DIFFCOMPARE_TEST_HUNG_DIR", f"{problem.name}.{dtype}")
        while True:  # busy, until the supervisor (or the parent's death) kills the process
            pass


class NarrowSleeper(Sleeper):
    name = "narrow"

    def dtypes_for(self, problem):
        return ["float64"]

    def variables(self, problem):
        return list(problem.wrt[:1])


class Raiser(BaseBackend):
    name = "raiser"

    def gradient(self, problem, dtype):
        raise RuntimeError("this backend always fails")


class Exiter(BaseBackend):
    name = "exiter"

    def gradient(self, problem, dtype):
        os._exit(3)


class Witness(ChainRuleBackend):
    name = "witness"

    def gradient(self, problem, dtype):
        _leave_sign("DIFFCOMPARE_TEST_WITNESS_DIR", problem.name)
        return super().gradient(problem, dtype)


class ThreadReporter(ChainRuleBackend):
    """chainrule, whose rows say the threads its worker's libraries were given (backends.threads)."""

    name = "threads"

    def gradient(self, problem, dtype):
        import torch

        found = super().gradient(problem, dtype)
        found.message = (
            f"torch {torch.get_num_threads()} OMP_NUM_THREADS {os.environ.get('OMP_NUM_THREADS')} "
            f"XLA_FLAGS {os.environ.get('XLA_FLAGS', '')}"
        )
        return found


class Plodder(ChainRuleBackend):
    """chainrule, slowed down: each gradient sleeps DIFFCOMPARE_TEST_PLOD_S seconds (0.3 by
    default), so that a test can act while a run is half way; it leaves a sign
    "PROBLEM.PID.DTYPE" in DIFFCOMPARE_TEST_WITNESS_DIR as it starts, so a test can tell a
    problem run twice (a retry, in another process) from one run once."""

    name = "plodder"

    def gradient(self, problem, dtype):
        _leave_sign("DIFFCOMPARE_TEST_WITNESS_DIR", f"{problem.name}.{os.getpid()}.{dtype}")
        time.sleep(float(os.environ.get("DIFFCOMPARE_TEST_PLOD_S", "0.3")))
        return super().gradient(problem, dtype)
