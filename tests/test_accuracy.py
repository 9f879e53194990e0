"""Judgement a numerical analyst would sign: kinks, undefined points, non-finite
values, the written-precision rule, the reference's precision escalation, and
the finite-difference methods' own error estimates."""

import importlib.util
import math
import statistics
import subprocess
import sys

import mpmath
import numpy as np
import pandas as pd
import pytest
from conftest import PROBLEMS, ROOT

import diffcompare
from diffcompare.backends import BUILTIN
from diffcompare.exact.truth import truth_of
from diffcompare.running.verdicts import judge

NUMERIC = ["sympy", "torch", "jax", "chainrule", "central", "richardson", "complex_step"]
CELLS = [(b, d) for b in NUMERIC for d in ("float32", "float64") if not (b == "sympy" and d == "float32")]


def expect(default, **overrides):
    """Verdict per (backend, dtype): overrides keyed 'backend' or 'backend_dtype'."""
    table = {}
    for backend, dtype in CELLS:
        table[(backend, dtype)] = overrides.get(f"{backend}_{dtype}", overrides.get(backend, default))
    return table


KINK = expect("kink", complex_step="skipped")
FLOAT32_OVERFLOW = {cell: ("disagree" if cell[1] == "float32" else "agree") for cell in CELLS}
VERDICTS = {
    ("relu-at-kink", "x"): KINK,
    ("relu-at-kink", "y"): expect("agree", complex_step="skipped"),
    ("abs-at-kink", "x"): KINK,
    ("max-tie", "x"): KINK,
    ("max-tie", "y"): KINK,
    ("clamp-at-bound", "x"): KINK,
    ("log-at-zero", "x"): expect("undefined"),
    ("sqrt-at-zero", "x"): expect("undefined"),
    ("softplus-naive-large", "x"): expect("disagree"),
    ("softplus-stable-large", "x"): expect("agree", sympy="disagree"),
    ("logsumexp-naive-large", "v"): expect("disagree"),
    # The textbook central difference in float32 at |x| = 1000: its error exceeds its own bound.
    ("logsumexp-stable-large", "v"): expect("agree", sympy="disagree", central_float32="disagree"),
    ("one-minus-cos", "x"): expect("agree"),
    ("exp-overflow-float32", "x"): FLOAT32_OVERFLOW,
    ("zero-derivative", "x"): expect("agree"),
    # found by the fuzzer: expm1's derivative rule expm1(u) + 1 cancels near -1 in float32
    ("expm1-near-minus-one", "x"): expect(
        "agree", torch_float32="disagree", jax_float32="disagree", chainrule_float32="disagree"
    ),
    # float32 rounds a true 4e-124 to 0, correctly; complex step's h·f' underflows in float64
    ("erf-underflow-float32", "x"): expect("agree", complex_step_float64="disagree"),
}


@pytest.mark.parametrize("problem, variable", list(VERDICTS))
def test_verdict_of_every_row(seed_results, problem, variable):
    got = seed_results[(seed_results["problem"] == problem) & (seed_results["variable"] == variable)]
    assert not got.empty
    for (backend, dtype), verdict in VERDICTS[(problem, variable)].items():
        cell = got[(got["backend"] == backend) & (got["dtype"] == dtype)]
        assert len(cell) > 0, (backend, dtype)
        assert set(cell["verdict"]) == {verdict}, (backend, dtype, cell[["index", "value", "message"]].to_string())


def rows(frame, problem, **where):
    out = frame[frame["problem"] == problem]
    for column, value in where.items():
        out = out[out[column] == value]
    return out


def test_kink_rows_show_both_sides_and_which_one_each_backend_returned(seed_results):
    relu = rows(seed_results, "relu-at-kink", variable="x", verdict="kink")
    # every backend but symengine (no rule for relu) and complex_step (skipped): casadi and
    # tensorflow in two modes each
    assert len(relu) == 19 and relu["message"].str.contains("left derivative 0, right derivative 1").all()
    torch = rows(relu, "relu-at-kink", backend="torch", dtype="float64")
    assert torch["value"].iloc[0] == 0 and "this value is the left derivative" in torch["message"].iloc[0]
    central = rows(relu, "relu-at-kink", backend="central", dtype="float64")
    assert "a value between them" in central["message"].iloc[0]
    clamp = rows(seed_results, "clamp-at-bound", backend="chainrule", dtype="float64")
    assert "left derivative 1, right derivative 0" in clamp["message"].iloc[0]
    assert (
        rows(seed_results, "abs-at-kink", verdict="kink")["message"]
        .str.contains("left derivative -1, right derivative 1")
        .all()
    )


