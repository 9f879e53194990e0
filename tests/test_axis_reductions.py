"""Reductions along axis=, max(x)/min(x) of one array, and max/min of several arguments
(issue 15): value and gradient in every backend against closed forms computed here in
mpmath, independently of diffcompare's exact side; ties judged `kink` on f; axis errors."""

import mpmath
import numpy as np
import pytest
from conftest import mpmath_grad, refusal

import diffcompare
from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.lang.parser import ExpressionError
from diffcompare.spec.problem import build_problem

BACKENDS = ["sympy", "torch", "jax", "chainrule", "central", "richardson", "complex_step"]
A = [[1.0, -2.0, 0.5], [3.0, 0.5, -1.0]]
M = [[mpmath.mpf(v) for v in row] for row in A]


def _col(m, j):
    return [row[j] for row in m]


# function, its closed form in mpmath on the nested list, analytic (complex step applies)
CASES = {
    "sum-axis-1": ("sum(exp(A), axis=1)[1]", lambda m: mpmath.fsum(mpmath.exp(v) for v in m[1]), True),
    "sum-axis-0": ("sum(A ** 2, axis=0)[2]", lambda m: mpmath.fsum(v**2 for v in _col(m, 2)), True),
    "mean-negative-axis": ("mean(sin(A), axis=-1)[0]", lambda m: mpmath.fsum(map(mpmath.sin, m[0])) / 3, True),
    "prod-axis-tuple": ("prod(A, axis=(0, 1))", lambda m: mpmath.fprod(m[0] + m[1]), True),
    "prod-axis-0": ("prod(A, axis=0)[1]", lambda m: m[0][1] * m[1][1], True),
    "norm-axis-0": ("norm(A, axis=0)[0]", lambda m: mpmath.sqrt(m[0][0] ** 2 + m[1][0] ** 2), True),
    "logsumexp-axis-1": (
        "logsumexp(A, axis=1)[1]",
        lambda m: mpmath.log(mpmath.fsum(mpmath.exp(v) for v in m[1])),
        True,
    ),
    "max-of-array": ("max(A)", lambda m: max(m[0] + m[1]), False),
    "min-axis-1": ("min(A, axis=1)[0] * 2", lambda m: 2 * min(m[0]), False),
    "max-axis-negative-tuple": ("max(A * A, axis=(-1, -2))", lambda m: max(v * v for v in m[0] + m[1]), False),
    "max-of-three": ("max(A[0, 0], A[1, 1], A[0, 2] * 3)", lambda m: max(m[0][0], m[1][1], 3 * m[0][2]), False),
    "min-of-four": (
        "min(A[0, 0], A[1, 1], A[0, 2], A[1, 2])",
        lambda m: min(m[0][0], m[1][1], m[0][2], m[1][2]),
        False,
    ),
}


@pytest.fixture(scope="module")
def frames():
    return {
        name: diffcompare.compare(function, point={"A": A}, backends=BACKENDS, name=name)
        for name, (function, _, _) in CASES.items()
    }


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_every_backend_matches_the_closed_form(frames, case):
    function, closed, analytic = CASES[case]
    truth = mpmath_grad(closed, M)
    frame = frames[case]
    for backend in BACKENDS:
        rows = frame[(frame["backend"] == backend) & (frame["dtype"] == "float64")]
        if backend == "complex_step" and not analytic:
            assert set(rows["verdict"]) == {"skipped"}
            continue
        assert set(rows["verdict"]) == {"agree"}, (backend, rows[["index", "verdict", "message"]])
        got = np.array([rows[rows["index"] == f"{i},{j}"]["value"].iloc[0] for i in range(2) for j in range(3)])
        np.testing.assert_allclose(got, truth.ravel(), rtol=1e-6, atol=1e-9, err_msg=f"{case} {backend}")


def test_values_match_the_closed_form():
    for function, closed, _ in CASES.values():
        p = build_problem({"function": function, "point": {"A": A}}, "<t>", "t")
        engine = ChainRule(p.function, np.float64)
        assert float(engine.forward(point_in(p.point, np.float64))[-1]) == pytest.approx(float(closed(M)), rel=1e-14)


