"""Operators past the gradient (issue 17) in the numeric and symbolic backends: central,
richardson, complex_step, sympy, manual and expected, each called directly, against
derivatives written out by hand here (NumPy on closed forms, never diffcompare's engines).
A finite-difference value is judged by its own bound, so each bound must cover the true
error and not be absurdly loose."""

from __future__ import annotations

import numpy as np
import pytest

from diffcompare.backends import SkipCell
from diffcompare.backends.central import CentralBackend
from diffcompare.backends.complex_step import ComplexStepBackend
from diffcompare.backends.given import ExpectedBackend, ManualBackend
from diffcompare.backends.richardson import RichardsonBackend
from diffcompare.backends.sympy_backend import SympyBackend
from diffcompare.spec.operators import results
from diffcompare.spec.problem import build_problems

DTYPES = ("float64", "float32")
FINITE = (CentralBackend(), RichardsonBackend())
A, B = 0.75, 1.25  # float32 holds them: the float32 rows differentiate at the same point
U, V = np.array([2.0, -1.5]), np.array([0.5, -2.0])


def problem(doc: dict):
    problems, errors = build_problems(doc, "test.yaml", "operators")
    assert not errors, errors
    return problems[0]


def hessian_of_cubic(x0, x1):
    """f = x0²·x1 + exp(x1)."""
    return np.array([[2 * x1, 2 * x0], [2 * x0, np.exp(x1)]])


def jacobian_of_pair(x0, x1):
    """f = [x0·x1, sin(x0)]."""
    return np.array([[x1, x0], [np.cos(x0), 0.0]])


# (document, {result name: the hand-derived value})
CASES = {
    "jacobian": (
        {"function": "[x[0] * x[1], sin(x[0])]", "point": {"x": [A, B]}, "operator": "jacobian"},
        {"x": jacobian_of_pair(A, B)},
    ),
    "jacobian-two-variables": (
        {"function": "[exp(a) * b, log(b) / a, a ** 3]", "point": {"a": A, "b": B}, "operator": "jacobian"},
        {"a": np.array([np.exp(A) * B, -np.log(B) / A**2, 3 * A**2]), "b": np.array([np.exp(A), 1 / (A * B), 0.0])},
    ),
    "vjp": (
        {
            "function": "[x[0] * x[1], sin(x[0])]",
            "point": {"x": [A, B], "u": U.tolist()},
            "operator": "vjp",
            "cotangent": "u",
        },
        {"x": U @ jacobian_of_pair(A, B)},
    ),
    "jvp": (
        {
            "function": "[x[0] * x[1], sin(x[0])]",
            "point": {"x": [A, B], "v": V.tolist()},
            "operator": "jvp",
            "direction": "v",
        },
        {"x": jacobian_of_pair(A, B) @ V},
    ),
    "jvp-two-variables": (
        {
            "function": "[a * b, exp(a - b)]",
            "point": {"a": A, "b": B, "va": 0.5, "vb": 3.0},
            "operator": "jvp",
            "direction": {"a": "va", "b": "vb"},
        },
        {"a,b": np.array([B * 0.5 + A * 3.0, np.exp(A - B) * (0.5 - 3.0)])},
    ),
    "hessian": (
        {"function": "x[0] ** 2 * x[1] + exp(x[1])", "point": {"x": [A, B]}, "operator": "hessian"},
        {"x": hessian_of_cubic(A, B)},
    ),
    "hessian-blocks": (
        {"function": "sin(a * b) + a ** 3", "point": {"a": A, "b": B}, "operator": "hessian"},
        {
            "a": np.array(-(B**2) * np.sin(A * B) + 6 * A),
            "a,b": np.array(np.cos(A * B) - A * B * np.sin(A * B)),
            "b,a": np.array(np.cos(A * B) - A * B * np.sin(A * B)),
            "b": np.array(-(A**2) * np.sin(A * B)),
        },
    ),
    "hvp": (
        {
            "function": "x[0] ** 2 * x[1] + exp(x[1])",
            "point": {"x": [A, B], "v": V.tolist()},
            "operator": "hvp",
            "direction": "v",
        },
        {"x": hessian_of_cubic(A, B) @ V},
    ),
    "second_derivative": (
        {"function": "sin(a) * a", "point": {"a": A}, "operator": "second_derivative"},
        {"a": np.array(2 * np.cos(A) - A * np.sin(A))},
    ),
}


@pytest.fixture(scope="module")
def problems():
    return {key: problem(doc) for key, (doc, _) in CASES.items()}


def _check_shapes(p, got):
    assert {k: v.shape for k, v in got.values.items()} == {r.name: r.shape for r in results(p).values()}


