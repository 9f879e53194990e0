"""Integer index arrays from data (x[idx], idx outside wrt) and index loops
(sum(... for i in range(n))) in every built-in backend: each gradient element against
mpmath.diff of f written out by hand here (not through diffcompare)."""

import mpmath
import numpy as np
import pytest

import diffcompare
from diffcompare.lang.ir import topo_order
from diffcompare.spec.problem import ProblemError, build_problem
from diffcompare.views.latex import expression_latex

pytest.importorskip("torch")
pytest.importorskip("jax")

BACKENDS = ["sympy", "torch", "jax", "chainrule", "central", "richardson", "complex_step"]
s, c, e = mpmath.sin, mpmath.cos, mpmath.exp
X = [0.5, 0.7, 1.1, -0.3]

# name -> (function, point, wrt, f by hand of the flat wrt elements in order)
CASES = {
    "gather": (
        "sum(sin(x[idx]) * [1, 2, 3])",
        {"x": X[:3], "idx": [2, 0, 2]},
        ["x"],
        lambda a, b, d: s(d) + 2 * s(a) + 3 * s(d),
    ),
    "gather rows": (
        "sum(A[idx] @ [1.0, -2.0]) + sum(A[idx] ** 2)",
        {"A": [[0.5, 0.7], [1.1, -0.3]], "idx": [1, 1, 0]},
        ["A"],
        lambda a, b, p, q: 2 * (p - 2 * q) + (a - 2 * b) + 2 * (p * p + q * q) + a * a + b * b,
    ),
    "weighted squares": (
        "sum(i * x[i] ** 2 for i in range(4))",
        {"x": X},
        None,
        lambda a, b, d, f: b * b + 2 * d * d + 3 * f * f,
    ),
    "neighbours": (
        "sum(x[i] * x[i + 1] for i in range(n - 1))",
        {"x": X},
        None,
        lambda a, b, d, f: a * b + b * d + d * f,
    ),
    "product": (
        "prod(cos(x[i] / sqrt(i + 1)) for i in range(4))",
        {"x": X},
        None,
        lambda a, b, d, f: c(a) * c(b / mpmath.sqrt(2)) * c(d / mpmath.sqrt(3)) * c(f / 2),
    ),
    "range(a, b), mean": (
        "mean(exp(x[2 * i - 2]) for i in range(1, 3)) + logsumexp(x[3 - i] * i for i in range(2, 4))",
        {"x": X},
        None,
        lambda a, b, d, f: (e(a) + e(d)) / 2 + mpmath.log(e(b * 2) + e(a * 3)),
    ),
    "diagonal": (
        "sum(A[i, i] ** 2 for i in range(2)) + sum(A[i, 1 - i] * A[0, i] for i in range(2))",
        {"A": [[0.5, 0.7], [1.1, -0.3]]},
        None,
        lambda a, b, p, q: a * a + q * q + b * a + p * b,
    ),
}


def _compare(name):
    function, point, wrt, _ = CASES[name]
    keys = {"wrt": wrt} if wrt else {}
    if "n - 1" in function:
        keys["sweep"] = {"n": [4]}
    return diffcompare.compare(function, point=point, backends=BACKENDS, dtypes=["float64", "float32"], **keys)


@pytest.fixture(scope="module")
def results():
    return {name: _compare(name) for name in CASES}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_every_backend_gathers_and_loops(results, name):
    function, point, wrt, by_hand = CASES[name]
    wrt = wrt or list(point)
    flat = [mpmath.mpf(v) for k in wrt for v in np.ravel(point[k])]
    truth = [
        mpmath.diff(lambda *xs: by_hand(*xs), flat, tuple(int(i == k) for i in range(len(flat))))
        for k in range(len(flat))
    ]
    labels = [(var, ",".join(map(str, ix))) for var in wrt for ix in np.ndindex(np.shape(point[var]))]
    rows = results[name]
    assert set(rows["backend"]) == set(BACKENDS)
    assert (rows["verdict"] == "agree").all(), rows[["backend", "dtype", "verdict", "message"]].to_string()
    for (var, index), want in zip(labels, truth):
        got = rows[(rows["variable"] == var) & (rows["index"] == index)]
        assert len(got) >= len(BACKENDS)
        tolerance = {"float64": 1e-6, "float32": 1e-3}
        for _, row in got.iterrows():
            assert row["value"] == pytest.approx(float(want), rel=tolerance[row["dtype"]], abs=tolerance[row["dtype"]])


def test_a_long_loop_is_a_few_nodes_not_unrolled():
    problem = build_problem(
        {"function": "sum(x[i] * x[i + 1] + i * x[i] ** 2 for i in range(n - 1))", "point": {"x": [0.5] * 10000}},
        "<t>",
        "long",
        {"n": 10000.0},
    )
    assert len(topo_order(problem.function)) < 15
    import diffcompare.engine.chainrule  # noqa: F401  (the engine runs it vectorised)

    rows = diffcompare.compare(
        "sum(x[i] * x[i + 1] for i in range(9999))",
        point={"x": [0.5] * 10000},
        backends=["chainrule"],
        dtypes=["float64"],
    )
    assert (rows["verdict"] == "agree").all()
    assert rows["value"].sum() == pytest.approx(2 * 9999 * 0.5)


def test_repeated_indices_accumulate():
    rows = diffcompare.compare(
        "sum(x[idx])",
        point={"x": [1.0, 2.0, 3.0], "idx": [2, 2, 2, 0]},
        wrt=["x"],
        backends=["torch", "jax", "chainrule"],
    )
    for _, row in rows.iterrows():
        assert row["value"] == {"0": 1.0, "1": 0.0, "2": 3.0}[row["index"]]


