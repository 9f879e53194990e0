"""Array building (list literals, stack, concatenate, transpose, reshape, roll, tril, triu,
diag, outer, arange, zeros, ones) in every built-in backend: each gradient element against
mpmath.diff of f written out by hand here, element by element (not through diffcompare)."""

import mpmath
import numpy as np
import pytest

import diffcompare
from diffcompare.lang.ir import ShapeError
from diffcompare.spec.problem import build_problem
from diffcompare.views.latex import expression_latex

pytest.importorskip("torch")
pytest.importorskip("jax")

BACKENDS = ["sympy", "torch", "jax", "chainrule", "central", "richardson", "complex_step"]
s, c, e = mpmath.sin, mpmath.cos, mpmath.exp
A0 = [[0.5, 0.7], [1.1, -0.3]]

# name -> (function, point, f by hand of the flat point elements in order)
CASES = {
    "list": (
        "sum(sin([x[0] * x[1], sin(x[0]), 2.0]) * [1, 2, 3])",
        {"x": [0.5, 0.7]},
        lambda a, b: s(a * b) + 2 * s(s(a)) + 3 * s(2),
    ),
    "nested list": (
        "sum([[x[0], x[1]], [x[1] ** 2, 1]] @ x)",
        {"x": [0.5, 0.7]},
        lambda a, b: a * a + b * b + a * b * b + b,
    ),
    "one-hot": (
        "sum((exp(z) / sum(exp(z)) - [0, 1, 0]) ** 2)",
        {"z": [0.1, 0.2, 0.3]},
        lambda a, b, d: sum((t - h) ** 2 for t, h in zip([e(v) / (e(a) + e(b) + e(d)) for v in (a, b, d)], (0, 1, 0))),
    ),
    "stack": (
        "sum(stack(x, x ** 2, axis=1) @ [1.0, -2.0])",
        {"x": [0.5, 0.7]},
        lambda a, b: a + b - 2 * (a * a + b * b),
    ),
    "concatenate": (
        "sum(sin(concatenate(x, x ** 2)) * [1, 2, 3, 4])",
        {"x": [0.5, 0.7]},
        lambda a, b: s(a) + 2 * s(b) + 3 * s(a * a) + 4 * s(b * b),
    ),
    "transpose": (
        "sum(sin(A.T) * [[1, 2], [3, 4]]) + sum(transpose(A) @ [1, 0])",
        {"A": A0},
        lambda a, b, d, f: s(a) + 2 * s(d) + 3 * s(b) + 4 * s(f) + a + b,
    ),
    "reshape": (
        "sum(sin(reshape(x, (2, 2))) @ [1.0, 2.0])",
        {"x": [0.5, 0.7, 1.1, -0.3]},
        lambda a, b, d, f: s(a) + 2 * s(b) + s(d) + 2 * s(f),
    ),
    "roll": ("sum(x * roll(x, 1) * [1, 2, 3])", {"x": [0.5, 0.7, 1.1]}, lambda a, b, d: a * d + 2 * b * a + 3 * d * b),
    "tril triu": (
        "sum(sin(tril(A)) * [[1, 2], [3, 4]]) + sum(exp(triu(A, 1)))",
        {"A": A0},
        lambda a, b, d, f: s(a) + 3 * s(d) + 4 * s(f) + e(b) + 3,
    ),
    "diag": (
        "sum(sin(diag(x)) * [[1, 2], [3, 4]]) + sum(diag(A) ** 3)",
        {"x": [0.5, 0.7], "A": A0},
        lambda a, b, p, q, r, t: s(a) + 4 * s(b) + p**3 + t**3,
    ),
    "outer": (
        "sum(sin(outer(x, y)) * [[1, 2], [3, 4]])",
        {"x": [0.5, 0.7], "y": [1.1, -0.3]},
        lambda a, b, p, q: s(a * p) + 2 * s(a * q) + 3 * s(b * p) + 4 * s(b * q),
    ),
    "constants": (
        "sum(x * arange(1, 4)) + sum(ones((3,)) / (1 + x ** 2)) + sum(zeros((3,)) * x)",
        {"x": [0.5, 0.7, 1.1]},
        lambda a, b, d: a + 2 * b + 3 * d + sum(1 / (1 + v * v) for v in (a, b, d)),
    ),
}