def test_undefined_rows_name_the_failing_step(seed_results):
    log = rows(seed_results, "log-at-zero")
    assert log["message"].str.startswith("f is not finite at this point: log(x) is infinite").all()
    sqrt = rows(seed_results, "sqrt-at-zero")
    # Judged on f: its right derivative is infinite; the step where the chain rule breaks is named too.
    assert sqrt["message"].str.startswith("f is not differentiable in x here: its right derivative is infinite").all()
    assert sqrt["message"].str.contains("the chain rule breaks: the derivative of sqrt\\(x\\) in x is infinite").all()
    assert not (seed_results["verdict"] == "error").any()


def test_non_finite_values_are_disagreements_with_that_message(seed_results):
    naive = rows(seed_results, "softplus-naive-large", backend="torch")
    assert naive["message"].str.startswith("non-finite value").all()
    assert "exp overflows" in naive["message"].iloc[0]


def test_expected_values_are_judged_at_their_written_precision():
    truth = mpmath.mpf("6.6917630292374415")
    assert judge(6.6918, truth, method="given", dtype="decimal", bound=0.00005).verdict == "agree"
    assert judge(6.6919, truth, method="given", dtype="decimal", bound=0.00005).verdict == "disagree"
    frame = diffcompare.compare(
        "sin(x**2)", point={"x": 4.0}, backends=["expected"], expected={"x": -7.6613}
    )  # -7.66127584…
    assert frame["verdict"].iloc[0] == "agree"
    frame = diffcompare.compare("sin(x**2)", point={"x": 4.0}, backends=["expected"], expected={"x": -7.6612})
    assert frame["verdict"].iloc[0] == "disagree"


def test_reference_precision_is_raised_until_two_precisions_agree():
    # ∂/∂x [exp(x) - x - x²/2] = exp(x) - 1 - x ≈ x²/2 = 5e-21 at x = 1e-10: at 30
    # digits the subtraction leaves about 10 of them, so the precision must rise.
    from diffcompare.spec.problem import build_problem

    problem = build_problem({"function": "exp(x) - x - x**2 / 2", "point": {"x": 1e-10}}, "f", "p")
    reference = truth_of(problem).reference
    assert reference.escalations >= 1 and reference.digits > 50
    with mpmath.workdps(200):
        x = mpmath.mpf(1e-10)
        truth = mpmath.exp(x) - 1 - x
        assert abs(reference.gradient["x"][()] - truth) < mpmath.mpf(10) ** -40 * abs(truth)


def test_ulps_are_the_error_in_units_of_the_last_place(seed_results):
    judged = seed_results[
        seed_results["dtype"].isin(["float32", "float64"]) & seed_results["verdict"].isin(["agree", "disagree"])
    ]
    judged = judged[np.isfinite(judged["value"]) & (judged["reference"] != 0)]
    for _, r in judged.sample(40, random_state=0).iterrows():
        spacing = float(np.spacing(np.asarray(abs(r["reference"]), dtype=r["dtype"])))
        assert r["ulps"] == pytest.approx(r["abs_error"] / spacing, rel=1e-9)
    saturated = rows(seed_results, "saturated-sigmoid", backend="torch", dtype="float64", variable="w")
    assert saturated["ulps"].iloc[0] > 1e12  # 6e-4 relative is about 2.4e12 units in the last place


def smooth_seed_rows(frame, backend):
    seeds = frame[frame["file"].map(lambda f: "\nsource: seeds/" in open(f, encoding="utf-8").read())]
    out = seeds[(seeds["backend"] == backend) & (seeds["verdict"] != "skipped")]
    return out[out["problem"].map(lambda p: not p.startswith("relu"))]


def test_richardson_error_estimate_bounds_its_true_error_on_the_seed_problems(seed_results):
    got = smooth_seed_rows(seed_results, "richardson")
    assert len(got) > 40
    assert (got["abs_error"] <= got["error_estimate"]).all()
    assert (got["verdict"] == "agree").all()


def test_complex_step_reaches_15_digits_on_the_smooth_seed_problems_in_float64(seed_results):
    got = smooth_seed_rows(seed_results, "complex_step")
    got = got[got["dtype"] == "float64"]
    assert len(got) > 15
    assert got["digits"].min() >= 15, got.sort_values("digits")[["problem", "digits"]].head().to_string()


