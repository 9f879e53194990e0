"""The summary table and `explain` at 80, 120 and 200 columns: every backend/dtype of the run
has its column, every cell's number appears whole, no line is wider than the width, and the
order of columns and problems is stable (and the problems' is report.html's)."""

import re

import numpy as np
import pandas as pd
import pytest
from conftest import write
from test_terminal import cli

from diffcompare.backends import BUILTIN
from diffcompare.views.summary import SHORT_DTYPE, cell_table
from diffcompare.views.terminal import print_summary, problem_order

WIDTHS = [80, 120, 200, 320]
LABEL = re.compile(r"\d+\.\d [✓✗]|kink|undef|unset|skip|error")
NARROW = {"undefined": "undef", "unsettled": "unset", "skipped": "skip"}
LONG_NAME = "a-problem-with-a-name-much-longer-than-any-column-could-hold-whole"


def synthetic_frame(seed: int = 0, shuffle: bool = False) -> pd.DataFrame:
    """Every built-in backend and a plug-in, both dtypes (decimal for expected), cells of every
    verdict, digits from 0.0 to 17.0, one long problem name; rows in any order."""
    rng = np.random.default_rng(seed)
    columns = [(b, d) for b in BUILTIN if b not in ("sympy", "expected") for d in ("float32", "float64")]
    columns = [("sympy", "float64"), *columns, ("expected", "decimal"), ("my-plugin", "float64")]
    verdicts = ["agree"] * 6 + ["disagree"] * 3 + ["kink", "undefined", "unsettled", "error", "skipped"]
    rows = []
    for p in range(12):
        problem = LONG_NAME if p == 5 else f"problem-{p:02d}"
        for backend, dtype in columns:
            if (p, backend) == (3, "manual"):
                continue  # a cell left empty
            verdict = verdicts[rng.integers(len(verdicts))]
            for element in range(2):
                digits = float(np.round(rng.uniform(0, 17), 3)) if verdict in ("agree", "disagree") else np.nan
                rows.append((problem, backend, dtype, "x", str(element), digits, verdict, "why"))
    frame = pd.DataFrame(
        rows, columns=["problem", "backend", "dtype", "variable", "index", "digits", "verdict", "message"]
    )
    if shuffle:  # another run: the same cells, finished in another order
        frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return frame


def expected_cells(frame: pd.DataFrame) -> dict:
    table = cell_table(frame)
    return {
        (problem, column): NARROW.get(label, label)
        for problem, row in table.iterrows()
        for column, label in row.items()
        if label
    }


def parse_table(text: str, problems: list[str]) -> tuple[dict, list[list[str]]]:
    """{(problem, backend/dtype): label} read from the printed table by column position, and
    each part's columns in order."""
    lines = text.splitlines()
    cells, parts = {}, []
    heads = [i for i, line in enumerate(lines) if line.startswith("problem ")]
    for number, h in enumerate(heads):
        backends_line, dtypes_line = lines[h - 1], lines[h]
        end = heads[number + 1] - 1 if number + 1 < len(heads) else len(lines)
        body = lines[h + 1 : end]
        # Each backend's name is right-aligned over its last dtype column; dtypes right-aligned over their cells.
        backend_ends = [(m.end(), m.group()) for m in re.finditer(r"\S+", backends_line)]
        columns = []
        for m in re.finditer(r"\S+", dtypes_line[len("problem") :]):
            right = m.end() + len("problem")
            owner = next(name for stop, name in backend_ends if stop >= right)
            columns.append((right, f"{owner}/{m.group()}"))
        parts.append([c for _, c in columns])
        for problem in problems:
            line = next(line for line in body if line.startswith(problem[:12]))
            name_part = len(line.split()[0])
            for m in LABEL.finditer(line, name_part):  # after the name, which may hold "kink"
                column = [c for right, c in columns if right == m.end()]
                assert len(column) == 1, (line, m.group())
                cells[(problem, column[0])] = m.group()
    return cells, parts


def table_of(text: str) -> str:
    """The table: the lines before the disagreements (✗ …), the counts and 'wrote …'."""
    lines = text.splitlines()
    end = next((i for i, line in enumerate(lines) if re.match(r"✗ |\d+ rows: |wrote ", line)), len(lines))
    return "\n".join(lines[:end])


def short(column: str) -> str:
    backend, dtype = column.rsplit("/", 1)
    return f"{backend}/{SHORT_DTYPE.get(dtype, dtype)}"


@pytest.mark.parametrize("width", WIDTHS)
def test_piped_table_honours_columns_loses_no_column_and_cuts_no_number(width, monkeypatch, capsys):
    frame = synthetic_frame()
    monkeypatch.setenv("COLUMNS", str(width))
    print_summary(frame, [])
    text = capsys.readouterr().out
    assert "\x1b" not in text
    table = table_of(text)
    assert max(len(line) for line in table.splitlines()) <= width
    want = expected_cells(frame)
    problems = problem_order(frame)
    seen, parts = parse_table(table, problems)
    assert seen == {(p, short(c)): label for (p, c), label in want.items()}  # every cell, whole, in its column
    columns = [c for part in parts for c in part]
    assert len(columns) == len(set(columns)) == len({c for _, c in want})  # every backend/dtype once
    assert LONG_NAME[:12] in text and LONG_NAME[-10:] in text  # a long name wraps, whole
    # every digits value of the frame's cells (the worst element's) appears whole
    digits = frame.groupby(["problem", "backend", "dtype"])["digits"].min().dropna()
    tokens = set(re.findall(r"\d+\.\d", table))
    assert {f"{d:.1f}" for d in digits} <= tokens
    if width >= 320:  # 13 built-in backends and a plug-in, two dtypes each: one part
        assert len(parts) == 1
    else:
        assert len(parts) > 1 and "parts" in text


