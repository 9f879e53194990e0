"""Every backend against the exact values of the seed problems, computed
independently of the reference, and the verdicts the defaults must give."""

import math

import numpy as np
import pytest

EXACT_BACKENDS = ["sympy", "torch", "jax", "chainrule", "manual"]

# (problem, variable) -> exact gradient at the float64 point, from the issue.
TRUTH = {
    ("saturated-sigmoid", "w"): 2.0262664878550168e-13,
    ("saturated-sigmoid", "x"): 2.0262664878550168e-13,
    ("saturated-sigmoid", "b"): -0.59259259259259259,
    ("chain-two-steps", "x"): 14.0,
    ("shifted-square", "x"): -2.0,
    ("square-plus-five", "x"): 4.0,
    ("square", "x"): 6.0,
    ("sigmoid-by-hand", "x"): 0.10499358540350652,
    ("polynomial", "x"): 326.0,
    ("polynomial-steps", "x"): 326.0,
    ("relu-linear", "w"): 1.0,
    ("relu-linear", "x"): 2.0,
    ("relu-linear", "b"): 1.0,
    ("relu-linear-2", "w"): 3.0,
    ("relu-linear-2", "x"): 4.0,
    ("relu-linear-2", "b"): 1.0,
    ("sin-x-squared", "x"): -7.6612758425870771,
    ("sin-x-squared-at-3", "x"): -5.4667815713080619,
    ("logistic-bce", "w"): 6.6917630292374415,
    ("logistic-bce", "b"): 0.99877060137872258,
    ("two-paths", "a"): 64.0,
    ("two-paths", "b"): 249.0,
    ("sigmoid-linear", "w"): 0.0018204423602436530,
    ("sigmoid-linear", "x"): 0.0027306635403654795,
    ("sigmoid-linear", "b"): 0.00091022118012182652,
    ("exp-of-polynomial", "x"): -1.7846567076512123,
    ("tanh-log-chain", "x"): 0.22293625209630967,
    ("tanh-log-chain", "y"): 0.10202845991264522,
    ("tanh-log-chain", "z"): 0.22293625209630967,
}
MEAN_OF_SQUARES = [0.66666666666666667, 1.3333333333333333, 2.0]
SATURATED = "saturated-sigmoid"
SEEDS = {problem for problem, _ in TRUTH} | {"mean-of-squares"}


@pytest.fixture(scope="module")
def seed_rows(seed_results):
    """Only the seed problems: problems/ also holds the accuracy issue's hard cases."""
    return seed_results[seed_results["problem"].isin(SEEDS)]


def rows(frame, **where):
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= frame[column] == value
    return frame[mask]


def test_reference_matches_the_independent_exact_values(seed_results):
    for (problem, var), truth in TRUTH.items():
        ref = rows(seed_results, problem=problem, variable=var, backend="sympy")["reference"]
        assert len(ref) == 1, (problem, var)
        assert ref.iloc[0] == pytest.approx(truth, rel=1e-15, abs=0), (problem, var)
    ref = rows(seed_results, problem="mean-of-squares", backend="sympy").sort_values("index")["reference"]
    assert list(ref) == pytest.approx(MEAN_OF_SQUARES, rel=1e-15)


@pytest.mark.parametrize("backend", ["sympy", "torch", "jax", "chainrule", "central"])
def test_each_backend_float64_against_the_exact_values(seed_results, backend):
    for (problem, var), truth in TRUTH.items():
        got = rows(seed_results, problem=problem, variable=var, backend=backend, dtype="float64")
        assert len(got) == 1, (problem, var)
        value = got["value"].iloc[0]
        if backend == "central":
            bound = got["tolerance"].iloc[0]
            assert abs(value - truth) <= bound, (problem, var, value, truth, bound)
        elif problem == SATURATED and var in "wx" and backend != "sympy":
            # σ(1-σ) cancels at u = 32: 2.02505e-13 against 2.02627e-13 (measured, torch 2.13)
            assert value == pytest.approx(truth, rel=1e-3) and abs(value - truth) / truth > 1e-4
        else:
            assert value == pytest.approx(truth, rel=1e-12, abs=0), (problem, var, value, truth)
    got = rows(seed_results, problem="mean-of-squares", backend=backend, dtype="float64").sort_values("index")
    assert list(got["index"]) == ["0", "1", "2"]
    assert list(got["value"]) == pytest.approx(MEAN_OF_SQUARES, rel=1e-9)


