"""The views of operators and modes (issue 17), on frames built here: a gradient-only run reads
exactly as before; a run with a Jacobian in two modes and a Hessian names each backend with its
mode in every view (terminal table, disagreement lines, counts, summary.md, report.html's
heatmap, sections, digit matrices and scaling plots, the notebook, the pytest plugin), and no
row's mode is merged away."""

import re

import numpy as np
import pandas as pd
import pytest

from diffcompare.running.columns import COLUMNS, EXTRA_COLUMNS
from diffcompare.spec.problem import build_problems
from diffcompare.views.html_report import render
from diffcompare.views.modes import labelled, mode_count_lines, shows_modes
from diffcompare.views.notebook import shown_columns
from diffcompare.views.summary import cell_summary, disagreement_lines, summary_markdown, verdict_lines
from diffcompare.views.terminal import operator_tables, summary_text

GRADIENT_MODES = {"sympy": "symbolic", "torch": "reverse", "central": "finite-difference"}


def row(problem, backend, dtype, variable, index, digits, verdict, operator="gradient", mode="reverse", **more):
    r = dict.fromkeys(COLUMNS + EXTRA_COLUMNS, np.nan)
    r.update(
        problem=problem, backend=backend, dtype=dtype, variable=variable, index=index, digits=digits, verdict=verdict,
        operator=operator, mode=mode, message="", value=1.0, reference=1.0, rel_error=0.0, abs_error=0.0,
        time_s=1e-5, f_time_s=1e-6, cost_ratio=10.0, size=2, method="exact", file="t.yaml",
        diffcompare_version="0", library_version="", python_version="3",
    )  # fmt: skip
    r.update(more)
    return r


def gradient_rows(problem="grad-p"):
    return [
        row(problem, b, d, "x", str(i), 7.0 if d == "float32" else 15.5, "agree", mode=m)
        for b, m in GRADIENT_MODES.items()
        for d in ("float32", "float64")
        if (b, d) != ("sympy", "float32")
        for i in range(2)
    ]


BAD = ("jax", "forward", "float32", "1,0")  # the one Jacobian entry that disagrees


def operator_frame() -> pd.DataFrame:
    """A gradient, a Jacobian in forward and reverse mode (one entry wrong in jax's forward
    float32, SymPy skipped), a Hessian in two second-order modes with a cross block."""
    rows = gradient_rows()
    for b in ("torch", "jax"):
        for m in ("forward", "reverse"):
            for d in ("float32", "float64"):
                for i in range(2):
                    for j in range(2):
                        bad = (b, m, d, f"{i},{j}") == BAD
                        rows.append(
                            row("jac-p", b, d, "x", f"{i},{j}", 2.0 if bad else 15.0 - i - j,
                                "disagree" if bad else "agree", "jacobian", m,
                                message="relative error 0.01 > 3.5e-04" if bad else "")
                        )  # fmt: skip
    rows.append(row("jac-p", "sympy", "float64", "x", "", np.nan, "skipped", "jacobian", "", message="no Jacobian"))
    for m in ("forward-over-reverse", "reverse-over-reverse"):
        for d in ("float32", "float64"):
            for v, idx in (("x", "0,0"), ("x", "0,1"), ("x", "1,0"), ("x", "1,1"), ("x,y", "0"), ("x,y", "1")):
                rows.append(row("hess-p", "torch", d, v, idx, 14.0, "agree", "hessian", m))
    return pd.DataFrame(rows)[COLUMNS + EXTRA_COLUMNS]


@pytest.fixture(scope="module")
def frame():
    return operator_frame()


def problem(document: dict):
    problems, errors = build_problems(document, "test.yaml", document["name"])
    assert not errors
    return problems[0]


HESSIAN = {"name": "hess-p", "operator": "hessian", "function": "x[0]**2 * x[1] + exp(y)", "point": {"x": [1.0, 2.0], "y": 0.5}}  # fmt: skip
JACOBIAN = {"name": "jac-p", "operator": "jacobian", "function": "[x[0] * x[1], sin(x[0])]", "point": {"x": [1.0, 2.0]}}  # fmt: skip


def test_a_gradient_only_run_reads_as_before():
    with_modes = pd.DataFrame(gradient_rows())
    without = with_modes.drop(columns=["operator", "mode"])
    assert not shows_modes(with_modes)
    assert labelled(with_modes) is with_modes
    for width in (80, 120):
        assert summary_text(with_modes, width) == summary_text(without, width)
    assert verdict_lines(with_modes) == verdict_lines(without)
    assert summary_markdown(with_modes, []) == summary_markdown(without, [])
    assert "operator" not in shown_columns(with_modes)


