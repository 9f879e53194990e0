"""softmax(x, axis=-1) and log_softmax(x, axis=-1) (issue 15): value and gradient in every
backend, float64 and float32, along axis 0 and -1 of a matrix, against mpmath.diff of a
formula written here by hand; the closed-form gradient of sum(w * softmax(x)); one-sided
slopes through them; parser and shape errors."""

import mpmath
import numpy as np
import pytest
from conftest import mpmath_grad, refusal

import diffcompare
from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.spec.problem import build_problem

BACKENDS = ["sympy", "torch", "jax", "chainrule", "central", "richardson", "complex_step"]
A = [[1.0, -2.0, 0.5], [3.0, 0.5, -1.0]]
W = [[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]]
M = [[mpmath.mpf(v) for v in row] for row in A]


def _fiber(m, i, j, axis):
    """The fiber through (i, j) along axis, and (i, j)'s position in it."""
    return ([row[j] for row in m], i) if axis == 0 else (list(m[i]), j)


def _softmax(m, i, j, axis):
    fiber, at = _fiber(m, i, j, axis)
    return mpmath.exp(fiber[at]) / mpmath.fsum(mpmath.exp(v) for v in fiber)


def _log_softmax(m, i, j, axis):
    fiber, at = _fiber(m, i, j, axis)
    return fiber[at] - mpmath.log(mpmath.fsum(mpmath.exp(v) for v in fiber))


def _weighted(fn, axis):
    return lambda m: mpmath.fsum(W[i][j] * fn(m, i, j, axis) for i in range(2) for j in range(3))


CASES = {
    "softmax-axis-0": ("sum(W * softmax(A, axis=0))", _weighted(_softmax, 0)),
    "softmax-axis-minus-1": ("sum(W * softmax(A, axis=-1))", _weighted(_softmax, 1)),
    "softmax-default-axis": ("sum(W * softmax(A))", _weighted(_softmax, 1)),
    "log-softmax-axis-0": ("sum(W * log_softmax(A, axis=0))", _weighted(_log_softmax, 0)),
    "log-softmax-axis-minus-1": ("sum(W * log_softmax(A, axis=-1))", _weighted(_log_softmax, 1)),
}


