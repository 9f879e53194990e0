"""The terminal: the progress bar (only on a terminal, only past a second, one step
per problem × backend cell), the summary table's colours, --quiet, --format json."""

import csv
import fcntl
import io
import json
import math
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, write

from diffcompare.running.columns import FLOAT_COLUMNS, INTEGER_COLUMNS
from diffcompare.running.runner import run_problems
from diffcompare.spec.problem import build_problems
from diffcompare.views import palette
from diffcompare.views.terminal import SHOW_AFTER_S, print_summary, write_json

GOOD = "name: good\nfunction: sum(sin(x**2))\npoint: {x: [4.0, 0.3, -1.5]}\n"
UNDEFINED = "name: undefined\nfunction: log(x)\npoint: {x: 0.0}\n"
WRONG = "name: wrong\nfunction: x**2\npoint: {x: 3.0}\nexpected: {x: 7.0}\n"
BAD = "function: x +\npoint: {x: 1.0}\n"
# A terminal must not leave its settings to the environment the tests run in.
TERMINAL_ENV = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES", "TERM")


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "diffcompare", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in TERMINAL_ENV}
    return {**env, **extra}


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity, which are not JSON."""

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def many(tmp_path, count: int):
    """count small problems: with two backends, a run of a few seconds."""
    members = ", ".join(str(n) for n in range(1, count + 1))
    return write(
        tmp_path,
        "many.yaml",
        f"function: sum(sin(x) * n)\npoint:\n  x: {{shape: [3], fill: 0.5}}\nsweep: {{n: [{members}]}}\n",
    )


def csv_float(text: str) -> float:
    return float(text) if text else math.nan


@pytest.mark.slow
def test_json_is_one_document_with_every_row_exact_and_nan_as_a_string(tmp_path):
    problems = tmp_path / "problems"
    problems.mkdir()
    write(problems, "a_good.yaml", GOOD)
    write(problems, "b_undefined.yaml", UNDEFINED)
    write(problems, "c_bad.yaml", BAD)
    out = tmp_path / "out"
    result = cli(problems, "--out", out, "--backends", "chainrule,sympy", "--format", "json")
    assert result.returncode == 2  # bad input: the same exit code as in text mode
    assert "c_bad.yaml" in result.stderr  # and its line still goes to stderr
    document = strict_json(result.stdout)  # the whole of stdout, nothing before or after it
    assert list(document) == ["diffcompare", "interrupted", "counts", "errors", "reports", "rows"]
    assert document["interrupted"] is False
    assert len(document["errors"]) == 1 and "c_bad.yaml" in document["errors"][0]
    assert {str(out / "results.csv"), str(out / "summary.md")} <= set(document["reports"])
    assert all(Path(report).is_file() for report in document["reports"])

    with open(out / "results.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    rows = document["rows"]
    assert len(rows) == len(table) > 0
    frame_columns = list(table[0])
    float_columns = set(FLOAT_COLUMNS)
    for row, line in zip(rows, table):
        assert list(row) == frame_columns  # every column of the frame, in its order
        for column in frame_columns:
            if column in float_columns:
                want = csv_float(line[column])
                if not math.isfinite(want):  # NaN and ±inf (log at 0): strings float() reads back
                    assert row[column] in ("NaN", "Infinity", "-Infinity"), column
                    assert float(row[column]) == want or (math.isnan(want) and math.isnan(float(row[column])))
                else:  # the same float64, bit for bit, and read back as a float
                    assert isinstance(row[column], float) and row[column] == want, column
                    assert np.float64(row[column]).tobytes() == np.float64(want).tobytes(), column
            elif column in INTEGER_COLUMNS:  # size, threads
                assert row[column] == int(line[column]), column
            else:
                assert row[column] == line[column], column
    undefined = [r for r in rows if r["problem"] == "undefined"]
    assert undefined and all(
        isinstance(r["value"], str) and isinstance(r["reference"], str) and r["verdict"] == "undefined"
        for r in undefined
    )
    counts = document["counts"]
    assert sum(counts.values()) == len(rows) and counts["undefined"] == len(undefined)
    assert counts["agree"] == sum(r["verdict"] == "agree" for r in rows) > 0


def test_json_numbers_read_back_as_the_same_float64():
    values = [-0.0, 0.0, 5e-324, 2.2250738585072014e-308, 1e-7, 0.1, 1 / 3, 3.0, -12.0, 1e16, 1e22, 1e300]
    values += [123456789012345680.0, math.nan, math.inf, -math.inf]
    frame = pd.DataFrame(
        {
            "value": values,
            "size": np.arange(len(values), dtype=np.int64),
            "verdict": "agree",
            "message": ['quote " backslash \\ newline \n σ ✓ \x01'] + [""] * (len(values) - 1),
        }
    )
    stream = io.StringIO()
    write_json(frame, [], [], stream=stream)
    rows = strict_json(stream.getvalue())["rows"]
    for row, want in zip(rows, values):
        if math.isfinite(want):
            assert isinstance(row["value"], float)
            assert np.float64(row["value"]).tobytes() == np.float64(want).tobytes(), want  # -0.0 keeps its sign
    # JSON has no NaN or infinities: three distinct strings that float() reads back.
    assert [r["value"] for r in rows[-3:]] == ["NaN", "Infinity", "-Infinity"]
    assert [r["size"] for r in rows] == list(range(len(values)))
    assert rows[0]["message"] == frame["message"][0]
    assert stream.getvalue().isascii()  # whatever the encoding of the stdout it lands on


def test_json_keys_are_the_csv_header_and_non_finite_values_are_distinct(tmp_path):
    from diffcompare.views.files import write_csv

    documents = [
        {"name": "good", "function": "sin(x)", "point": {"x": 0.5}},
        {"name": "undefined", "function": "log(x)", "point": {"x": 0.0}},
    ]
    problems = [p for d in documents for p in build_problems(d, "f.yaml", d["name"])[0]]
    frame = run_problems(problems, ["chainrule"], dtypes=["float64"])
    frame.loc[0, "value"], frame.loc[1, "value"], frame.loc[1, "reference"] = math.nan, math.inf, -math.inf
    write_csv(frame, tmp_path / "results.csv")
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    stream = io.StringIO()
    write_json(frame, [], [], stream=stream)
    rows = strict_json(stream.getvalue())["rows"]
    assert all(list(row) == header for row in rows)
    assert (rows[0]["value"], rows[1]["value"], rows[1]["reference"]) == ("NaN", "Infinity", "-Infinity")
    assert isinstance(rows[0]["reference"], float)


@pytest.mark.slow
def test_quiet_prints_nothing_on_stdout_and_keeps_exit_codes(tmp_path):
    problems = tmp_path / "problems"
    problems.mkdir()
    write(problems, "a_good.yaml", GOOD)
    write(problems, "b_bad.yaml", BAD)
    out = tmp_path / "out"
    result = cli(problems, "--out", out, "--backends", "chainrule,sympy", "--quiet")
    assert result.returncode == 2
    assert result.stdout == ""
    assert [line for line in result.stderr.splitlines() if "b_bad.yaml" in line]  # bad input still said
    assert set(pd.read_csv(out / "results.csv")["problem"]) == {"good"}  # reports still written
    assert (out / "summary.md").exists()

    write(tmp_path, "wrong.yaml", WRONG)
    result = cli(tmp_path / "wrong.yaml", "--out", out, "--backends", "expected", "--quiet", "--check")
    assert result.returncode == 1 and result.stdout == ""
    result = cli(tmp_path / "wrong.yaml", "--out", out, "--backends", "expected", "--format", "json", "--check")
    assert result.returncode == 1 and strict_json(result.stdout)["counts"]["disagree"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("force_color", [False, True])
def test_no_bar_and_no_control_codes_when_piped(tmp_path, force_color):
    path = many(tmp_path, 60)
    env = clean_env(FORCE_COLOR="1") if force_color else clean_env()
    started = time.monotonic()
    result = cli(path, "--out", tmp_path / "out", "--backends", "chainrule,sympy", "--jobs", "1", env=env)
    assert time.monotonic() - started > SHOW_AFTER_S  # long enough that a terminal would have had the bar
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # FORCE_COLOR asks for colours, not for a bar redrawn on a pipe
    if not force_color:
        assert "\x1b" not in result.stdout
    assert re.search(r"(\d+) rows: \1 agree", result.stdout)


def run_in_terminal(args, *, interrupt_when=None):
    """The CLI with stderr on a pseudo-terminal, stdout on a pipe: (exit code, stdout, what the
    terminal received). interrupt_when(terminal text) -> True sends Ctrl-C's SIGINT."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "diffcompare", *map(str, args)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=clean_env(TERM="xterm-256color"),
    )
    os.close(slave)
    stdout = []
    reader = threading.Thread(target=lambda: stdout.append(process.stdout.read().decode()))
    reader.start()
    received, interrupted, deadline = b"", False, time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1.0)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal has closed it
                break
            if not data:
                break
            received += data
            if interrupt_when and not interrupted and interrupt_when(received.decode(errors="replace")):
                process.send_signal(signal.SIGINT)
                interrupted = True
        code = process.wait(timeout=60)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    reader.join(timeout=60)
    return code, stdout[0], received.decode(errors="replace")