def test_a_backend_in_two_modes_or_an_unusual_mode_is_named():
    rows = gradient_rows()
    two = pd.DataFrame(rows + [{**rows[2], "mode": "finite-difference"}])  # torch in a second usual mode
    assert shows_modes(two)
    forward = pd.DataFrame([{**r, "mode": "forward"} if r["backend"] == "torch" else r for r in rows])
    assert shows_modes(forward)
    assert set(labelled(forward)["backend"]) == {"sympy (symbolic)", "torch (forward)", "central (finite-difference)"}


def test_every_mode_is_a_column_and_no_row_is_lost(frame):
    shown = labelled(frame)
    assert len(shown) == len(frame)
    # The skipped cell (no mode) is shown under SymPy's one mode, not in a column of its own.
    assert shown.loc[frame["mode"] == "", "backend"].tolist() == ["sympy (symbolic)"]
    modes = frame["mode"].where((frame["mode"] != "") | (frame["backend"] != "sympy"), "symbolic")
    pairs = set(zip(frame["backend"], modes))
    assert {("torch", "forward"), ("torch", "reverse"), ("torch", "forward-over-reverse")} <= pairs
    for backend, mode in pairs:  # each (backend, mode) keeps its rows under its own label
        assert (shown["backend"] == f"{backend} ({mode})").sum() == ((frame["backend"] == backend) & (modes == mode)).sum()  # fmt: skip
    cells = cell_summary(frame)
    jac = cells[cells["problem"] == "jac-p"].set_index("column")
    assert jac.loc["jax (forward)/float32", "verdict"] == "disagree"
    assert jac.loc["jax (reverse)/float32", "verdict"] == "agree"
    assert jac.loc["sympy (symbolic)/float64", "verdict"] == "skipped"


def test_terminal_table_names_modes_and_operators_at_80_columns(frame):
    text = summary_text(frame, 80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    heads = [i for i, line in enumerate(lines) if line.startswith("problem ")]
    modes = " ".join(lines[h - 1] for h in heads).split()
    assert {"fwd", "rev", "fwd-rev", "rev-rev"} <= set(modes)
    # The gradients' problems in a table of their own, as a run of gradients alone prints them:
    # a column per backend, no mode line over it.
    assert [heading for heading, _ in operator_tables(frame)] == [
        "gradients",
        "other operators, a column per backend and mode",
    ]
    gradients = summary_text(operator_tables(frame)[0][1], 80).splitlines()
    assert gradients[0].split()[0] == "sympy" and not {"sym", "fd", "rev"} & set(gradients[0].split())
    assert any(line.startswith("jac-p · jacobian") for line in lines)
    assert any(line.startswith("hess-p · hessian") for line in lines)
    assert any(line.startswith("grad-p ") for line in lines)
    # A label per cell of the frame: 2 dtypes × (torch 4 modes, jax 2, central 1), sympy 1.
    assert len(re.findall(r"\d+\.\d [✓✗]|skip", text)) == len(cell_summary(frame))


def test_disagreement_lines_and_counts_per_mode(frame):
    assert disagreement_lines(frame) == [
        "jac-p · jacobian · jax (forward) float32 · x[1,0]: relative error 0.01 > 3.5e-04"
    ]
    lines = verdict_lines(frame)
    assert lines[0].startswith(f"{len(frame)} rows: ")
    counts = {line.split(":")[0].strip(): line for line in lines[1:]}
    assert counts["forward"] == "  forward: 16 rows: 15 agree, 1 disagree"
    assert counts["forward-over-reverse"] == "  forward-over-reverse: 12 rows: 12 agree"
    assert counts["no mode (not computed)"] == "  no mode (not computed): 1 row: 1 skipped"
    assert sum(int(re.search(r": (\d+) rows?", line)[1]) for line in lines[1:]) == len(frame)
    assert len(mode_count_lines(frame)) == len(set(frame["mode"]))


def test_summary_markdown_names_modes(frame):
    text = summary_markdown(frame, [])
    assert "| jac-p · jacobian |" in text and "jax (forward)/float32" in text
    assert "| jac-p | jax (forward) | float32 | x\\[1,0\\] |" in text
    assert "- forward: 16 rows: 15 agree, 1 disagree" in text


def test_notebook_shows_operator_and_mode_after_dtype(frame):
    columns = shown_columns(frame)
    assert columns[columns.index("dtype") + 1 : columns.index("dtype") + 3] == ["operator", "mode"]


@pytest.fixture(scope="module")
def page(frame):
    return render(frame, [], [problem(HESSIAN), problem(JACOBIAN)])


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}"')
    return page[start : page.index("</section>", start)]


