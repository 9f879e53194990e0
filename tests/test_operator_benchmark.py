"""benchmarks/operator_cost.py (the m × n crossover and the Hessian's cost) at tiny sizes.

Times are never asserted (the machines are shared and noisy): what is checked is that the
script runs, prints its tables, skips a backend without the modes with its reason, writes
its figures, that the problems it times compute the Jacobian they claim (against the
closed form written here), and that its reading of numbers (slopes, crossover, the HVP a
Hessian is set against) is right on numbers made up for the purpose.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from diffcompare.backends import timing
from diffcompare.backends.chainrule import ChainRuleBackend
from diffcompare.backends.registry import load
from diffcompare.spec.problem import build_problems

ROOT = Path(__file__).resolve().parent.parent
# Last, not first: benchmarks/distributed.py must not hide Dask's distributed package, here or in the
# processes a LocalCluster spawns with this sys.path (tests/test_cluster.py, in the same xdist worker).
sys.path.append(str(ROOT / "benchmarks"))

import operator_cost  # noqa: E402  (a script beside its helpers, not a package)
import operator_reading  # noqa: E402


def cell(*times: float) -> operator_reading.Cell:
    return operator_reading.Cell(list(times), [t / 1e-6 for t in times])


def test_the_quick_run_prints_the_grid_and_skips_chainrule_hessian_with_its_reason(tmp_path, capsys):
    before = timing.settings()
    assert operator_cost.main(["--quick", "--backends", "chainrule", "--png-dir", str(tmp_path)]) == 0
    assert timing.settings() == before  # the quick run's repeat and budget are not left to later tests
    out = capsys.readouterr().out
    assert "time(forward) / time(reverse), median of 1 side-by-side round(s)" in out
    assert "| m \\ n | 1 | 4 |" in out
    assert "| forward | n (m = 4) |" in out and "| reverse | m (n = 4) |" in out
    assert "skipped: the chain-rule engine is first order" in out
    assert (tmp_path / "operator-jacobian-crossover.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "operator-hessian-cost.png").exists()  # no backend had a Hessian


def test_the_grid_problem_is_the_tanh_layer_whose_jacobian_is_timed():
    """J = diag(1 - tanh²(W x / √n)) W / √n, from the problem's own W and x, in both modes."""
    template = operator_cost.documents(operator_cost.JACOBIAN_FILE)[0]
    problem = operator_cost.members(template, operator_cost.JACOBIAN_FILE, {"m": [3], "n": [5]})[3, 5]
    W, x = problem.point["W"], problem.point["x"]
    assert W.shape == (3, 5) and problem.wrt == ["x"]
    expected = (1 - np.tanh(W @ x / np.sqrt(5)) ** 2)[:, None] * W / np.sqrt(5)
    for mode in ("forward", "reverse"):
        got = ChainRuleBackend().compute(problem, "float64", mode).values["x"]
        np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_the_sweep_files_load_with_their_own_sweeps():
    for path in sorted((ROOT / "benchmarks" / "operators").glob("*.yaml")):
        for document in operator_cost.documents(path):
            problems, errors = build_problems(document, str(path), document["name"])
            assert errors == [] and len({p.size for p in problems}) == len(problems) > 1, path


def test_slope_and_crossover_of_made_up_numbers():
    sizes = [1, 4, 16]
    assert operator_reading.slope(sizes, [3 * n for n in sizes]) == pytest.approx(1.0)
    assert operator_reading.slope(sizes, [2.0, 2.0, 2.0]) == pytest.approx(0.0, abs=1e-12)
    # 0.5 at n = 1 and 2 at n = 4: the log-log line crosses 1 at their geometric middle, 2
    assert operator_reading.crossover([1, 4], [0.5, 2.0]) == "≈ 2 (between 1 and 4)"
    assert operator_reading.crossover(sizes, [0.5, 0.4, 0.3]).endswith("forward faster throughout")
    assert operator_reading.crossover(sizes, [2.0, 3.0, 9.0]).endswith("reverse faster throughout")
    assert "crosses 1 1 more time(s)" in operator_reading.crossover(sizes, [0.5, 2.0, 0.5])


def test_ratio_is_the_median_of_the_rounds_ratios():
    # rounds measured side by side: (2/1, 9/3, 4/1) -> median 3, not 5/1.67 of the medians
    assert operator_reading.ratio(cell(2, 9, 4), cell(1, 3, 1)) == pytest.approx(3.0)
    assert operator_reading.ratio(cell(8.0), cell(1.0), scale=4) == pytest.approx(2.0)


def test_a_hessian_is_set_against_the_hvp_of_its_own_mode_or_the_fastest():
    costs = {
        2: {
            ("hessian", "forward-over-reverse"): cell(4.0),
            ("hessian", "reverse-over-forward"): cell(4.0),
            ("hvp", "forward-over-reverse"): cell(2.0),
            ("hvp", "reverse-over-reverse"): cell(1.0),
            ("gradient", "reverse"): cell(1.0),
        }
    }
    assert operator_reading.hessian_pairs(costs) == [
        ("forward-over-reverse", "forward-over-reverse", "reverse"),
        ("reverse-over-forward", "reverse-over-reverse", "reverse"),
    ]
    report = operator_reading.hessian_report("made-up", costs, "")
    assert "| H fwd-rev / (n × HVP fwd-rev) | H fwd-rev / (n × grad) |" in report
    assert "| 2 | 1 | 2 | 2 | 2 |" in report  # 4 / (2 × 2), 4 / (2 × 1), 4 / (2 × 1), 4 / (2 × 1)


@pytest.mark.slow
def test_the_script_runs_every_backend_at_tiny_sizes(tmp_path):
    """As BENCHMARKS.md runs it (another process): a section per backend and per measurement,
    tables where the backend has the modes and its reason where not, the figures of what ran."""
    script = ROOT / "benchmarks" / "operator_cost.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--png-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    sections = done.stdout.split("### ")[1:]
    assert len(sections) == 2 * len(operator_cost.BACKENDS)
    for section in sections:
        assert ("| m \\ n | 1 | 4 |" in section or "| n | hessian" in section) != ("skipped: " in section), section
    hessian = next(
        iter(
            operator_cost.members(
                operator_cost.documents(operator_cost.HESSIAN_FILE)[0], operator_cost.HESSIAN_FILE, {"n": [2]}
            ).values()
        )
    )
    second_order = [name for name in operator_cost.BACKENDS if operator_cost.usable_modes(load(name), hessian)[0]]
    expected = {"operator-jacobian-crossover.png"} | ({"operator-hessian-cost.png"} if second_order else set())
    assert {p.name for p in tmp_path.glob("*.png")} == expected