@pytest.mark.slow
def test_the_bar_shows_on_a_terminal_per_cell_and_leaves_stdout_clean(tmp_path):
    path = many(tmp_path, 60)
    code, stdout, terminal = run_in_terminal(
        [path, "--out", tmp_path / "out", "--backends", "chainrule,sympy", "--jobs", "1"]
    )
    assert code == 0, terminal
    assert "cells" in terminal and "/120" in terminal  # 60 problems × 2 backends
    assert "120/120" in terminal and "· sympy" in terminal  # the last cell, named
    assert terminal.rstrip().endswith("\x1b[2K") and "\x1b[?25h" in terminal  # erased, cursor given back
    assert "\x1b" not in stdout and re.search(r"(\d+) rows: \1 agree", stdout)


@pytest.mark.slow
def test_ctrl_c_under_the_bar_keeps_partial_rows_and_one_json_document(tmp_path):
    path = many(tmp_path, 400)
    out = tmp_path / "out"

    def some_cells_done(text):  # 400 problems × 2 backends; 4 cells: at least one problem finished
        return any(int(n) >= 4 for n in re.findall(r"(\d+)/800", text))

    args = [path, "--out", out, "--backends", "chainrule,central", "--jobs", "1", "--format", "json"]
    code, stdout, terminal = run_in_terminal(args, interrupt_when=some_cells_done)
    assert code == 130, terminal
    assert "problems finished, written to" in terminal and "\x1b[?25h" in terminal
    document = strict_json(stdout)
    assert document["interrupted"] is True and document["reports"] == [str(out / "results.partial.csv")]
    partial = pd.read_csv(out / "results.partial.csv", keep_default_na=False)
    assert 0 < partial["problem"].nunique() < 400
    assert len(document["rows"]) == len(partial)