def test_report_sections_say_the_operator(page):
    hess = _section(page, "p-hess-p")
    assert "<span class=muted>hessian</span>" in hess
    assert "operator: hessian, the Hessian" in hess
    assert "<h3>Hessian</h3>" in hess
    assert "<h3>Gradient</h3>" in _section(page, "p-grad-p")
    assert "jac-p · jacobian" in page  # the heatmap's problem column


def test_report_heatmap_heads_name_modes(page):
    heat = page[page.index("<table class=heat>") : page.index("</table>", page.index("<table class=heat>"))]
    heads = re.findall(r"<th title='([^']*)'>", heat)
    assert "torch (forward-over-reverse)/float64" in heads and "jax (forward)/float32" in heads
    assert "<i>fwd-rev</i>" in heat


def test_hessian_and_jacobian_sections_show_digit_matrices(page, frame):
    hess = _section(page, "p-hess-p")
    captions = re.findall(r"<table class=digits><caption>([^<]*)</caption>", hess)
    # One matrix per result × backend × mode × dtype: 2 blocks × 2 modes × 2 dtypes.
    assert len(captions) == 8
    assert "torch (reverse-over-reverse) float32" in captions
    jac = _section(page, "p-jac-p")
    matrices = re.findall(r"<table class=digits>.*?</table>", jac)
    assert len(matrices) == 8  # torch and jax, 2 modes, 2 dtypes; SymPy's skipped cell has none
    bad = next(m for m in matrices if "jax (forward) float32" in m)
    # output index down, input index across: the entry (1, 0) is row 1's first cell.
    body_rows = re.findall(r"<tr><th>(\d)(.*?)(?=<tr>|</tbody>)", bad)
    assert [r[0] for r in body_rows] == ["0", "1"]
    assert re.findall(r"<td[^>]*>([^<]*)", body_rows[1][1]) == ["2.0✗", "13.0"]
    assert "MATRIX_CSS" not in page and "table.digits" in page
    assert "<table class=digits>" not in _section(page, "p-grad-p")


def test_scaling_plot_of_an_operator_family_per_mode():
    rows = []
    for n in (2, 4, 8):
        for m in ("forward-over-reverse", "reverse-over-reverse"):
            rows.append(row(f"hsweep[n={n}]", "torch", "float64", "x", "0,0", 14.0, "agree", "hessian", m,
                            size=n, time_s=1e-5 * n, f_time_s=1e-6, cost_ratio=10.0 * n))  # fmt: skip
    page = render(pd.DataFrame(rows)[COLUMNS + EXTRA_COLUMNS], [])
    scaling = page[page.index("<h2 id='scaling'>") : page.index("<h2 id='index'>")]
    assert scaling.count("<svg") == 1
    assert "torch (forward-over-reverse) float64" in scaling and "torch (reverse-over-reverse) float64" in scaling
    assert "cost ratio: time of the Hessian / time of f" in scaling


def test_pytest_plugin_names_operator_and_mode(frame):
    from diffcompare.pytest_plugin import ProblemRowsFailed, failure_report, item_name

    jac = problem(JACOBIAN)
    assert item_name(jac) == "jac-p[jacobian]"
    assert item_name(problem({**JACOBIAN, "operator": "gradient", "function": "x[0] * x[1]"})) == "jac-p"
    rows = frame[frame["problem"] == "jac-p"]
    report = failure_report(ProblemRowsFailed(jac, rows, rows[rows["verdict"] == "disagree"]))
    assert "operator: jacobian, the Jacobian" in report
    assert re.search(r"^jax \(forward\)\s+float32\s+x\[1,0\]", report, re.M)


def test_explain_title_names_the_operator():
    from diffcompare.views.terminal import tape_title

    gradient = problem({**JACOBIAN, "operator": "gradient", "function": "x[0] * x[1]"})
    assert tape_title(gradient, "float64") == "jac-p: f = x[0] * x[1]  (float64)"
    title = tape_title(problem(JACOBIAN), "float32")
    assert title.startswith("jac-p: f = [x[0] * x[1], sin(x[0])]  (float32); operator jacobian")
    assert "seeded with 1 for each element of f" in title
    assert "seeded" not in tape_title(problem(HESSIAN), "float64")
