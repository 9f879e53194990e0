"""The piecewise-constant primitives (floor, ceil, round, trunc, sign, %) and the special
functions (atan2, hypot, cbrt, erfc, lgamma, gamma, digamma, exp2, logaddexp): value and
derivative in every backend against mpmath's, computed here from the closed forms
(independently of diffcompare), and the verdicts at the jumps: f is not continuous there,
so not differentiable, and every row says so."""

import mpmath
import numpy as np
import pandas as pd
import pytest

import diffcompare
from diffcompare.engine.chainrule import NUMPY_OPS, numpy_constant
from diffcompare.lang.primitives import PRIMITIVES, MissingPrimitive, SkipCell
from diffcompare.lang.program import Program
from diffcompare.spec.problem import build_problem

torch = pytest.importorskip("torch")
jnp = pytest.importorskip("jax.numpy")
from diffcompare.backends.jax_backend import JAX_OPS  # noqa: E402
from diffcompare.backends.torch_backend import TORCH_OPS  # noqa: E402

EXACT = ["sympy", "torch", "jax", "chainrule"]
ALL = [*EXACT, "central", "richardson", "complex_step"]
mp = mpmath.mp


def _mod(a, b):
    return a - b * mpmath.floor(a / b)


def _round_half_even(v):
    low = mpmath.floor(v)
    rest = v - low
    return low + 1 if rest > 0.5 else low if rest < 0.5 else low + (low % 2)


# name -> (function, point, the same function in mpmath)
CASES = {
    "atan2": ("atan2(y, x)", {"x": -0.7, "y": 1.2}, lambda x, y: mpmath.atan2(y, x)),
    "hypot": ("hypot(x, y)", {"x": 0.7, "y": -1.2}, lambda x, y: mpmath.hypot(x, y)),
    "cbrt": ("cbrt(x) * y", {"x": -2.7, "y": 1.5}, lambda x, y: -mpmath.cbrt(-x) * y),
    "erfc": ("erfc(x * y)", {"x": 0.8, "y": 1.5}, lambda x, y: mpmath.erfc(x * y)),
    "lgamma": (
        "lgamma(x) + lgamma(y)",
        {"x": 3.3, "y": -2.5},
        lambda x, y: mpmath.log(abs(mpmath.gamma(x))) + mpmath.log(abs(mpmath.gamma(y))),
    ),
    "gamma": ("gamma(x) * y", {"x": 2.3, "y": 0.5}, lambda x, y: mpmath.gamma(x) * y),
    "digamma": ("digamma(x) + y", {"x": 1.7, "y": 0.5}, lambda x, y: mpmath.psi(0, x) + y),
    "exp2": ("exp2(x * y)", {"x": 1.3, "y": 0.5}, lambda x, y: mpmath.power(2, x * y)),
    "logaddexp": ("logaddexp(x, y)", {"x": 0.7, "y": -1.2}, lambda x, y: mpmath.log(mpmath.exp(x) + mpmath.exp(y))),
    "floor": ("x * floor(y)", {"x": 0.7, "y": 2.5}, lambda x, y: x * mpmath.floor(y)),
    "ceil": ("x * ceil(y)", {"x": 0.7, "y": -2.5}, lambda x, y: x * mpmath.ceil(y)),
    "round": ("x * round(y)", {"x": 0.7, "y": 2.7}, lambda x, y: x * _round_half_even(y)),
    "trunc": ("x * trunc(y)", {"x": 0.7, "y": -2.7}, lambda x, y: x * mpmath.sign(y) * mpmath.floor(abs(y))),
    "sign": ("x * sign(y)", {"x": 0.7, "y": -2.7}, lambda x, y: x * mpmath.sign(y)),
    "mod": ("x % y", {"x": 7.3, "y": -2.0}, _mod),
    "mod-positive": ("x % y", {"x": -7.3, "y": 2.5}, _mod),
}
TORCH_MISSING = {"cbrt", "gamma"}
# torch's trigamma (digamma's derivative) is good to about 4e-10 at 1.7, inside the exact
# methods' √ε: `agree`, with fewer digits than the others.
LOOSER = {("digamma", "torch"): 1e-9}


def _truth(case):
    """(f, {variable: ∂f}) at the point by mpmath alone: the closed form and mpmath.diff."""
    _, point, fn = CASES[case]
    with mpmath.workdps(40):
        x, y = mpmath.mpf(point["x"]), mpmath.mpf(point["y"])
        return float(fn(x, y)), {
            "x": float(mpmath.diff(lambda t: fn(t, y), x)),
            "y": float(mpmath.diff(lambda t: fn(x, t), y)),
        }


def test_every_new_primitive_has_a_case():
    new = {"atan2", "hypot", "cbrt", "erfc", "lgamma", "gamma", "digamma", "exp2", "logaddexp"}
    new |= {"floor", "ceil", "round", "trunc", "sign", "mod"}
    assert new <= set(PRIMITIVES) and new <= set(CASES)


@pytest.mark.parametrize("case", list(CASES))
def test_f_in_every_library(case):
    function, point, _ = CASES[case]
    problem = build_problem({"function": function, "point": point}, "<test>", case)
    value, _ = _truth(case)
    root = problem.function
    got = {"numpy": Program(root, NUMPY_OPS, constant=numpy_constant("float64"))(problem.point)}
    got["jax"] = Program(root, JAX_OPS)({k: jnp.asarray(v, dtype="float64") for k, v in problem.point.items()})
    if case in TORCH_MISSING:
        with pytest.raises(MissingPrimitive, match="torch has no native"):
            Program(root, TORCH_OPS)
    else:
        got["torch"] = Program(root, TORCH_OPS)(
            {k: torch.tensor(v, dtype=torch.float64) for k, v in problem.point.items()}
        )
    for library, v in got.items():
        assert float(np.asarray(v)) == pytest.approx(value, rel=1e-14, abs=1e-300), library