def test_shapes_are_inferred():
    shapes = {
        "sum(A, axis=1)": (2,),
        "sum(A, axis=-1)": (2,),
        "sum(A, axis=0)": (3,),
        "max(A, axis=(0, 1))": (),
        "min(A, axis=(1,))": (2,),
        "logsumexp(A, axis=0)": (3,),
    }
    for function, shape in shapes.items():
        p = build_problem({"function": f"sum({function})", "point": {"A": A}}, "<t>", "t")
        assert p.function.args[0].shape == shape, function


def _refusal(function: str, point=None) -> str:
    return refusal(function, point or {"A": A})


def test_a_bad_axis_is_refused_with_the_arrays_rank():
    assert "axis 2 is out of range for a 2-D array" in _refusal("sum(A, axis=2)")
    assert "axis -3 is out of range for a 2-D array" in _refusal("max(A, axis=-3)")
    assert "names an axis twice" in _refusal("sum(A, axis=(1, -1))")
    assert "axis 0 is out of range for a 0-D array" in _refusal("sum(x, axis=0)", {"x": 1.0})
    assert "integer constant" in _refusal("sum(A, axis=1.5)")
    assert "integer constant" in _refusal("sum(A, axis=x)", {"A": A, "x": 1.0})


def test_unknown_keywords_are_refused_helpfully():
    assert "write axis= (NumPy's and jax's name for torch's dim)" in _refusal("sum(A, dim=1)")
    assert "takes no keyword 'keepdims'" in _refusal("sum(A, axis=1, keepdims=True)")
    assert "sin(...) takes no keyword arguments" in _refusal("sum(sin(A, axis=1))")
    assert "max(...) takes no keyword arguments: write max(x) or max(a, b, …) (axis= is for" in _refusal(
        "max(A, A, axis=0)"
    )
    assert "dot(...) takes no keyword arguments" in _refusal("dot(A[0], A[0], axis=0)")


def test_expression_error_type_is_the_parsers():
    from diffcompare.lang.parser import parse_expression

    with pytest.raises(ExpressionError):
        parse_expression("sum(x, keepdims=1)", {})


def _verdicts(function, point):
    frame = diffcompare.compare(function, point=point, backends=["sympy", "torch", "jax", "chainrule"], name="t")
    return frame[frame["dtype"] == "float64"]


def test_a_tie_at_the_max_is_a_kink_in_the_tied_elements():
    rows = _verdicts("max(x)", {"x": [1.0, 3.0, 3.0]})
    for backend, got in rows.groupby("backend"):
        by_index = dict(zip(got["index"], got["verdict"]))
        assert by_index == {"0": "agree", "1": "kink", "2": "kink"}, backend
        assert got[got["index"] == "0"]["value"].iloc[0] == 0.0
        assert "'max(x)' is at a tie of its largest elements" in got[got["index"] == "1"]["message"].iloc[0]
    # torch.amax, jnp.max and the chain-rule engine split the adjoint evenly among the tied elements
    for backend in ("torch", "jax", "chainrule"):
        got = rows[rows["backend"] == backend]
        assert list(got["value"]) == [0.0, 0.5, 0.5], backend


def test_a_tie_along_an_axis_is_a_kink_only_in_its_fiber():
    rows = _verdicts("sum(min(A, axis=1))", {"A": [[2.0, 2.0, 5.0], [1.0, 4.0, 3.0]]})
    got = rows[rows["backend"] == "torch"]
    by_index = dict(zip(got["index"], got["verdict"]))
    assert by_index == {"0,0": "kink", "0,1": "kink", "0,2": "agree", "1,0": "agree", "1,1": "agree", "1,2": "agree"}


def test_a_tie_below_the_max_is_no_kink():
    rows = _verdicts("max(x)", {"x": [1.0, 1.0, 3.0]})
    assert set(rows["verdict"]) == {"agree"}
