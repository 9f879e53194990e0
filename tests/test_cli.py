"""The command line end to end, as a user runs it: files written, exit codes 0/1/2."""

import io
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, write

FAST = "sympy,chainrule,central,manual,expected"
GOOD = "function: sin(x**2)\npoint: {x: 4.0}\nmanual: {x: 2 * x * cos(x**2)}\nexpected: {x: -7.6613}\n"
WRONG = "name: wrong\nfunction: x**2\npoint: {x: 3.0}\nexpected: {x: 7.0}\n"


def cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "diffcompare", *map(str, args)], cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.slow
def test_good_problems_exit_0_and_write_both_reports(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    sub = tmp_path / "nested"
    sub.mkdir()
    write(sub, "also.yml", "function: x**3\npoint: {x: 2.0}\n")
    out = tmp_path / "out"
    result = cli(tmp_path, "--out", out, "--backends", FAST)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert set(frame["problem"]) == {"good", "also"}
    assert (frame["verdict"] == "agree").all()
    summary = (out / "summary.md").read_text()
    assert "| problem | sympy/float64 |" in summary and "| good |" in summary
    assert "rows:" in result.stdout and "0 disagree" in result.stdout
    assert not list(out.glob(".*tmp"))  # nothing half-written left behind


@pytest.mark.slow
def test_check_exits_1_when_a_row_disagrees(tmp_path):
    write(tmp_path, "wrong.yaml", WRONG)
    out = tmp_path / "out"
    assert cli(tmp_path, "--out", out, "--backends", FAST).returncode == 0
    result = cli(tmp_path, "--out", out, "--backends", FAST, "--check")
    assert result.returncode == 1
    summary = (out / "summary.md").read_text()
    assert "## Disagreements" in summary and "| wrong | expected | decimal | x |" in summary


@pytest.mark.slow
def test_bad_input_exits_2_after_running_the_good_problems(tmp_path):
    write(tmp_path, "a_good.yaml", GOOD)
    write(tmp_path, "b_bad.yaml", "function: x +\npoint: {x: 1.0}\n")
    write(tmp_path, "c_good.yaml", "function: exp(x)\npoint: {x: 1.0}\n")
    out = tmp_path / "out"
    result = cli(tmp_path, "--out", out, "--backends", FAST, "--check")
    assert result.returncode == 2
    bad = [line for line in result.stderr.splitlines() if "b_bad.yaml" in line]
    assert len(bad) == 1 and "problem 'b_bad': key 'function': syntax error" in bad[0]
    frame = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert set(frame["problem"]) == {"a_good", "c_good"}
    assert "b_bad.yaml" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_missing_path_and_unknown_options_exit_2(tmp_path):
    assert cli(tmp_path / "nope.yaml", "--out", tmp_path / "out").returncode == 2
    write(tmp_path, "good.yaml", GOOD)
    result = cli(tmp_path, "--backends", "nosuch", "--out", tmp_path / "out")
    assert result.returncode == 2 and "unknown backend 'nosuch'" in result.stderr
    result = cli(tmp_path, "--dtypes", "float16", "--out", tmp_path / "out")
    assert result.returncode == 2 and "unknown dtype 'float16'" in result.stderr


@pytest.mark.slow
def test_dtypes_and_tolerance_options(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    out = tmp_path / "out"
    assert cli(tmp_path, "--out", out, "--backends", FAST, "--dtypes", "float32").returncode == 0
    frame = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert set(frame["dtype"]) == {"float32", "decimal"}  # sympy is float64-only, so it has no rows here
    assert set(frame[frame["backend"].isin(["chainrule", "central", "manual"])]["dtype"]) == {"float32"}
    # a tolerance tighter than float32 can meet turns its rows into disagreements
    result = cli(tmp_path, "--out", out, "--backends", "chainrule", "--dtypes", "float32", "--rtol", "1e-12", "--check")
    assert result.returncode == 1


@pytest.mark.slow
def test_backends_command_lists_availability():
    result = cli("backends")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    from diffcompare.backends import BUILTIN

    assert [line.split()[0] for line in lines[: len(BUILTIN)]] == list(BUILTIN)
    assert all("available" in line for line in lines)
    # an installed built-in shows the library its rows come from, with its version
    from importlib import metadata

    symengine = next(line for line in lines if line.startswith("symengine "))
    assert symengine.split()[1:] == ["available", "symengine", metadata.version("symengine")]


@pytest.mark.slow
def test_explain_prints_the_tape():
    result = cli("explain", "problems/sigmoid_by_hand.yaml")
    assert result.returncode == 0, result.stderr
    for text in ("step", "operation", "adjoint", "neg(x)", "exp(a)", "add(1, b)", "div(1.0, c)", "0.1049935854"):
        assert text in result.stdout


@pytest.mark.slow
def test_the_command_on_seed_problems_runs_every_backend(tmp_path):
    # The whole main job runs end to end in tests/test_readme_output.py (its printed block) and
    # in-process in the seed_results fixture; here the command on a few of its files.
    out = tmp_path / "reports"
    files = ["saturated_sigmoid.yaml", "logistic_bce.yaml", "abs_at_kink.yaml", "operators/polar_jacobian.yaml"]
    result = cli(*(f"problems/{name}" for name in files), "--out", out)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out / "results.csv", keep_default_na=False)
    from diffcompare.backends import BUILTIN

    assert set(frame["backend"]) == set(BUILTIN)
    assert frame["problem"].nunique() == len(files)
    assert "saturated-sigmoid" in result.stdout and "σ(1-σ)" in result.stdout
    assert set(frame.loc[frame["problem"] == "polar-jacobian", "mode"]) >= {"forward", "reverse", "symbolic"}


SELECTABLE = {
    "a.yaml": "name: Sigmoid-Saturated\ntags: [sigmoid, float32]\nfunction: sigmoid(x)\npoint: {x: 3.0}\n",
    "b.yaml": "name: relu-kink\ntags: [kink]\nfunction: relu(x)\npoint: {x: 1.0}\n",
    "c.yaml": "name: plain-square\nfunction: x**2\npoint: {x: 1.0}\n",
}


def test_a_selection_of_nothing_exits_2_and_writes_nothing(tmp_path, capsys):
    from diffcompare.cli import EXIT_BAD_INPUT, main

    for name, text in SELECTABLE.items():
        write(tmp_path, name, text)
    out = tmp_path / "out"
    assert main([str(tmp_path), "--out", str(out), "-k", "nosuchname"]) == EXIT_BAD_INPUT
    message = capsys.readouterr().err
    assert "-k 'nosuchname' selects none of the 3 problems found: nothing run" in message
    assert main([str(tmp_path), "--out", str(out), "-k", "sigmoid", "--tags", "kink"]) == EXIT_BAD_INPUT
    assert "--tags kink selects none" in capsys.readouterr().err
    assert not (out / "results.csv").exists()


@pytest.mark.slow
def test_k_and_tags_select_problems(tmp_path):
    for name, text in SELECTABLE.items():
        write(tmp_path, name, text)
    out = tmp_path / "out"

    def run(*selection):
        result = cli(tmp_path, "--out", out, "--backends", "chainrule", "--jobs", "1", *selection)
        assert result.returncode == 0, result.stderr
        return sorted(set(pd.read_csv(out / "results.csv")["problem"]))

    assert run("-k", "SIGMOID") == ["Sigmoid-Saturated"]  # a case-insensitive substring
    assert run("-k", "sig", "-k", "square") == ["Sigmoid-Saturated", "plain-square"]  # several add up
    assert run("-k", "not relu") == ["Sigmoid-Saturated", "plain-square"]
    assert run("--tags", "kink,float32") == ["Sigmoid-Saturated", "relu-kink"]  # any of the tags
    assert run("-k", "u", "--tags", "kink") == ["relu-kink"]  # both must keep it


@pytest.mark.slow
def test_a_run_on_a_terminal_ends_with_the_link_to_open(tmp_path):
    import os
    import pty

    write(tmp_path, "c.yaml", SELECTABLE["c.yaml"])
    out = tmp_path / "out"
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "COLUMNS", "TERM")}
    process = subprocess.Popen(
        [sys.executable, "-m", "diffcompare", str(tmp_path), "--out", str(out), "--backends", "chainrule"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**env, "TERM": "xterm-256color", "COLUMNS": "300"},
    )
    os.close(slave)
    received = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        received += data
    assert process.wait(timeout=300) == 0
    os.close(master)
    text = received.decode(errors="replace")
    assert f"open {(out / 'report.html').resolve().as_uri()}" in text
    piped = cli(tmp_path, "--out", out, "--backends", "chainrule")
    assert piped.returncode == 0 and "file://" not in piped.stdout