@pytest.mark.parametrize(
    "function, point, wrt, message",
    [
        ("sum(x[idx])", {"x": [1.0, 2.0], "idx": [0, 2]}, ["x"], "index 2 (point.idx holds it) is out of range"),
        ("sum(x[idx])", {"x": [1.0, 2.0], "idx": [-1]}, ["x"], "index -1 (point.idx holds it) is out of range"),
        ("sum(x[idx])", {"x": [1.0, 2.0], "idx": [0.5]}, ["x"], "point.idx holds 0.5: an index array holds integers"),
        ("sum(x[idx])", {"x": [1.0, 2.0], "idx": [0.0]}, None, "not 'idx', a differentiated variable"),
        ("sum(x[i + 1] for i in range(2))", {"x": [1.0, 2.0]}, None, "index 2 (at i = 1) is out of range"),
        ("sum(x[i - 1] for i in range(2))", {"x": [1.0, 2.0]}, None, "index -1 (at i = 0) is out of range"),
        ("sum(x[i * i] for i in range(2))", {"x": [1.0, 2.0]}, None, "'i * i' is not affine in i"),
        ("sum(x[i / 2] for i in range(2))", {"x": [1.0, 2.0]}, None, "'i / 2' is not affine in i"),
        ("sum(x[i] for i in range(2) if i > 0)", {"x": [1.0, 2.0]}, None, "a loop takes no `if`"),
        ("sum(x[i] for i in range(0, 2, 1))", {"x": [1.0, 2.0]}, None, "a loop runs over range(n) or range(a, b)"),
        ("sum(x[i] for i in range(y))", {"x": [1.0, 2.0], "y": 1.0}, None, "must be a constant integer"),
        ("sum(x[i] for i in range(1.5))", {"x": [1.0, 2.0]}, None, "must be a constant integer"),
        ("sum(x[i] for i in range(0))", {"x": [1.0, 2.0]}, None, "is empty"),
        ("sum(x[i] * x for i in range(2))", {"x": [1.0, 2.0]}, None, "the term must be one number for each i"),
        ("sum(A[i] for i in range(2))", {"A": [[1.0, 2.0]] * 2}, None, "index every axis, as A[i, 0]"),
        ("sum(A[i, :] for i in range(2))", {"A": [[1.0, 2.0]] * 2}, None, "a slice inside a loop"),
        ("sum(sum(x[j] for j in range(i)) for i in range(2))", {"x": [1.0, 2.0]}, None, "nested loops"),
        ("sum(sum(x[j] * x[i] for j in range(2)) for i in range(2))", {"x": [1.0, 2.0]}, None, "nested loops"),
        ("sum(x[0] for i in range(2))", {"x": [1.0, 2.0]}, None, "does not depend on i"),
        ("sum(x[i] for (i, j) in range(2))", {"x": [1.0, 2.0]}, None, "the loop variable must be one name"),
        ("sum(x[x] for x in range(2))", {"x": [1.0, 2.0]}, None, "the loop variable 'x' is also a name"),
        ("sum([x[i] for i in range(2)] * 2)", {"x": [1.0, 2.0]}, None, "a loop is only allowed as the one argument"),
        ("sum(v for v in x)", {"x": [1.0, 2.0]}, None, "comprehension is not allowed"),
    ],
)
def test_refusals_name_file_problem_and_key(function, point, wrt, message):
    document = {"function": function, "point": point, **({"wrt": wrt} if wrt else {})}
    with pytest.raises(ProblemError) as info:
        build_problem(document, "f.yaml", "bad")
    line = str(info.value)
    assert "\n" not in line and "f.yaml" in line and "'bad'" in line and "key 'function'" in line
    assert message in line, line


def test_latex_of_loops():
    assert expression_latex("sum(i * x[i] ** 2 for i in range(n))") == r"\sum_{i=0}^{n - 1} i\,{{x}_{i}}^{2}"
    assert expression_latex("prod(cos(x[i]) for i in range(4))") == r"\prod_{i=0}^{3} \cos\left({x}_{i}\right)"
    assert expression_latex("max(x[i] for i in range(1, n - 1))") == r"\max_{1 \le i \le n - 2} {x}_{i}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "function, tied",
    [
        # the loop's terms tie: x[1] ** 2 = x[2] ** 2 (the elements 3 and -3 differ)
        ("max(x[i] ** 2 for i in range(3))", {"1", "2"}),
        ("min(abs(x[i + 1]) for i in range(2))", {"1", "2"}),
        # a gather that repeats x[1] ties it with itself: f = x[1] there, differentiable
        ("max(x[idx])", set()),
        ("max(x[idx] + x[1])", set()),
    ],
)
def test_a_loop_at_a_tie_is_a_kink_in_the_tied_elements(function, tied):
    """A loop in max or min is max(x) of the gathered terms: at a tie f has a kink in the
    elements that reach the tied terms, and only there; a term tied with a copy of itself
    is no kink (both sides move together)."""
    rows = diffcompare.compare(
        function,
        point={"x": [2.0, 3.0, -3.0], "idx": [1, 1]},
        wrt=["x"],
        backends=["sympy", "torch", "jax", "chainrule"],
    )
    rows = rows[rows["dtype"] == "float64"]
    for backend, got in rows.groupby("backend"):
        kinks = set(got.loc[got["verdict"] == "kink", "index"])
        assert kinks == tied, (backend, got[["index", "verdict", "message"]].to_string())
        assert set(got.loc[~got["index"].isin(tied), "verdict"]) == {"agree"}, backend