@pytest.mark.parametrize("backend", FINITE, ids=lambda b: b.name)
@pytest.mark.parametrize("key", list(CASES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_finite_differences_within_their_own_bounds(problems, backend, key, dtype):
    p, want = problems[key], CASES[key][1]
    assert backend.modes(p) == ("finite-difference",)
    got = backend.compute(p, dtype, "finite-difference")
    _check_shapes(p, got)
    order = 2 if p.operator in ("hessian", "hvp", "second_derivative") else 1
    eps = float(np.finfo(dtype).eps)
    for name, exact in want.items():
        error, bound = np.abs(got.values[name] - exact), got.bounds[name]
        assert np.all(error <= bound), (name, error, bound)
        # Not absurdly loose: within 1000 × the true error, or below what the textbook step
        # reaches (100 × ε^(2/3) for first differences, ε^(1/2) for second) at the value's scale.
        floor = 100 * eps ** (2 / 3 if order == 1 else 1 / 2) * np.maximum(1.0, np.abs(exact))
        assert np.all((bound < 1e3 * error) | (bound < floor)), (name, error, bound, floor)
        assert got.time_s > 0 and got.f_time_s > 0


# Points and functions where a bound is easy to get wrong: a cancelling output (the direction
# rounded into x ± t·v), a large |x|, outputs of very different sizes, a saddle's zero gradient.
HARD = [
    (
        {
            "function": "[x - y, x * y]",
            "point": {"x": 1000.0, "y": 1000.0, "vx": 0.3, "vy": 0.7},
            "operator": "jvp",
            "direction": {"x": "vx", "y": "vy"},
        },
        {"x,y": np.array([0.3 - 0.7, 1000.0 * 0.3 + 1000.0 * 0.7])},
    ),
    (
        {"function": "[exp(x[0]) * 1e6, x[1] * 1e-6]", "point": {"x": [2.5, -3.0]}, "operator": "jacobian"},
        {"x": np.array([[np.exp(2.5) * 1e6, 0.0], [0.0, 1e-6]])},
        # each row's rounding is its own output's: ε·|f₀| over the step in the exact 0 of row 0
        np.array([[np.exp(2.5) * 1e6], [1e-6]]),
    ),
    (
        {
            "function": "x[0] ** 2 - x[1] ** 2 + x[0] * x[1]",
            "point": {"x": [0.0, 0.0], "v": [1.0, 0.25]},
            "operator": "hvp",
            "direction": "v",
        },
        {"x": np.array([[2.0, 1.0], [1.0, -2.0]]) @ np.array([1.0, 0.25])},
    ),
    (
        {"function": "log(1 + x[0] * x[1]) * 64", "point": {"x": [40.0, 0.5]}, "operator": "hessian"},
        {
            # f = 64·log(1 + p), p = x0·x1 = 20: ∂²f/∂x0∂x1 = 64/(1 + p)², ∂²f/∂x0² = -64·x1²/(1 + p)²
            "x": 64 * np.array([[-(0.5**2), 1.0], [1.0, -(40.0**2)]]) / 21.0**2
        },
    ),
    (
        {
            "function": "[cos(x[0]) * x[1], x[1] ** 3]",
            "point": {"x": [3.0, -2.0], "u": [1e3, -1.0]},
            "operator": "vjp",
            "cotangent": "u",
        },
        {"x": np.array([1e3, -1.0]) @ np.array([[2 * np.sin(3.0), np.cos(3.0)], [0.0, 12.0]])},
    ),
]


@pytest.mark.parametrize("backend", FINITE, ids=lambda b: b.name)
@pytest.mark.parametrize("case", range(len(HARD)))
@pytest.mark.parametrize("dtype", DTYPES)
def test_bounds_cover_the_true_error_where_it_is_easy_to_miss(backend, case, dtype):
    doc, want, *scale = HARD[case]
    scale = scale[0] if scale else 1.0  # the scale of f that the floor is relative to, where it is not 1
    p = problem(doc)
    got = backend.compute(p, dtype, "finite-difference")
    order = 2 if p.operator in ("hessian", "hvp") else 1
    eps = float(np.finfo(dtype).eps)
    for name, exact in want.items():
        error, bound = np.abs(got.values[name] - exact), got.bounds[name]
        assert np.all(error <= bound), (name, error, bound)
        floor = 100 * eps ** (2 / 3 if order == 1 else 1 / 2) * np.maximum(scale, np.maximum(1.0, np.abs(exact)))
        assert np.all((bound < 1e3 * error) | (bound < floor)), (name, error, bound, floor)


def test_the_jvp_corrects_the_direction_its_rounded_points_took():
    # x ± t·v at x = y = 1000 rounds by ε·1000 per element, which the cancelling x - y would
    # read as an error of ε·1000/t: the correction along v - w takes it out.
    p = problem(HARD[0][0])
    got = CentralBackend().compute(p, "float64", "finite-difference")
    assert abs(got.values["x,y"][0] - (0.3 - 0.7)) < 1e-12


@pytest.mark.parametrize("key", list(CASES))
def test_sympy_gives_every_operator_exactly(problems, key):
    p, want = problems[key], CASES[key][1]
    backend = SympyBackend()
    assert backend.modes(p) == ("symbolic",)
    got = backend.compute(p, "float64", "symbolic")
    _check_shapes(p, got)
    for name, exact in want.items():
        np.testing.assert_allclose(got.values[name], exact, rtol=1e-15, atol=1e-15, err_msg=name)
    assert got.extras["expr_ops"] >= got.extras["expr_ops_cse"] > 0


@pytest.mark.parametrize("key", ["jacobian", "jacobian-two-variables", "vjp", "jvp", "jvp-two-variables"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_complex_step_gives_first_order_operators_to_rounding(problems, key, dtype):
    p, want = problems[key], CASES[key][1]
    backend = ComplexStepBackend()
    assert backend.modes(p) == ("complex-step",)
    got = backend.compute(p, dtype, "complex-step")
    _check_shapes(p, got)
    rtol = 8 * float(np.finfo(dtype).eps)
    for name, exact in want.items():
        np.testing.assert_allclose(got.values[name], exact, rtol=rtol, atol=rtol, err_msg=name)


@pytest.mark.parametrize("key", ["hessian", "hvp", "second_derivative"])
def test_complex_step_skips_second_order_operators_with_the_reason(problems, key):
    with pytest.raises(SkipCell, match="first derivatives only"):
        ComplexStepBackend().modes(problems[key])


def test_gradient_modes_are_unchanged():
    p = problem({"function": "x * y", "point": {"x": A, "y": B}})
    assert CentralBackend().modes(p) == RichardsonBackend().modes(p) == ("finite-difference",)
    assert ComplexStepBackend().modes(p) == ("complex-step",)
    assert SympyBackend().modes(p) == ("symbolic",)
    got = CentralBackend().compute(p, "float64", "finite-difference")
    assert got.values.keys() == {"x", "y"} and abs(got.values["x"] - B) <= got.bounds["x"]


def test_manual_and_expected_give_values_keyed_by_result_names():
    p = problem(
        {
            "function": "sin(a * b) + a ** 3",
            "point": {"a": A, "b": B},
            "operator": "hessian",
            "manual": {"a": "-b**2 * sin(a * b) + 6 * a", "a,b": "cos(a * b) - a * b * sin(a * b)"},
            "expected": {"b": -0.4534, "b,a": "-0.164"},
        }
    )
    want = CASES["hessian-blocks"][1]
    manual, expected = ManualBackend(), ExpectedBackend()
    assert manual.modes(p) == expected.modes(p) == ("given",)
    assert manual.variables(p) == ["a", "a,b"] and expected.variables(p) == ["b", "b,a"]
    got = manual.compute(p, "float64", "given")
    for name in ("a", "a,b"):
        assert got.values[name].shape == () and got.values[name] == pytest.approx(float(want[name]), rel=1e-15)
    got = expected.compute(p, "decimal", "given")
    assert got.values["b"] == -0.4534 and got.bounds["b"] == pytest.approx(0.00005)
    assert abs(got.values["b"] - want["b"]) <= got.bounds["b"]
    assert abs(got.values["b,a"] - want["b,a"]) <= got.bounds["b,a"]


def test_manual_jacobian_broadcasts_to_the_result_shape():
    p = problem(
        {
            "function": "[x[0] * x[1], sin(x[0])]",
            "point": {"x": [A, B]},
            "operator": "jacobian",
            "manual": {"x": "[[x[1], x[0]], [cos(x[0]), 0]]"},
        }
    )
    got = ManualBackend().compute(p, "float32", "given")
    np.testing.assert_allclose(got.values["x"], jacobian_of_pair(A, B), rtol=1e-7)


def test_a_large_hessian_by_differences_is_skipped_with_the_reason():
    p = problem({"function": "sum(x ** 3)", "point": {"x": {"shape": [101], "fill": 0.5}}, "operator": "hessian"})
    with pytest.raises(SkipCell, match="past the cap of 100 elements"):
        CentralBackend().compute(p, "float64", "finite-difference")