@pytest.fixture(scope="module")
def results():
    import pandas as pd

    frames = [
        diffcompare.compare(f, point=pt, backends=BACKENDS, dtypes=["float64", "float32"], name=name)
        for name, (f, pt, _) in CASES.items()
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_every_backend_builds_arrays_and_differentiates_through_them(results, name):
    function, point, by_hand = CASES[name]
    flat = [mpmath.mpf(v) for values in point.values() for v in np.ravel(values)]
    truth = [
        mpmath.diff(lambda *xs: by_hand(*xs), flat, tuple(int(i == k) for i in range(len(flat))))
        for k in range(len(flat))
    ]
    labels = [(var, ",".join(map(str, ix))) for var, v in point.items() for ix in np.ndindex(np.shape(v))]
    rows = results[results["problem"] == name]
    assert set(rows["backend"]) == set(BACKENDS)
    assert (rows["verdict"] == "agree").all(), rows[["backend", "dtype", "verdict", "message"]].to_string()
    for (var, index), want in zip(labels, truth):
        got = rows[(rows["variable"] == var) & (rows["index"] == index)]
        tolerance = {"float64": 1e-6, "float32": 1e-3}
        for _, row in got.iterrows():
            assert row["value"] == pytest.approx(float(want), rel=tolerance[row["dtype"]], abs=tolerance[row["dtype"]])


@pytest.mark.parametrize(
    "function, point, message",
    [
        ("sum(stack(x, y))", {"x": [1.0, 2.0], "y": [1.0, 2.0, 3.0]}, "stack: shapes (2,) and (3,) differ"),
        ("sum([x, y])", {"x": [1.0, 2.0], "y": [1.0, 2.0, 3.0]}, "stack: shapes (2,) and (3,) differ"),
        ("sum(concatenate(A, x))", {"A": [[1.0]], "x": [1.0]}, "concatenate: shapes (1, 1) and (1,) differ"),
        ("sum(concatenate(x, x, axis=1))", {"x": [1.0]}, "concatenate: axis 1 is out of range for 1 axes"),
        ("sum(reshape(x, (2, 2)))", {"x": [1.0, 2.0, 3.0]}, "reshape: cannot reshape (3,) (3 elements) into (2, 2)"),
        ("sum(tril(x))", {"x": [1.0, 2.0]}, "tril: takes a matrix, not shape (2,)"),
        ("sum(outer(A, x))", {"A": [[1.0]], "x": [1.0]}, "outer: takes two vectors"),
        ("sum(x * zeros((10 ** 9,)))", {"x": 1.0}, "the shape must be integer constants"),
        ("sum(x * zeros((1000000000,)))", {"x": 1.0}, "the limit is"),
        ("sum(arange(3, 1)) * x", {"x": 1.0}, "arange(3, 1) is empty"),
        ("sum(cumsum(A))", {"A": [[1.0, 2.0]]}, "cumsum: an array of shape (1, 2) needs axis= (cumsum(A, axis=1))"),
        ("sum(cumsum(x, axis=1))", {"x": [1.0, 2.0]}, "cumsum: axis 1 is out of range"),
        ("cumsum(x)", {"x": 1.0}, "cumsum: takes an array, not a scalar"),
        ("sum(cumsum(x, dim=0))", {"x": [1.0]}, "write axis= (NumPy's and jax's name for torch's dim)"),
    ],
)
def test_shape_errors_name_the_construct(function, point, message):
    with pytest.raises(Exception) as info:
        build_problem({"function": function, "point": point}, "<test>", "bad")
    assert message in str(info.value)
    assert not isinstance(info.value, ShapeError) or "'" in str(info.value)


def test_latex_of_array_building():
    assert expression_latex("A.T @ [1, 2]") == r"{A}^{\top} \cdot \left[1, 2\right]"
    assert expression_latex("stack(x, y, axis=1)") == r"\operatorname{stack}\left(x, y, \mathrm{axis}=1\right)"


def test_a_list_of_constants_is_one_constant_array_in_the_rows_dtype():
    import torch

    from diffcompare.backends.torch_backend import torch_constant, torch_ops
    from diffcompare.lang.program import Program

    problem = build_problem({"function": "sum(x * [1, 2, 3])", "point": {"x": [1.0, 1.0, 1.0]}}, "<t>", "p")
    x = torch.ones(3, dtype=torch.float32, requires_grad=True)
    out = Program(problem.function, torch_ops(torch.float32), constant=torch_constant(torch.float32))({"x": x})
    assert out.dtype == torch.float32 and float(out.detach()) == 6.0


def test_cumsum_at_a_tie_of_its_running_sums_is_a_kink_only_where_the_tie_moves():
    """max(cumsum(x)) at x = [1, -1, 1]: the running sums 1, 0, 1 tie at the top. x[0] moves
    both tied sums alike (derivative 1 on both sides); x[1] and x[2] move only the last one
    (left derivative 0, right 1): the one-sided chain rule carries cumsum's sums, not only
    the elements it moves."""
    rows = diffcompare.compare("max(cumsum(x))", point={"x": [1.0, -1.0, 1.0]}, backends=["chainrule", "torch"])
    for _, got in rows[rows["dtype"] == "float64"].groupby("backend"):
        assert dict(zip(got["index"], got["verdict"])) == {"0": "agree", "1": "kink", "2": "kink"}
        assert got["message"].str.contains("left derivative 0, right derivative 1").sum() == 2