@pytest.fixture(scope="module")
def frames():
    return {
        name: diffcompare.compare(function, point={"A": A, "W": W}, wrt=["A"], backends=BACKENDS, name=name)
        for name, (function, _) in CASES.items()
    }


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_every_backend_matches_mpmath_diff(frames, case):
    _, closed = CASES[case]
    truth = mpmath_grad(closed, M)
    frame = frames[case]
    for dtype, rtol in (("float64", 1e-6), ("float32", 1e-3)):
        for backend in BACKENDS:
            if backend == "sympy" and dtype == "float32":
                continue
            rows = frame[(frame["backend"] == backend) & (frame["dtype"] == dtype)]
            assert set(rows["verdict"]) == {"agree"}, (backend, dtype, rows[["index", "verdict", "message"]])
            got = np.array([rows[rows["index"] == f"{i},{j}"]["value"].iloc[0] for i in range(2) for j in range(3)])
            np.testing.assert_allclose(got, truth.ravel(), rtol=rtol, atol=1e-6, err_msg=f"{case} {backend} {dtype}")
            # the exact backends are exact to the dtype's rounding
            if dtype == "float64" and backend not in ("central", "richardson"):
                np.testing.assert_allclose(got, truth.ravel(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_match_mpmath(dtype):
    for function, closed in CASES.values():
        p = build_problem({"function": function, "point": {"A": A, "W": W}, "wrt": ["A"]}, "<t>", "t")
        engine = ChainRule(p.function, dtype)
        value = engine.forward(point_in(p.point, dtype))[-1]
        assert np.asarray(value).dtype == dtype
        rel = 1e-14 if dtype == np.float64 else 1e-6
        assert float(value) == pytest.approx(float(closed(M)), rel=rel)


def test_torch_and_jax_values_are_their_own_functions():
    import jax
    import torch

    x = np.array(A)
    for axis in (0, -1):
        np.testing.assert_allclose(
            diffcompare.lang.primitives.PRIMITIVES["softmax"].forward(x, axis=axis),
            torch.softmax(torch.tensor(x), dim=axis).numpy(),
            rtol=1e-15,
        )
        np.testing.assert_allclose(
            diffcompare.lang.primitives.PRIMITIVES["log_softmax"].forward(x, axis=axis),
            np.asarray(jax.nn.log_softmax(x, axis=axis)),
            rtol=1e-14,
        )


def test_gradient_of_weighted_softmax_is_the_closed_form():
    """∂/∂x Σ w·softmax(x) = s ⊙ (w − Σ w·s), in the chain-rule engine, torch and jax."""
    x = np.array([0.7, -1.2, 2.5, 0.1])
    w = np.array([0.3, -1.0, 2.0, 0.5])
    s = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    closed = s * (w - np.dot(w, s))
    frame = diffcompare.compare(
        "sum(w * softmax(x))",
        point={"x": x.tolist(), "w": w.tolist()},
        wrt=["x"],
        backends=["torch", "jax", "chainrule"],
    )
    for backend in ("torch", "jax", "chainrule"):
        rows = frame[(frame["backend"] == backend) & (frame["dtype"] == "float64")]
        got = np.array([rows[rows["index"] == str(i)]["value"].iloc[0] for i in range(4)])
        np.testing.assert_allclose(got, closed, rtol=1e-13, atol=1e-16, err_msg=backend)


def test_shapes_are_kept():
    for function in ("softmax(A)", "softmax(A, axis=0)", "log_softmax(A, axis=-2)"):
        p = build_problem({"function": f"sum({function})", "point": {"A": A}}, "<t>", "t")
        assert p.function.args[0].shape == (2, 3), function
    p = build_problem({"function": "sum(softmax(v))", "point": {"v": [1.0, 2.0]}}, "<t>", "t")
    assert p.function.args[0].shape == (2,)
    assert p.function.args[0].attr == {"axis": 0}


def _refusal(function: str, point=None) -> str:
    return refusal(function, point or {"A": A})


# function, point (None: A), the words of its refusal: a bad axis as the reductions' is
REFUSALS = [
    ("sum(softmax(A, axis=2))", None, "axis 2 is out of range for a 2-D array"),
    ("sum(log_softmax(A, axis=-3))", None, "axis -3 is out of range for a 2-D array"),
    ("sum(softmax(v, axis=1))", {"v": [1.0, 2.0]}, "axis 1 is out of range for a 1-D array"),
    ("softmax(x)", {"x": 1.0}, "softmax takes a vector or a matrix, not a scalar"),
    ("sum(softmax(A, axis=1.5))", None, "axis must be an integer constant"),
    ("sum(softmax(A, axis=(0, 1)))", None, "axis must be an integer constant"),
    ("sum(softmax(A, axis=x))", {"A": A, "x": 1.0}, "axis must be an integer constant"),
    ("sum(softmax(A, dim=1))", None, "write axis= (NumPy's and jax's name for torch's dim)"),
    ("sum(softmax(A, keepdims=1))", None, "takes no keyword 'keepdims'"),
    ("sum(log_softmax(A, A))", None, "log_softmax(...) got 2 argument(s)"),
    ("softmax()", None, "softmax(...) got 0 argument(s)"),
]


@pytest.mark.parametrize(("function", "point", "words"), REFUSALS)
def test_bad_axes_keywords_and_operands_are_refused(function, point, words):
    assert words in _refusal(function, point)


def test_one_sided_slopes_pass_through_softmax():
    """A kink under log_softmax: f's one-sided derivatives are w0 − Σw·s0 and its negative."""
    frame = diffcompare.compare(
        "sum(w * log_softmax(abs(v)))",
        point={"v": [0.0, 1.0, -2.0], "w": [0.3, -1.0, 2.0]},
        wrt=["v"],
        backends=["chainrule"],
    )
    rows = frame[frame["dtype"] == "float64"]
    by_index = dict(zip(rows["index"], rows["verdict"]))
    assert by_index == {"0": "kink", "1": "agree", "2": "agree"}
    s0 = 1 / (1 + np.e + np.e**2)
    right = 0.3 - 1.3 * s0
    message = rows[rows["index"] == "0"]["message"].iloc[0]
    assert f"left derivative {-right:.5g}, right derivative {right:.5g}" in message


def test_latex():
    from diffcompare.views.latex import expression_latex

    assert r"\operatorname{softmax}\left(A, \mathrm{axis}=0\right)" in expression_latex("sum(softmax(A, axis=0))")
    assert r"\operatorname{log\_softmax}" in expression_latex("log_softmax(x)[0]")
