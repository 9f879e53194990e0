"""Expression swell in the report and in benchmarks/swell.py: for a sweep family, report.html
draws the symbolic backends' derivative size (expr_ops, and after CSE) and setup time against
the sweep's parameter, a line per backend that reports a size; the logistic map of Baydin et al.
(2018, Table 1) is a family of benchmarks/scaling/, and the benchmark's rows are the numbers
worked out here by hand."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import write

import diffcompare
from diffcompare.spec.files import load_file
from diffcompare.spec.safeyaml import documents
from diffcompare.views.html_report import render, sweep_parameter

ROOT = Path(__file__).resolve().parent.parent
# Last, not first: benchmarks/distributed.py must not hide Dask's distributed package, here or in the
# processes a LocalCluster spawns with this sys.path (tests/test_cluster.py, in the same xdist worker).
sys.path.append(str(ROOT / "benchmarks"))

import swell  # noqa: E402  (a script, not a package)

SYMBOLIC = [b for b in ("sympy", "symengine", "casadi") if b == "sympy" or importlib.util.find_spec(b) is not None]
# sum(sin(x)**2) over n elements: ∂/∂xᵢ = 2 sin(xᵢ) cos(xᵢ)
FAMILY = "name: sines\nfunction: sum(sin(x)**2)\npoint: {x: {shape: [n], fill: 0.5}}\nsweep: {n: [1, 2, 4]}\ndtypes: [float64]\n"


def swell_svg(page: str) -> str:
    """The swell figure of the page's scaling section (its title names the derivative's size)."""
    scaling = page[page.index("<h2 id='scaling'>") : page.index("<h2 id='index'>")]
    figures = [s for s in re.findall(r"<svg.*?</svg>", scaling, flags=re.S) if "size of the derivative" in s]
    assert len(figures) == 1
    return figures[0]


def legend(svg: str) -> list[str]:
    """The texts of the figure (svg.fonttype none: text stays text), one per label drawn."""
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_a_sweep_gets_the_swell_figure_with_a_line_per_symbolic_backend(tmp_path):
    path = write(tmp_path, "sines.yaml", FAMILY)
    frame = diffcompare.run(path, backends=[*SYMBOLIC, "chainrule"], dtypes=["float64"])
    rows = frame[frame["backend"] == "sympy"].drop_duplicates("problem")
    # d/dxᵢ sin(xᵢ)² = 2·sin(xᵢ)·cos(xᵢ): two products, a sine and a cosine per element
    assert rows["expr_ops"].tolist() == [4.0, 8.0, 16.0]
    assert (frame["verdict"] == "agree").all()
    page = render(frame, [], load_file(path)[0])
    texts = legend(swell_svg(page))
    assert "sines: size of the derivative (dashed: after CSE)" in texts
    assert "sines: setup (differentiate, build, first call)" in texts
    assert texts.count("n") == 2  # the sweep's parameter on both x axes
    labels = [t for t in texts if t.split(" ")[0] in ("sympy", "symengine", "casadi", "chainrule")]
    drawn = {label.split(" ")[0] for label in labels}
    assert drawn == set(SYMBOLIC)  # chainrule reports no size: not drawn here (it is in the time plot)
    # One setup line per backend (and mode: casadi's reverse and forward each), one size line, and
    # a CSE line where the backend counts one (sympy, symengine; casadi's graph is shared already).
    setup_lines = [t for t in labels if "after CSE" not in t]
    assert len(setup_lines) == 2 * (len(SYMBOLIC) + ("casadi" in SYMBOLIC))
    assert sorted(t.removesuffix(" after CSE") for t in labels if "after CSE" in t) == sorted(
        t for t in set(setup_lines) if not t.startswith("casadi")
    )


def test_without_a_size_or_a_varying_parameter_there_is_no_swell_figure(tmp_path):
    path = write(tmp_path, "sines.yaml", FAMILY)
    frame = diffcompare.run(path, backends=["chainrule"], dtypes=["float64"])
    page = render(frame, [], load_file(path)[0])
    assert "<h2 id='scaling'>" in page and "size of the derivative" not in page  # the time plot alone


def test_the_sweep_parameter_is_read_from_the_members_names():
    def read(*params):
        found = sweep_parameter(pd.Series(params))
        return found and (found[0], found[1].tolist())

    assert read("n=10", "n=100") == ("n", [10.0, 100.0])
    assert read("k=3,m=2", "k=4,m=2") == ("k", [3.0, 4.0])  # the one that varies
    assert read("k=3,m=2", "k=4,m=3") is None  # two vary: no single line
    assert read("n=1", "n=1") is None
    assert read("n=a", "n=b") is None
    assert read("h=0.5", "h=1e-05") == ("h", [0.5, 1e-05])


def test_the_logistic_map_family_is_the_benchmarks_problems():
    path = ROOT / "benchmarks" / "scaling" / "logistic_map.yaml"
    problems, errors = load_file(path)
    assert errors == []
    assert [p.name for p in problems] == [f"logistic-map[n={n}]" for n in range(1, 15)]
    written = [d.value for d in documents(path.read_text(encoding="utf-8"))]
    for n, document in enumerate(written, start=1):
        expected = swell.logistic_document(n)
        assert {k: document.get(k, {}) for k in expected} == expected


def test_the_benchmarks_logistic_rows_against_baydins_table():
    # d lₙ/dx at x = 0.3 from Baydin et al.'s simplified column: 1; 4 - 8x; 16(1 - 10x + 24x² - 16x³)
    x = 0.3
    exact = [1.0, 4 - 8 * x, 16 * (1 - 10 * x + 24 * x**2 - 16 * x**3)]
    cells = swell.logistic_rows(3, SYMBOLIC)
    for backend in SYMBOLIC:
        rows = cells[cells["backend"] == backend]
        assert (rows["verdict"] == "agree").all(), rows[["problem", "verdict", "message"]]
        for mode in rows["mode"].unique():
            values = rows.loc[rows["mode"] == mode, "value"].tolist()
            assert values == pytest.approx(exact, rel=1e-13, abs=0)
    if "casadi" in SYMBOLIC:  # the reverse gradient on casadi.MX, built by the benchmark beside the rows
        mx = cells[cells["backend"] == swell.MX]
        assert mx["value"].tolist() == pytest.approx(exact, rel=1e-13, abs=0)
        assert mx["problem"].tolist() == [f"logistic-map[n={n}]" for n in (1, 2, 3)] and (mx["expr_ops"] > 0).all()
    sympy_rows = cells[cells["backend"] == "sympy"]
    # l₃' = 4·l₂'·(1 - l₂) - 4·l₂·l₂' with l₂ = 4x(1 - x) written out: SymPy's 21 operations
    assert sympy_rows["expr_ops"].tolist() == [0.0, 2.0, 21.0]
    lines, skipped = swell.table(cells, [(f"logistic-map[n={n}]", str(n)) for n in (1, 2, 3)], swell.SIZE_COLUMNS, "n")
    assert lines[2].startswith("| 1 | 0 | 0 |") and lines[4].startswith("| 3 | 21 | 12 |") and skipped == {}


def test_the_benchmark_prints_its_tables_and_puts_sympys_limit_back(capsys):
    from diffcompare.exact import symbolic

    limit = symbolic.MAX_TREE_OPS
    assert swell.main(["--depth", "3", "--no-families", "--simplified-depth", "4"]) == 0
    out = capsys.readouterr().out
    assert symbolic.MAX_TREE_OPS == limit
    assert "| n | sympy expr_ops | sympy expr_ops_cse |" in out and "\n| 3 | 21 | 12 |" in out
    assert "n = 4: -131072*x**7" in out and "(same)" in out and "DIFFERENT" not in out
    # Baydin's simplified column written out: 2ⁿ⁻¹ terms, 3·2ⁿ⁻¹ - 4 operations
    assert "1: 0 (1 term), 2: 2 (2 terms), 3: 8 (4 terms), 4: 20 (8 terms)" in out