@pytest.fixture(scope="module")
def rows():
    frames = [
        diffcompare.compare(function, point=point, backends=ALL, dtypes=["float64"], name=case)
        for case, (function, point, _) in CASES.items()
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.slow  # the fixture: every case through seven backends, about 8 s
@pytest.mark.parametrize("case", list(CASES))
def test_derivative_in_every_backend(rows, case):
    _, truth = _truth(case)
    got = rows[rows["problem"] == case]
    for _, row in got.iterrows():
        if row["backend"] == "torch" and case in TORCH_MISSING:
            assert row["verdict"] == "skipped" and "torch has no native" in row["message"]
            continue
        if row["backend"] == "complex_step" and case in (
            "floor",
            "ceil",
            "round",
            "trunc",
            "sign",
            "mod",
            "mod-positive",
        ):
            assert row["verdict"] == "skipped" and "non-analytic" in row["message"], row["message"]
            continue
        assert row["verdict"] == "agree", (row["backend"], row["variable"], row["message"])
        rel = 1e-13 if row["backend"] in EXACT or row["backend"] == "complex_step" else 1e-5
        rel = LOOSER.get((case, row["backend"]), rel)
        assert row["value"] == pytest.approx(truth[row["variable"]], rel=rel, abs=1e-12), row["backend"]


# --- jumps -----------------------------------------------------------------------------

JUMPS = {
    # name -> (function, point, {variable: the side that jumps, or None where f is continuous in it})
    "floor-at-2": ("floor(x)", {"x": 2.0}, {"x": "left"}),
    "ceil-at-minus-3": ("x * ceil(x)", {"x": -3.0}, {"x": "right"}),
    "round-half-even-2.5": ("round(x)", {"x": 2.5}, {"x": "right"}),  # round(2.5) = 2: it jumps going up
    "round-half-even-3.5": ("round(x)", {"x": 3.5}, {"x": "left"}),  # round(3.5) = 4: it jumps going down
    "trunc-at-1": ("trunc(x)", {"x": 1.0}, {"x": "left"}),
    "sign-at-0": ("sign(x)", {"x": 0.0}, {"x": "right"}),
    "mod-both": ("x % y", {"x": 6.0, "y": -2.0}, {"x": "right", "y": "right"}),
    "atan2-cut": ("atan2(y, x)", {"x": -0.7, "y": 0.0}, {"x": None, "y": "left"}),
}


@pytest.fixture(scope="module")
def jump_rows():
    frames = [
        diffcompare.compare(function, point=point, backends=["sympy", "torch", "chainrule", "central"], name=case)
        for case, (function, point, _) in JUMPS.items()
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("case", list(JUMPS))
def test_a_jump_is_not_differentiable_and_says_why(jump_rows, case):
    _, _, sides = JUMPS[case]
    got = jump_rows[jump_rows["problem"] == case]
    assert not got.empty
    for var, side in sides.items():
        mine = got[got["variable"] == var]
        if side is None:
            assert (mine["verdict"] == "agree").all(), mine[["backend", "verdict", "message"]].to_string()
            continue
        assert (mine["verdict"] == "undefined").all(), mine[["backend", "verdict", "message"]].to_string()
        for message in mine["message"]:
            assert f"its {side} derivative does not exist: f jumps by" in message, message
            assert "f is not continuous here" in message and "where it jumps" in message, message


def test_off_the_jump_every_backend_agrees_on_zero():
    got = diffcompare.compare("floor(x)", point={"x": 2.5}, backends=EXACT + ["central"], dtypes=["float64"])
    assert (got["verdict"] == "agree").all(), got[["backend", "message"]].to_string()
    assert (got["value"] == 0).all()


def test_jumps_that_cancel_leave_f_differentiable():
    got = diffcompare.compare("floor(x) - floor(x) + x", point={"x": 2.0}, backends=EXACT, dtypes=["float64"])
    assert (got["verdict"] == "agree").all(), got[["backend", "message"]].to_string()
    assert (got["value"] == 1).all()
    assert got["message"].str.contains("f is differentiable here").all()


def test_percent_is_mod_and_a_missing_primitive_is_a_skip():
    problem = build_problem({"function": "x % y", "point": {"x": 1.0, "y": 2.0}}, "<test>", "p")
    assert problem.function.op == "mod"
    assert issubclass(MissingPrimitive, SkipCell)


def test_torch_takes_a_number_beside_a_tensor_and_skips_what_it_cannot_differentiate():
    # The fuzz campaign of seed 15: torch.hypot/logaddexp/atan2 refuse a Python number (TypeError
    # in 82 problems), and torch.remainder has no derivative in its divisor (RuntimeError).
    frame = diffcompare.compare(
        "hypot(x, 0.01) + logaddexp(0.3, x) + atan2(x, 2) + atan2(0.5, x)", {"x": 0.7}, backends=["torch"]
    )
    assert set(frame["verdict"]) == {"agree"}, frame["message"].tolist()
    frame = diffcompare.compare("2.5 % x + x", {"x": 1.415}, backends=["torch", "jax"])
    torch_rows = frame[frame["backend"] == "torch"]
    assert set(torch_rows["verdict"]) == {"skipped"}
    assert all("derivative for aten::remainder is not implemented" in m for m in torch_rows["message"])
    assert set(frame[frame["backend"] == "jax"]["verdict"]) == {"agree"}
