"""Paths, processes and exit codes: outputs stay inside --out and are written whole or not
at all, no process outlives a run, SIGTERM is Ctrl-C with exit 143, a run that finds
nothing or cannot write says so by its exit code, and the API works from a plain script."""

import hashlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, write

from diffcompare import cli
from diffcompare.backends import load
from diffcompare.running.cells import cell_shape, failed_cell_blocks
from diffcompare.running.runner import run_problems
from diffcompare.spec.problem import build_problems
from diffcompare.views import files

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
GOOD = "function: sin(x**2) * y\npoint: {x: 4.0, y: 2.0}\n"


def env_with(**extra) -> dict:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests"), env.get("PYTHONPATH", "")]))
    return env


def digests(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    members = []
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = path.read_text()
        except OSError:
            continue
        state, _ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(path.parent.name))
    return members


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds:g} s")
        time.sleep(0.05)


def problems_of(document: dict):
    problems, errors = build_problems(document, "f.yaml", document.get("name", "p"))
    assert not errors
    return problems


# --- paths ---------------------------------------------------------------------------------


def test_a_sweep_named_to_escape_stays_in_out_with_the_umasks_permissions(tmp_path):
    write(tmp_path, "evil.yaml", "name: ../../../escaped\nfunction: sin(x)\npoint: {x: 0.5}\n")
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    assert cli.main(["sweep", str(tmp_path / "evil.yaml"), "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert len(written) == 2 and all(name.startswith("sweep-") and "/" not in name for name in written)
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and out not in p.parents and p.parent != tmp_path]
    assert outside == [] and not (tmp_path / "escaped").exists()
    assert [p.name for p in out.iterdir() if p.is_dir()] == []  # no folder made from the name
    mask = os.umask(0)
    os.umask(mask)
    for path in out.glob("sweep-*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path.name
    # The report still finds it under the problem's own name.
    assert "../../../escaped" in files.find_sweeps(out)


def test_safe_names_are_one_plain_file_name_and_keep_different_names_apart():
    assert files.safe_name("rosenbrock[n=1000]") == "rosenbrock[n=1000]"
    for name in ("../x", "..", ".", "a/b", "a\\b", "x\n", "", "é" * 300):
        safe = files.safe_name(name)
        assert "/" not in safe and "\\" not in safe and not safe.startswith(".") and 0 < len(safe) < 120
    assert files.safe_name("a/b") != files.safe_name("a_b")
    with pytest.raises(files.OutputError):
        files.inside(Path("out"), "../x")


# --- outputs -------------------------------------------------------------------------------


def test_out_that_is_a_file_exits_3_before_any_work(tmp_path, capsys):
    write(tmp_path, "good.yaml", GOOD)
    out = write(tmp_path, "out", "not a folder")
    started = time.monotonic()
    assert cli.main([str(tmp_path / "good.yaml"), "--out", str(out), "--backends", "chainrule"]) == 3
    assert time.monotonic() - started < 5  # refused, not run and then lost
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a folder" in err[0] and "Traceback" not in err[0]
    assert out.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only folder")
def test_read_only_out_exits_3_before_any_work(tmp_path, capsys):
    write(tmp_path, "good.yaml", GOOD)
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert cli.main([str(tmp_path / "good.yaml"), "--out", str(out), "--backends", "chainrule"]) == 3
    finally:
        out.chmod(0o755)
    assert "cannot write" in capsys.readouterr().err


def test_a_report_that_cannot_be_written_leaves_the_previous_three_as_they_were(tmp_path, monkeypatch):
    problems = problems_of({"name": "p", "function": "sin(x)", "point": {"x": 0.5}})
    frame = run_problems(problems, ["chainrule"])
    out = tmp_path / "out"
    files.write_reports(frame, [], out, problems)
    before = digests(out)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "render", full_disk)
    with pytest.raises(files.OutputError, match="report.html: not written: No space left on device"):
        files.write_reports(frame.iloc[:0], ["new"], out, problems)
    assert digests(out) == before  # no new results.csv beside the old report.html
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_a_second_run_into_a_held_folder_exits_3_and_writes_nothing(tmp_path, capsys):
    write(tmp_path, "good.yaml", GOOD)
    out = tmp_path / "out"
    with files.folder_lock(out):
        before = digests(out)
        assert cli.main([str(tmp_path / "good.yaml"), "--out", str(out), "--backends", "chainrule"]) == 3
        assert digests(out) == before
    assert "another diffcompare run is writing to this folder" in capsys.readouterr().err
    with files.folder_lock(out):  # released when the holder is done
        pass


def test_no_problem_found_exits_2_and_touches_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    write(out, "results.csv", "the previous run\n")
    before = digests(out)
    assert cli.main([str(tmp_path / "problmes"), "--out", str(out)]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main([str(empty), "--out", str(out), "--check"]) == 2
    assert digests(out) == before and sorted(p.name for p in out.iterdir()) == ["results.csv"]
    assert "no problem found" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1", "-inf"])
def test_timeout_must_be_a_positive_finite_number(tmp_path, capsys, value):
    write(tmp_path, "good.yaml", GOOD)
    assert cli.main([str(tmp_path / "good.yaml"), "--out", str(tmp_path / "out"), f"--timeout={value}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"--timeout: expected a positive, finite number of seconds, got {float(value)!r}"]
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="positive, finite"):
        run_problems([], timeout=float(value))


@pytest.mark.slow
def test_check_fails_on_error_rows(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    env = env_with(DIFFCOMPARE_BACKENDS="raiser=misbehaving:Raiser")
    command = [sys.executable, "-m", "diffcompare", str(tmp_path / "good.yaml"), "--out", str(tmp_path / "out")]
    command += ["--backends", "chainrule,raiser", "--jobs", "1", "--quiet"]
    assert subprocess.run(command, cwd=ROOT, env=env, timeout=300).returncode == 0
    assert subprocess.run(command + ["--check"], cwd=ROOT, env=env, timeout=300).returncode == 1


# --- the rows of a cell that timed out or died ---------------------------------------------


def test_a_failed_cell_has_rows_only_for_what_its_backend_would_give():
    (problem,) = problems_of({"name": "p", "function": "sin(x) * y", "point": {"x": 0.5, "y": 2.0}})
    sympy_shape = cell_shape(problem, load("sympy"))
    assert sympy_shape == [("float64", "symbolic", ["x", "y"])]
    rows = failed_cell_blocks(problem, "sympy", "timed out after 1 s", None, sympy_shape)
    assert [(b["dtype"], b["variable"]) for b in rows] == [("float64", "x"), ("float64", "y")]
    for given in ("manual", "expected"):  # the problem has neither: no rows at all
        assert failed_cell_blocks(problem, given, "timed out", None, cell_shape(problem, load(given))) == []
    chainrule = cell_shape(problem, load("chainrule"), dtypes=("float32",))
    assert chainrule == [("float32", "reverse", ["x", "y"])]


@pytest.mark.slow
def test_a_timed_out_cell_is_reported_for_its_backends_dtypes_and_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFCOMPARE_BACKENDS", "narrow=misbehaving:NarrowSleeper")
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    (problem,) = problems_of({"name": "p", "function": "sin(x) * y", "point": {"x": 0.5, "y": 2.0}})
    frame = run_problems([problem], ["narrow", "chainrule"], timeout=10)
    narrow = frame[frame["backend"] == "narrow"]
    assert list(zip(narrow["dtype"], narrow["variable"])) == [("float64", "x")]
    assert set(narrow["message"]) == {"timed out after 10 s"}
    assert set(frame[frame["backend"] == "chainrule"]["verdict"]) == {"agree"}


# --- processes -----------------------------------------------------------------------------


def start_run(tmp_path, backends: str, hung: Path, *extra) -> subprocess.Popen:
    """The command line in a session of its own (so its process group is its own), with the
    misbehaving backends registered and their signs left in hung."""
    env = env_with(
        DIFFCOMPARE_BACKENDS="spinner=misbehaving:Spinner,witness=misbehaving:Witness",
        DIFFCOMPARE_TEST_HUNG_DIR=str(hung),
        DIFFCOMPARE_TEST_WITNESS_DIR=str(hung),
    )
    # stderr to a file, not a pipe: reading a pipe to its end would wait for every process
    # that inherited it, and so hide the ones that outlive the parent.
    stderr = open(tmp_path / f"stderr-{len(list(tmp_path.glob('stderr-*')))}.txt", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "diffcompare", str(tmp_path / "problems"), "--out", str(tmp_path / "out")]
        + ["--backends", backends, "--quiet", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    process.stderr_text = lambda: Path(stderr.name).read_text()
    return process


@linux_only
@pytest.mark.slow
def test_sigkill_to_the_parent_leaves_no_worker_behind(tmp_path):
    (tmp_path / "problems").mkdir()
    write(tmp_path / "problems", "a.yaml", GOOD)
    write(tmp_path / "problems", "b.yaml", "function: exp(x)\npoint: {x: 1.0}\n")
    hung = tmp_path / "hung"
    hung.mkdir()
    process = start_run(tmp_path, "spinner", hung, "--jobs", "2", "--timeout", "600")
    try:
        wait_for(lambda: len(list(hung.iterdir())) >= 2 or process.poll() is not None, 180, "both workers spinning")
        assert process.poll() is None, process.stderr_text()
        assert len(group_members(process.pid)) >= 3  # the parent, two workers (and the resource tracker)
        process.kill()
        process.wait(timeout=30)
        wait_for(lambda: group_members(process.pid) == [], 10, "the workers and the tracker dying with the parent")
    finally:
        for pid in group_members(process.pid):
            os.kill(pid, signal.SIGKILL)


@linux_only
@pytest.mark.slow
def test_a_normal_run_leaves_its_process_group_empty(tmp_path):
    (tmp_path / "problems").mkdir()
    write(tmp_path / "problems", "a.yaml", GOOD)
    write(tmp_path / "problems", "b.yaml", "function: exp(x)\npoint: {x: 1.0}\n")
    process = start_run(tmp_path, "chainrule,central", tmp_path, "--jobs", "2")
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)  # not wait(timeout=…), whose polling may come 50 ms late
    assert process.returncode == 0, process.stderr_text()
    assert group_members(process.pid) == []  # at once: nothing left to wind down after the parent
    frame = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False)
    assert set(frame["verdict"]) == {"agree"}


@linux_only
@pytest.mark.slow
def test_sigterm_is_ctrl_c_with_exit_143(tmp_path):
    (tmp_path / "problems").mkdir()
    write(tmp_path / "problems", "a.yaml", GOOD)
    out = tmp_path / "out"
    first = start_run(tmp_path, "chainrule", tmp_path, "--jobs", "1")
    assert first.wait(timeout=300) == 0, first.stderr_text()
    before = digests(out)
    members = ", ".join(str(n) for n in range(1, 201))
    write(tmp_path / "problems", "many.yaml", f"function: sin(x) * n\npoint: {{x: 0.5}}\nsweep: {{n: [{members}]}}\n")
    signs = tmp_path / "signs"
    signs.mkdir()
    # With one job, the witness's sign of a second problem means the first has finished.
    process = start_run(tmp_path, "witness,central", signs, "--jobs", "1")
    wait_for(lambda: len(list(signs.iterdir())) >= 2 or process.poll() is not None, 180, "a problem finishing")
    assert process.poll() is None, "the run ended before it could be stopped"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    stderr = process.stderr_text()
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr and "problems finished" in stderr
    partial = out / "results.partial.csv"
    assert 0 < pd.read_csv(partial, keep_default_na=False)["problem"].nunique() < 201
    assert {k: v for k, v in digests(out).items() if k != partial.name} == before
    wait_for(lambda: group_members(process.pid) == [], 10, "the workers stopping")


# --- the API from a plain script -----------------------------------------------------------

SCRIPT = """import diffcompare

{indent}frame = diffcompare.run({path!r}, backends=["sympy", "chainrule"], timeout=60, jobs=2)
{indent}print(len(frame), (frame["verdict"] == "agree").sum(), sep=",")
"""


@pytest.mark.slow
@pytest.mark.parametrize("guarded", [False, True])
def test_the_api_runs_workers_from_a_plain_script(tmp_path, guarded):
    (tmp_path / "problems").mkdir()
    write(tmp_path / "problems", "a.yaml", GOOD)
    write(tmp_path / "problems", "b.yaml", "function: exp(x)\npoint: {x: 1.0}\n")
    text = SCRIPT.format(indent="    " if guarded else "", path=str(tmp_path / "problems"))
    if guarded:
        text = text.replace("\n\n    frame", '\n\nif __name__ == "__main__":\n    frame')
    script = write(tmp_path, "script.py", text)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # a: sympy float64 x, y; chainrule float32/float64 x, y. b: 1 + 2.
    assert result.stdout.strip() == "9,9", result.stderr
    assert "process died" not in result.stdout + result.stderr


@pytest.mark.slow
def test_ctrl_c_while_the_report_is_written_keeps_every_row_and_the_last_report(tmp_path, monkeypatch, capsys):
    """Every cell is in, report.html is being typeset: Ctrl-C there keeps the rows
    (results.partial.csv) and the last complete report, and exits 130, as during the run."""
    folder, out = tmp_path / "problems", tmp_path / "out"
    folder.mkdir()
    write(folder, "good.yaml", GOOD)
    assert cli.main([str(folder), "--out", str(out), "--backends", "chainrule", "--quiet"]) == 0
    before = digests(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "write_reports", interrupted)
    assert cli.main([str(folder), "--out", str(out), "--backends", "chainrule", "--quiet"]) == 130
    partial = pd.read_csv(out / "results.partial.csv")
    assert len(partial) == 4 and set(partial["verdict"]) == {"agree"}  # x and y, float32 and float64
    assert {k: v for k, v in digests(out).items() if k != "results.partial.csv"} == before
    assert "interrupted: 1 of 1 problems finished" in capsys.readouterr().err