@pytest.mark.slow
def test_no_html_writes_the_csv_and_summary_and_removes_an_old_report(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    out = tmp_path / "out"
    assert cli(tmp_path, "--out", out, "--backends", FAST).returncode == 0
    assert (out / "report.html").exists()
    before = (out / "results.csv").read_text()
    result = cli(tmp_path, "--out", out, "--backends", FAST, "--no-html")
    assert result.returncode == 0, result.stderr
    # The old report would describe another run's rows: it goes, and the run says what it wrote.
    assert not (out / "report.html").exists()
    assert "results.csv" in result.stdout and "report.html" not in result.stdout
    # The rows are the run's, as with the report (only the time columns differ between runs).
    frame, old = (pd.read_csv(p, keep_default_na=False) for p in (out / "results.csv", io.StringIO(before)))
    assert list(frame.columns) == list(old.columns)
    assert frame["verdict"].tolist() == old["verdict"].tolist() and frame["value"].tolist() == old["value"].tolist()
    assert "| good |" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_no_jax_cache_leaves_the_cache_folder_empty(tmp_path):
    """JAX's persistent cache is on by default and reaches the worker that runs jax;
    --no-jax-cache keeps every compilation out of it (the worker is told too)."""
    import os

    write(tmp_path, "good.yaml", GOOD)
    env = {**os.environ, "DIFFCOMPARE_CACHE_DIR": str(tmp_path / "cache"), "DIFFCOMPARE_JAX_CACHE": "1"}

    def run(*flags):
        return subprocess.run(
            [sys.executable, "-m", "diffcompare", tmp_path / "good.yaml", "--out", tmp_path / "out"]
            + ["--backends", "jax", "--quiet", *flags],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
        )

    def entries():
        folder = tmp_path / "cache" / "jax"
        return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")] if folder.exists() else []

    result = run("--no-jax-cache")
    assert result.returncode == 0, result.stderr
    assert entries() == []
    result = run()
    assert result.returncode == 0, result.stderr
    assert entries()  # the float32 and float64 gradients and f, compiled by the worker
    assert (pd.read_csv(tmp_path / "out" / "results.csv")["verdict"] == "agree").all()