def test_every_float64_exact_row_agrees_but_the_saturated_sigmoid(seed_rows):
    seed_results = seed_rows
    exact = seed_results[seed_results["backend"].isin(EXACT_BACKENDS) & (seed_results["dtype"] == "float64")]
    saturated = (exact["problem"] == SATURATED) & exact["variable"].isin(["w", "x"]) & (exact["backend"] != "sympy")
    assert (exact[~saturated]["verdict"] == "agree").all()
    lost = exact[saturated]
    assert set(lost["backend"]) == {"torch", "jax", "chainrule"}
    assert (lost["verdict"] == "disagree").all()
    assert lost["message"].str.contains("σ\\(1-σ\\) cancels").all()


def test_every_central_float64_row_agrees(seed_rows):
    seed_results = seed_rows
    central = rows(seed_results, backend="central", dtype="float64")
    assert len(central) > 20 and (central["verdict"] == "agree").all()


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_saturated_sigmoid_float32_is_a_wrong_gradient(seed_results, backend):
    got = rows(seed_results, problem=SATURATED, backend=backend, dtype="float32")
    by_var = {r["variable"]: r for _, r in got.iterrows()}
    for var in "wx":
        assert by_var[var]["value"] == 0.0
        assert by_var[var]["rel_error"] == 1.0 and by_var[var]["digits"] == 0.0
        assert by_var[var]["verdict"] == "disagree"
        assert "the gradient is 0, but the true value is 2.0263e-13" in by_var[var]["message"]
        assert "rounds to exactly 1" in by_var[var]["message"]
    assert by_var["b"]["verdict"] == "agree"


def test_float32_rows_of_a_merely_steep_sigmoid_agree(seed_results):
    # σ(7) in float32 carries about 6e-5 relative error in σ(1-σ): a float32 effect, not a wrong gradient.
    got = rows(seed_results, problem="sigmoid-linear", dtype="float32")
    exact = got[got["backend"].isin(EXACT_BACKENDS)]
    assert (exact["verdict"] == "agree").all()
    assert exact["rel_error"].max() > 1e-5


def test_manual_rows(seed_results):
    manual = rows(seed_results, backend="manual")
    # only the variables a problem gives a hand derivation for
    assert set(rows(manual, problem="logistic-bce")["variable"]) == {"w", "b"}
    assert set(rows(manual, problem="tanh-log-chain")["variable"]) == {"y"}
    assert rows(manual, problem="sin-x-squared-at-3").empty
    hand_dy = rows(manual, problem="tanh-log-chain", dtype="float64")["value"].iloc[0]
    assert hand_dy == pytest.approx(TRUTH[("tanh-log-chain", "y")], rel=1e-14)
    assert (rows(manual, dtype="float64")["verdict"] == "agree").all()
    assert set(manual["dtype"]) == {"float32", "float64"}


def test_expected_rows_are_judged_at_their_written_precision(seed_results):
    expected = rows(seed_results, backend="expected")
    assert set(expected["dtype"]) == {"decimal"}

    def verdict(problem, var):
        return rows(expected, problem=problem, variable=var)["verdict"].iloc[0]

    assert verdict("logistic-bce", "w") == "agree"  # 6.6918 against 6.69176…
    assert verdict("tanh-log-chain", "x") == "agree"  # x.grad printed 0.2229
    assert verdict("tanh-log-chain", "y") == "agree"  # the hand df/dy printed 0.1020
    assert verdict(SATURATED, "w") == "disagree"  # the notebook's 0.0
    message = rows(expected, problem=SATURATED, variable="b")["message"].iloc[0]
    assert "computed in float32" in message


def test_columns_and_digits(seed_rows):
    seed_results = seed_rows
    from diffcompare.running.columns import COLUMNS

    assert list(seed_results.columns[: len(COLUMNS)]) == COLUMNS
    judged = seed_results[seed_results["verdict"].isin(["agree", "disagree"])]
    assert judged["digits"].between(0, 17).all()
    assert set(seed_results[~seed_results.index.isin(judged.index)]["verdict"]) == {
        "skipped"
    }  # complex step on clamp, relu
    scalar = rows(seed_results, problem="square")
    assert (scalar["index"] == "").all()
    timed = judged[
        judged["backend"].isin(["sympy", "torch", "jax", "chainrule", "central", "richardson", "complex_step"])
    ]
    assert (timed["time_s"] > 0).all() and timed["time_s"].map(math.isfinite).all()