@pytest.mark.slow
def test_progress_hears_of_every_cell_in_process_and_supervised(monkeypatch):
    documents = [{"name": f"p{i}", "function": "sin(x) * y", "point": {"x": 0.5, "y": 2.0}} for i in range(3)]
    problems = [p for d in documents for p in build_problems(d, "f.yaml", d["name"])[0]]
    backends = ["chainrule", "sympy"]
    every = [(p.name, b) for p in problems for b in backends]

    heard = []
    run_problems(problems, backends, progress=lambda problem, backend: heard.append((problem.name, backend)))
    assert heard == every

    heard.clear()
    run_problems(problems, backends, timeout=30, progress=lambda p, b: heard.append((p.name, b)))
    assert heard == every

    # Cells that raise, kill their worker or time out are finished cells too.
    monkeypatch.setenv(
        "DIFFCOMPARE_BACKENDS", "sleeper=misbehaving:Sleeper,raiser=misbehaving:Raiser,exiter=misbehaving:Exiter"
    )
    backends = ["raiser", "exiter", "chainrule", "sleeper"]
    heard.clear()
    frame = run_problems(problems[:2], backends, jobs=2, timeout=2, progress=lambda p, b: heard.append((p.name, b)))
    assert sorted(heard) == sorted((p.name, b) for p in problems[:2] for b in backends)
    assert set(frame[frame["backend"] == "sleeper"]["message"]) == {"timed out after 2 s"}


def test_summary_colours_come_from_the_palette(monkeypatch):
    documents = [
        {"name": "good", "function": "sin(x)", "point": {"x": 0.5}},
        {"name": "wrong", "function": "x**2", "point": {"x": 3.0}, "expected": {"x": 7.0}},
        {"name": "undefined", "function": "log(x)", "point": {"x": 0.0}},
        {"name": "kinked", "function": "relu(x) + x", "point": {"x": 1.0}},
    ]
    problems = [p for d in documents for p in build_problems(d, "f.yaml", d["name"])[0]]
    frame = run_problems(problems, ["chainrule", "complex_step", "expected"], dtypes=["float64"])
    assert {"agree", "disagree", "undefined", "skipped"} <= set(frame["verdict"])
    styles = {"agree": "blue", "disagree": "red", "undefined": "cyan", "skipped": "magenta"}
    for verdict, style in styles.items():
        monkeypatch.setitem(palette.VERDICT_STYLES, verdict, style)
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=200)
    print_summary(frame, [], console=console)
    text = console.file.getvalue()
    assert re.search(r"\x1b\[34m\d+\.\d ✓", text) and re.search(r"\x1b\[31m\d+\.\d ✗", text)
    assert "\x1b[36mundef" in text and "\x1b[35mskip" in text


def test_the_bar_says_what_it_counts_moves_before_the_first_cell_and_estimates_the_time_left():
    from types import SimpleNamespace

    from rich.console import Console

    from diffcompare.views.terminal import CellProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    console = Console(file=Terminal(), force_terminal=True, force_interactive=True, width=200)
    problems = [SimpleNamespace(name=f"p{i}") for i in range(2)]
    with CellProgress(4, console=console, show_after_s=0.0, problems=2, workers=2) as progress:
        time.sleep(0.5)  # the workers start: nothing finished yet
        for problem in problems:
            for backend in ("sympy", "torch"):
                progress(problem, backend)
                time.sleep(0.15)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.file.getvalue())  # the colours and cursor moves
    assert "starting 2 worker processes: loading the backends" in text  # motion before the first cell
    assert "cells (problem × backend)" in text and "left" in text  # what it counts, and the time left
    assert "1/2 problems · p0 · torch" in text and "4/4" in text