def test_complex_step_is_skipped_for_a_non_analytic_function(seed_results):
    got = rows(seed_results, "logistic-bce", backend="complex_step")
    assert set(got["verdict"]) == {"skipped"}
    assert got["message"].str.contains("non-analytic primitive 'clamp'").all()


def test_richardson_matches_or_beats_numdifftools_median_digits_in_float64():
    pytest.importorskip("numdifftools")
    spec = importlib.util.spec_from_file_location("accuracy", ROOT / "benchmarks" / "accuracy_numdifftools.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.compare([str(PROBLEMS)])
    ours = statistics.median(p[0] for r in results for p in r["all"])
    peer = statistics.median(p[1] for r in results for p in r["all"])
    assert len(results) >= 15
    assert ours >= peer, (ours, peer)


def test_problem_tolerance_replaces_the_default_rule():
    loose = diffcompare.compare("sin(x)", point={"x": 1.0}, backends=["chainrule"], dtypes=["float32"])
    assert (loose["verdict"] == "agree").all()
    strict = diffcompare.compare(
        "sin(x)", point={"x": 1.0}, backends=["chainrule"], dtypes=["float32"], tolerance={"rtol": 1e-12}
    )
    assert (strict["verdict"] == "disagree").all() and strict["message"].str.contains("rtol").all()


@pytest.mark.slow
def test_sweep_writes_the_v(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "diffcompare", "sweep", "problems/sin_x_squared.yaml", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(tmp_path / "sweep-sin-x-squared-x.csv")
    assert len(frame) == 16 * 3 * 2
    assert (tmp_path / "sweep-sin-x-squared-x.png").stat().st_size > 10_000
    for method, best_h in (("forward", 1e-8), ("central", 1e-5)):
        curve = frame[(frame["method"] == method) & (frame["dtype"] == "float64")].set_index("h")["rel_error"]
        curve = curve[np.isfinite(curve)]
        bottom = curve.idxmin()
        # the V: falls from h = 0.1 to a bottom near its optimal step, then rises again
        assert curve[0.1] > 1e3 * curve.min() and curve[curve.index.min()] > 1e3 * curve.min()
        assert best_h / 1e3 <= bottom <= best_h * 1e3, (method, bottom)
    complex_step = frame[(frame["method"] == "complex_step") & (frame["dtype"] == "float64")]
    assert complex_step[complex_step["h"] <= 1e-9]["rel_error"].max() < 1e-15


def test_every_builtin_backend_is_in_the_seed_run(seed_results):
    assert set(seed_results["backend"]) == set(BUILTIN)
    assert math.isfinite(seed_results["time_s"].dropna().median())


def test_an_expected_value_is_judged_as_written_not_as_float64_rounds_it(tmp_path):
    """17 digits are 17 digits: -87.999999999999979 is the true ∂f/∂y = -87.99999999999997868…
    rounded as written (its float64 is 7.1e-15 off), and 480.00000000000000 is not the true
    479.99999999999998224… (repr reads it as 480.0, which would judge it at ±0.05)."""
    path = tmp_path / "written.yaml"
    path.write_text(
        "name: seventeen-digits\nfunction: 100 * (y - x ** 2) ** 2\npoint: {x: -1.2, y: 1.0}\nwrt: [y]\n"
        "expected: {y: -87.999999999999979}\n---\n"
        "name: wrong-in-the-seventeenth\nfunction: 200 * (1 - x ** 2)\npoint: {x: -1.2}\n"
        "expected: {x: 480.00000000000000}\n---\n"
        "name: a-float32-in-full\nfunction: 0.1 * x\npoint: {x: 2.0}\nexpected: {x: 0.10000000149011612}\n",
        encoding="utf-8",
    )
    frame = diffcompare.run(path, backends=["expected"]).set_index("problem")
    assert frame.loc["seventeen-digits", "verdict"] == "agree"
    assert frame.loc["wrong-in-the-seventeenth", "verdict"] == "disagree"
    assert "float32" not in frame.loc["wrong-in-the-seventeenth", "message"]  # 480 is short: no float32 hint
    assert frame.loc["a-float32-in-full", "verdict"] == "disagree"
    assert "likely computed in float32" in frame.loc["a-float32-in-full", "message"]