def test_without_columns_a_pipe_gets_120(monkeypatch, capsys):
    monkeypatch.delenv("COLUMNS", raising=False)
    print_summary(synthetic_frame(), [])
    text = capsys.readouterr().out
    assert max(len(line) for line in table_of(text).splitlines()) <= 120
    monkeypatch.setenv("COLUMNS", "200")
    print_summary(synthetic_frame(), [])
    assert max(len(line) for line in table_of(capsys.readouterr().out).splitlines()) > 120


def test_column_order_is_stable_between_runs_and_problems_follow_the_report(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "320")
    orders = []
    for shuffle in (False, True):
        frame = synthetic_frame(shuffle=shuffle)
        print_summary(frame, [])
        text = capsys.readouterr().out
        problems = problem_order(frame)
        bad = set(frame.loc[frame["verdict"] == "disagree", "problem"])  # report.html's order: disagreements first
        assert problems == sorted(problems, key=lambda p: p not in bad)
        orders.append(parse_table(table_of(text), problems)[1])
    assert orders[0] == orders[1]
    columns = orders[0][0]
    backends = list(dict.fromkeys(c.rsplit("/", 1)[0] for c in columns))
    assert backends == [b for b in BUILTIN if b in backends] + ["my-plugin"]
    assert columns[1:3] == ["symengine/f32", "symengine/f64"]


def test_explain_at_80_columns_prints_every_number_of_the_tape_whole(monkeypatch, capsys, tmp_path):
    from diffcompare.cli import explain_command
    from diffcompare.engine.chainrule import ChainRule, point_in
    from diffcompare.engine.tape import tape_table
    from diffcompare.spec.files import load_file

    path = write(
        tmp_path,
        "tape.yaml",
        "name: long\nlet:\n  a_rather_long_step_name: sigmoid(w * x**2)\n  q: clamp(a_rather_long_step_name, 1e-8, 1 - 1e-8)\n"
        "function: -log(q) / 3.0000000000000004 + 1 / b**3\npoint: {w: 2.0, x: 4.0, b: 1.4999999999999998}\n"
        "---\nname: array\nfunction: sum(sin(v) * 1.2345678901234567)\npoint: {v: [0.1, 0.2, 0.30000000000000004]}\n",
    )
    problems, errors = load_file(path)
    assert not errors
    for width in (80, 120):
        for dtype in ("float32", "float64"):
            monkeypatch.setenv("COLUMNS", str(width))
            assert explain_command([str(path), "--dtype", dtype]) == 0
            text = capsys.readouterr().out
            assert max(len(line) for line in text.splitlines()) <= width
            words = set(text.split())
            for problem in problems:
                engine = ChainRule(problem.function, dtype)
                for _, _, _, value, local, adjoint in tape_table(
                    engine.tape(point_in(problem.point, dtype), problem.wrt)
                ):
                    for entry in (value, *(e.partition(" = ")[2] for e in local), adjoint):
                        assert set(entry.split()) <= words, (width, dtype, entry)


@pytest.mark.slow
def test_a_real_run_piped_at_80_columns(tmp_path):
    import os

    for name, text in {
        "a.yaml": "name: saturated\nfunction: sigmoid(w * x**2)\npoint: {w: 2.0, x: 4.0}\n"
        "manual: {w: x**2 * sigmoid(w * x**2) * (1 - sigmoid(w * x**2)), x: 0}\n",
        "b.yaml": "name: kinked-and-a-rather-long-name-for-one-problem-that-wraps\nfunction: relu(x) + x\npoint: {x: 0.0}\n",
        "c.yaml": "name: good\nfunction: sum(sin(x**2))\npoint: {x: [4.0, 0.3]}\nexpected: {x: [-7.6613, 0.5975]}\n",
    }.items():
        write(tmp_path, name, text)
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    result = cli(
        tmp_path,
        "--out",
        tmp_path / "out",
        "--backends",
        "sympy,chainrule,central,richardson,complex_step,manual,expected",
        env={**env, "COLUMNS": "80"},
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False, dtype={"index": str})
    frame["digits"] = pd.to_numeric(frame["digits"].replace("", np.nan))
    text = result.stdout
    table = table_of(text)
    assert max(len(line) for line in table.splitlines()) <= 80
    seen, parts = parse_table(table, problem_order(frame))
    want = expected_cells(frame)
    assert seen == {(p, short(c)): label for (p, c), label in want.items()}
    assert "file://" not in text  # the 'open' line is for a person at a terminal, not for a pipe
