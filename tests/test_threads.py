"""Each worker's libraries get its share of the cores (diffcompare.backends.threads), and every
row says the share its cell ran under."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

from diffcompare.backends import threads
from diffcompare.running.runner import run_problems
from diffcompare.spec.problem import build_problems


def problems(count: int):
    found = []
    for k in range(count):
        (problem,), _ = build_problems({"function": f"sin(x) * {k + 1}", "point": {"x": 0.5}}, "t.yaml", f"p{k}")
        found.append(problem)
    return found


def test_a_worker_share_is_cores_over_workers_and_never_zero(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 8)
    assert [threads.per_worker(j) for j in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]


def test_the_environment_is_set_while_a_worker_starts_and_put_back(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    with threads.started_with(1):
        assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "1"
        assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x " + threads.XLA_ONE_THREAD
    assert os.environ["OMP_NUM_THREADS"] == "7" and "MKL_NUM_THREADS" not in os.environ
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x"
    with threads.started_with(None):
        assert os.environ["OMP_NUM_THREADS"] == "7"


def test_openmp_threads_wait_briefly_unless_the_user_chose(monkeypatch):
    """GNU OpenMP's threads spin ~10 ms after each torch call by default, on a core another
    backend (or process) wants: diffcompare bounds the spin, in this process and in its workers,
    and leaves a user's own GOMP_SPINCOUNT or OMP_WAIT_POLICY alone."""
    monkeypatch.setattr(threads, "_user_chose_wait", False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    assert threads.environment(2)["GOMP_SPINCOUNT"] == threads.POOL_SPIN["GOMP_SPINCOUNT"]
    assert threads.quiet_pools() == threads.POOL_SPIN
    assert os.environ["GOMP_SPINCOUNT"] == threads.POOL_SPIN["GOMP_SPINCOUNT"]
    assert threads.spin_in_force() == "GOMP_SPINCOUNT=10000"
    monkeypatch.setattr(threads, "_user_chose_wait", True)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setenv("GOMP_SPINCOUNT", "300000")
    assert "GOMP_SPINCOUNT" not in threads.environment(1) and threads.quiet_pools() == {}
    assert os.environ["GOMP_SPINCOUNT"] == "300000"
    with threads.started_with(1):
        assert os.environ["GOMP_SPINCOUNT"] == "300000"


def test_diffcompare_bounds_the_spin_before_torch_loads():
    """In a run of diffcompare's own, GNU OpenMP reads the bound when torch loads it."""
    code = (
        "import os, sys; import diffcompare.running.runner; assert 'torch' not in sys.modules; "
        "print(os.environ.get('GOMP_SPINCOUNT'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in threads.USER_WAIT_VARIABLES}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == threads.POOL_SPIN["GOMP_SPINCOUNT"]


@pytest.mark.slow
def test_workers_run_their_libraries_on_their_share_and_rows_say_it(monkeypatch):
    monkeypatch.setenv("DIFFCOMPARE_BACKENDS", "threads=misbehaving:ThreadReporter")
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    jobs = 2
    frame = run_problems(problems(2), ["threads"], dtypes=["float64"], jobs=jobs, timeout=120)
    share = threads.per_worker(jobs)
    assert set(frame["threads"]) == {share}
    assert set(frame["verdict"]) == {"agree"}
    for message in frame["message"]:
        assert message.startswith(f"torch {share} OMP_NUM_THREADS {share} ")
        assert (threads.XLA_ONE_THREAD in message) == (share == 1)
    # A cell whose worker timed out: its rows, made in this process, still say the worker's share.
    monkeypatch.setenv("DIFFCOMPARE_BACKENDS", "narrow=misbehaving:NarrowSleeper")
    slept = run_problems(problems(2), ["narrow"], dtypes=["float64"], jobs=jobs, timeout=2)
    assert set(slept["verdict"]) == {"error"} and set(slept["threads"]) == {share}
    # In this process (one job, no timeout) nothing is set: the rows say every core was there.
    here = run_problems(problems(1), ["chainrule"], dtypes=["float64"])
    assert set(here["threads"]) == {threads.cores()}
