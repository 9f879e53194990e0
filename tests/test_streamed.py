"""Streamed runs (--parquet, --cluster, --resume; running/streamed.py): the rows go to a Parquet
dataset as problems finish; Ctrl-C keeps the finished parts, and --resume runs only the rest,
to the same rows as a whole run."""

import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, write
from dask_processes import environment

from diffcompare.running.dataset import done_positions, read_dataset
from diffcompare.running.runner import load_problems, run_problems

TIME_COLUMNS = ["time_s", "setup_s", "f_time_s", "cost_ratio"]


def _problems(folder, count):
    folder.mkdir()
    for i in range(count):
        write(folder, f"p{i:03d}.yaml", f"name: p{i:03d}\nfunction: exp(x / {i + 1}) * y\npoint: {{x: 0.5, y: 2.0}}\n")
    return folder


def _same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert np.array_equal(got["value"].to_numpy().view(np.int64), expected["value"].to_numpy().view(np.int64))
    columns = expected.columns.drop(TIME_COLUMNS)
    pd.testing.assert_frame_equal(
        got[columns].reset_index(drop=True), expected[columns].reset_index(drop=True), check_categorical=False
    )


def test_a_parquet_run_reads_back_as_the_in_memory_runs_frame(tmp_path):
    from diffcompare.cli import main

    folder = ROOT / "problems"
    arguments = [str(folder), "-k", "sigmoid", "-k", "rosenbrock", "--backends", "chainrule,central,sympy"]
    assert main([*arguments, "--parquet", "--chunk", "2", "--out", str(tmp_path), "--jobs", "1"]) == 0
    problems, _ = load_problems([folder])
    chosen = [p for p in problems if "sigmoid" in p.name or "rosenbrock" in p.name]
    expected = run_problems(chosen, ["chainrule", "central", "sympy"])
    dataset = tmp_path / "results.parquet"
    assert len(list(dataset.glob("part-*.parquet"))) == -(-len(chosen) // 2)
    _same_rows(pd.read_parquet(dataset), expected)  # pandas reads the folder as it is
    _same_rows(read_dataset(dataset), expected)
    assert not (tmp_path / "results.parquet.partial").exists()


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_parts_and_resume_runs_only_the_rest(tmp_path):
    problems = _problems(tmp_path / "problems", 16)
    signs = tmp_path / "signs"
    signs.mkdir()
    env = environment(DIFFCOMPARE_TEST_WITNESS_DIR=str(signs), DIFFCOMPARE_TEST_PLOD_S="0.3")
    out = tmp_path / "out"
    partial = out / "results.parquet.partial"
    command = [sys.executable, "-m", "diffcompare", str(problems), "--backends", "plodder,central"]
    command += ["--parquet", "--chunk", "2", "--jobs", "1", "--timeout", "60", "--out", str(out)]
    run = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (partial.exists() and len(list(partial.glob("part-*"))) >= 2):
        assert time.monotonic() < deadline and run.poll() is None, "no part written"
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    assert f"--resume {out}" in stderr and "Traceback" not in stderr
    done = done_positions(partial)
    assert 2 <= len(done) < 16
    kept = pd.read_csv(out / "results.partial.csv", keep_default_na=False)
    assert set(kept["problem"]) == {f"p{i:03d}" for i in done}
    for sign in signs.iterdir():
        sign.unlink()
    resumed = subprocess.run(
        [*command[:-2], "--resume", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert resumed.returncode == 0, resumed.stderr
    again = {sign.name.split(".", 1)[0] for sign in signs.iterdir()}
    assert again == {f"p{i:03d}" for i in range(16) if i not in done}
    whole = subprocess.run(
        [*command[:-1], str(tmp_path / "whole")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert whole.returncode == 0, whole.stderr
    _same_rows(read_dataset(out / "results.parquet"), read_dataset(tmp_path / "whole" / "results.parquet"))
    assert (out / "results.csv").read_bytes().count(b"\n") == (tmp_path / "whole" / "results.csv").read_bytes().count(
        b"\n"
    )


def test_resume_with_nothing_to_resume_is_one_line(tmp_path, capsys):
    from diffcompare.cli import main

    problems = _problems(tmp_path / "problems", 1)
    assert main([str(problems), "--backends", "chainrule", "--resume", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("--resume: ") and "no run to resume" in err and "\n" not in err


def test_resume_and_another_out_folder_is_one_line(tmp_path, capsys):
    from diffcompare.cli import main

    problems = _problems(tmp_path / "problems", 1)
    code = main([str(problems), "--resume", str(tmp_path / "a"), "--out", str(tmp_path / "b")])
    assert code == 2 and "--out must be it too" in capsys.readouterr().err
