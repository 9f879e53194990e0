"""Runs on a Dask cluster (running/cluster.py) with real `dask scheduler` and `dask worker`
processes: the rows are a local run's, bit for bit; a worker killed mid-run costs nothing;
a cell whose worker dies twice, or that hangs, is `error` rows with the reason."""

import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import PROBLEMS, ROOT, write
from dask_processes import DaskProcesses, environment

from diffcompare.running.dataset import done_positions, read_dataset
from diffcompare.running.runner import load_problems, run_problems

pytest.importorskip("distributed")

TIME_COLUMNS = ["time_s", "setup_s", "f_time_s", "cost_ratio"]
KEY = ["problem", "backend", "dtype", "mode", "variable", "index"]
# Backends of every kind whose rows do not depend on the clock: symbolic, two AD libraries, the
# chain-rule engine and finite differences.
BACKENDS = ["sympy", "torch", "jax", "chainrule", "central"]


def identical(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The same rows in the same order; `value` bit for bit; every other column but the times
    and `threads` equal (NaN equal to NaN)."""
    assert len(got) == len(expected)
    assert np.array_equal(got["value"].to_numpy().view(np.int64), expected["value"].to_numpy().view(np.int64))
    others = expected.columns.drop([*TIME_COLUMNS, "threads"])
    pd.testing.assert_frame_equal(
        got[others].reset_index(drop=True), expected[others].reset_index(drop=True), check_categorical=False
    )


@pytest.fixture(scope="module")
def some_problems():
    problems, errors = load_problems([PROBLEMS])
    assert not errors
    return problems[::6]  # thirteen, of every kind


@pytest.mark.slow
def test_a_cluster_run_gives_a_local_runs_rows_bit_for_bit(tmp_path, some_problems):
    local = run_problems(some_problems, BACKENDS)
    with DaskProcesses(tmp_path, workers=2) as dask:
        on_two = run_problems(some_problems, BACKENDS, cluster=dask.address, timeout=120)
    identical(on_two, local)
    on_one = run_problems(some_problems, BACKENDS, cluster="local:1", timeout=120)
    identical(on_one, local)
    assert set(on_two["threads"]) == {1}  # each task's libraries on one thread


def _run(args, env, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "diffcompare", *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.05)


def _many_problems(folder, count: int):
    """count small problems, a file each."""
    folder.mkdir()
    for i in range(count):
        write(folder, f"p{i:03d}.yaml", f"name: p{i:03d}\nfunction: sin(x * {i + 1}) * y\npoint: {{x: 0.5, y: 2.0}}\n")
    return folder


@pytest.mark.slow
def test_a_worker_killed_mid_run_costs_nothing(tmp_path):
    """SIGKILL one of two workers (its nanny too) while both run: the run ends with every row
    once, none an error, and the same values as a local run."""
    problems = _many_problems(tmp_path / "problems", 24)
    signs = tmp_path / "signs"
    signs.mkdir()
    env = environment(DIFFCOMPARE_TEST_WITNESS_DIR=str(signs), DIFFCOMPARE_TEST_PLOD_S="0.25")
    backends = "plodder,chainrule,central"
    with DaskProcesses(tmp_path, workers=2, env=env) as dask:
        run = _run([problems, "--cluster", dask.address, "--backends", backends, "--out", tmp_path / "out"], env)
        _wait_for(lambda: len(list(signs.iterdir())) >= 8, 120, "the run never got going")
        dask.kill_worker(0)
        stdout, stderr = run.communicate(timeout=240)
    assert run.returncode == 0, stderr
    got = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False)
    assert not got.duplicated(KEY).any()
    assert (got["verdict"] != "error").all(), got[got["verdict"] == "error"]["message"].tolist()
    # A problem was started by two processes: the killed worker's task, retried.
    runs = {}
    for sign in signs.iterdir():
        problem, pid, _ = sign.name.split(".", 2)
        runs.setdefault(problem, set()).add(pid)
    assert any(len(pids) > 1 for pids in runs.values()), runs
    local = _run([problems, "--backends", backends, "--out", tmp_path / "local", "--jobs", "1"], env)
    assert local.wait(timeout=240) == 0
    expected = pd.read_csv(tmp_path / "local" / "results.csv", keep_default_na=False)
    identical(got, expected)


@pytest.mark.slow
def test_a_cell_whose_worker_dies_twice_is_an_error_and_the_rest_run(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFCOMPARE_BACKENDS", environment()["DIFFCOMPARE_BACKENDS"])
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    problems = _many_problems(tmp_path / "problems", 3)
    loaded, _ = load_problems([problems])
    with DaskProcesses(tmp_path, workers=2) as dask:
        frame = run_problems(loaded, ["chainrule", "exiter", "central"], cluster=dask.address, timeout=60)
    assert not frame.duplicated(KEY).any()
    exiter = frame[frame["backend"] == "exiter"]
    assert len(exiter) == 3 * 2 * 2  # every problem, dtype and variable
    assert (exiter["verdict"] == "error").all()
    assert (exiter["message"] == "its worker process died while running it, and again on its one retry").all()
    others = frame[frame["backend"] != "exiter"]
    assert (others["verdict"] == "agree").all(), others[others["verdict"] != "agree"]["message"].tolist()
    assert len(others) == 3 * 2 * 2 * 2


@pytest.mark.slow
def test_a_hung_cell_is_cancelled_and_its_worker_restarted(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFCOMPARE_BACKENDS", environment()["DIFFCOMPARE_BACKENDS"])
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    problems = _many_problems(tmp_path / "problems", 3)
    loaded, _ = load_problems([problems])
    with DaskProcesses(tmp_path, workers=2) as dask:
        started = time.monotonic()
        frame = run_problems(loaded, ["chainrule", "sleeper", "central"], cluster=dask.address, timeout=4)
        took = time.monotonic() - started
    sleeper = frame[frame["backend"] == "sleeper"]
    assert len(sleeper) == 3 * 2 * 2 and (sleeper["message"] == "timed out after 4 s").all()
    others = frame[frame["backend"] != "sleeper"]
    assert (others["verdict"] == "agree").all() and len(others) == 3 * 2 * 2 * 2
    assert took < 90


def test_without_dask_the_cluster_option_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['distributed'] = None; from diffcompare.cli import main; "
        f"sys.exit(main([{str(PROBLEMS)!r}, '--cluster', 'local:2', '--out', {str(tmp_path)!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "--cluster needs Dask distributed, which is not installed: pip install 'diffcompare[cluster]'"
    )
    assert not (tmp_path / "results.csv").exists()


@pytest.mark.parametrize("spec", ["local:0", "local:x", "local:-1", " "])
def test_a_bad_cluster_spec_is_one_line(tmp_path, spec):
    from diffcompare.cli import main

    assert main([str(PROBLEMS), "--cluster", spec, "--out", str(tmp_path)]) == 2


@pytest.mark.slow
def test_a_killed_client_leaves_its_finished_chunks_and_resume_completes_the_run(tmp_path):
    """SIGKILL the client half way: the part files written stay; --resume runs only the problems
    not in them, and the dataset, results.csv included, is a whole local run's."""
    problems = _many_problems(tmp_path / "problems", 24)
    signs = tmp_path / "signs"
    signs.mkdir()
    env = environment(DIFFCOMPARE_TEST_WITNESS_DIR=str(signs), DIFFCOMPARE_TEST_PLOD_S="0.25")
    out, partial = tmp_path / "out", tmp_path / "out" / "results.parquet.partial"
    backends = "plodder,chainrule,central"
    with DaskProcesses(tmp_path, workers=2, env=env) as dask:
        command = [problems, "--cluster", dask.address, "--backends", backends, "--chunk", "2", "--out", out]
        run = _run(command, env)
        _wait_for(lambda: partial.exists() and len(list(partial.glob("part-*.parquet"))) >= 2, 120, "no part written")
        run.kill()
        run.communicate(timeout=60)
        assert run.returncode == -signal.SIGKILL
        assert not (out / "results.csv").exists()
        before = {p.name for p in partial.glob("part-*.parquet")}
        done = done_positions(partial)
        assert 0 < len(done) < 24
        for sign in signs.iterdir():
            sign.unlink()
        resumed = _run([*command[:-2], "--resume", out], env)
        stdout, stderr = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, stderr
    assert before <= {p.name for p in (out / "results.parquet").glob("part-*.parquet")}
    # The problems on disk were not run again.
    again = {sign.name.split(".", 1)[0] for sign in signs.iterdir()}
    assert not again & {f"p{i:03d}" for i in done}
    assert len(again) == 24 - len(done)
    got = pd.read_parquet(out / "results.parquet")
    assert not got.duplicated(KEY).any()
    local = _run([problems, "--backends", backends, "--out", tmp_path / "local", "--jobs", "1"], env)
    assert local.wait(timeout=240) == 0
    expected = pd.read_csv(tmp_path / "local" / "results.csv", keep_default_na=False)
    identical(pd.read_csv(out / "results.csv", keep_default_na=False), expected)
    identical(got.astype({c: str for c in ("index",)}), read_dataset(out / "results.parquet"))


def test_resume_refuses_another_runs_dataset(tmp_path):
    from diffcompare.cli import main

    problems = _many_problems(tmp_path / "problems", 3)
    out = tmp_path / "out"
    partial = out / "results.parquet.partial"
    assert main([str(problems), "--backends", "chainrule", "--parquet", "--out", str(out), "--jobs", "1"]) == 0
    (out / "results.parquet").rename(partial)  # as an interrupted run leaves it
    code = main([str(problems), "--backends", "chainrule,central", "--resume", str(out), "--jobs", "1"])
    assert code == 2
    assert main([str(problems), "--backends", "chainrule", "--resume", str(partial), "--jobs", "1"]) == 0
    assert (out / "results.parquet").is_dir() and not partial.exists()


@pytest.mark.slow
def test_a_scheduler_without_workers_is_one_line(tmp_path):
    from diffcompare.running.cluster import Cluster, ClusterError

    with DaskProcesses(tmp_path, workers=0) as dask:
        with pytest.raises(ClusterError, match="no worker has joined the scheduler within 2 s"):
            with Cluster(dask.address, connect_timeout=2):
                pass
