"""Every construct of the language, each at a point inside its domain and away from its kinks:
one case per primitive of diffcompare.lang.primitives.PRIMITIVES (its IR holds a node of
that primitive), and one per construct of the syntax that is no primitive of its own (list
literals, nested lists, A.T, max of many arguments, reductions along axes, index arrays
from data, index loops …), which the parser lowers to primitives. tests/test_backends.py
walks every case through the built-in backends it lists; tests/test_{symengine,casadi,tensorflow,autograd}_backend.py
through theirs, and tests/test_extending.py through the example's autograd_example."""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    function: str
    point: dict
    manual: str | None = None  # the derivative in x by hand, for the `manual` backend
    wrt: list[str] | None = None  # None: every variable of the point


V = [1.0, -2.0, 3.0]
# primitive -> (function, point, manual derivative in x or None): each at a point inside
# its domain and away from its kinks.
_PRIMITIVES = {
    "add": ("x + y", {"x": 0.7, "y": 2.0}, "1"),
    "sub": ("x - y", {"x": 0.7, "y": 2.0}, "1"),
    "mul": ("x * y", {"x": 0.7, "y": 2.0}, "y"),
    "div": ("x / y", {"x": 1.5, "y": 2.5}, "1 / y"),
    "pow": ("x ** y + 2 ** x", {"x": 1.5, "y": 2.5}, "y * x ** (y - 1) + log(2) * 2 ** x"),
    "neg": ("-x", {"x": 0.7}, "-1"),
    "matmul": ("v @ A @ v", {"A": [[1.0, -2.0], [3.0, 0.5]], "v": [0.3, -0.2]}, None),
    "sin": ("sin(x)", {"x": 0.7}, "cos(x)"),
    "cos": ("cos(x)", {"x": 0.7}, "-sin(x)"),
    "tan": ("tan(x)", {"x": 0.7}, "1 / cos(x) ** 2"),
    "asin": ("asin(x)", {"x": 0.3}, "1 / sqrt(1 - x ** 2)"),
    "acos": ("acos(x)", {"x": 0.3}, "-1 / sqrt(1 - x ** 2)"),
    "atan": ("atan(x)", {"x": 1.7}, "1 / (1 + x ** 2)"),
    "sinh": ("sinh(x)", {"x": 1.1}, "cosh(x)"),
    "cosh": ("cosh(x)", {"x": 1.1}, "sinh(x)"),
    "tanh": ("tanh(x)", {"x": 0.4}, "1 - tanh(x) ** 2"),
    "exp": ("exp(x)", {"x": 1.3}, "exp(x)"),
    "expm1": ("expm1(x)", {"x": 1e-3}, "exp(x)"),
    "log": ("log(x)", {"x": 2.5}, "1 / x"),
    "log1p": ("log1p(x)", {"x": 0.25}, "1 / (1 + x)"),
    "log2": ("log2(x)", {"x": 3.0}, "1 / (x * log(2))"),
    "log10": ("log10(x)", {"x": 7.0}, "1 / (x * log(10))"),
    "sqrt": ("sqrt(x)", {"x": 2.0}, "0.5 / sqrt(x)"),
    "abs": ("abs(x)", {"x": -1.3}, "-1"),
    "sigmoid": ("sigmoid(x)", {"x": -0.8}, "sigmoid(x) * (1 - sigmoid(x))"),
    "relu": ("relu(x) + relu(-x * y)", {"x": 0.7, "y": 2.0}, "1"),
    "softplus": ("softplus(x)", {"x": 0.3}, "sigmoid(x)"),
    "erf": ("erf(x)", {"x": 0.6}, "2 / sqrt(pi) * exp(-x ** 2)"),
    "asinh": ("asinh(x)", {"x": 0.7}, "1 / sqrt(x ** 2 + 1)"),
    "acosh": ("acosh(x)", {"x": 1.7}, "1 / sqrt(x ** 2 - 1)"),
    "atanh": ("atanh(x)", {"x": 0.4}, "1 / (1 - x ** 2)"),
    "atan2": ("atan2(x, y)", {"x": 0.7, "y": -1.2}, "y / (x ** 2 + y ** 2)"),
    "hypot": ("hypot(x, y)", {"x": 0.7, "y": -1.2}, "x / hypot(x, y)"),
    "cbrt": ("cbrt(x)", {"x": -2.7}, "1 / (3 * cbrt(x) ** 2)"),
    "erfc": ("erfc(x)", {"x": 0.8}, "-2 / sqrt(pi) * exp(-x ** 2)"),
    "lgamma": ("lgamma(x)", {"x": 3.3}, "digamma(x)"),
    "gamma": ("gamma(x)", {"x": 2.3}, "gamma(x) * digamma(x)"),
    "digamma": ("digamma(x)", {"x": 1.7}, None),
    "exp2": ("exp2(x)", {"x": 1.3}, "log(2) * exp2(x)"),
    "logaddexp": ("logaddexp(x, y)", {"x": 0.7, "y": -1.2}, "exp(x - logaddexp(x, y))"),
    "floor": ("x * floor(x)", {"x": 2.5}, "floor(x)"),
    "ceil": ("x * ceil(x)", {"x": 2.5}, "ceil(x)"),
    "round": ("x * round(x)", {"x": 2.7}, "round(x)"),
    "trunc": ("x * trunc(x)", {"x": -2.7}, "trunc(x)"),
    "sign": ("x * sign(x)", {"x": -2.7}, "sign(x)"),
    "mod": ("x % y + y % x", {"x": 7.3, "y": -2.0}, "1 - floor(y / x)"),
    "min": ("min(x, y)", {"x": 0.5, "y": 2.0}, "1"),
    "max": ("max(x, y)", {"x": 0.5, "y": 2.0}, "0"),
    "clamp": ("clamp(x, 0, 1) + clamp(y, 0, 1)", {"x": 0.5, "y": 2.0}, "1"),
    "where": ("where(x > y, x * y, x + y)", {"x": 0.5, "y": 2.0}, "1"),
    "lt": ("where(x < y, x * y, x + y)", {"x": 0.5, "y": 2.0}, "y"),
    "le": ("where(x <= y, x * y, x + y)", {"x": 0.5, "y": 2.0}, "y"),
    "gt": ("where(x > y, x * y, x + y)", {"x": 0.5, "y": 2.0}, "1"),
    "ge": ("where(x >= y, x * y, x + y)", {"x": 0.5, "y": 2.0}, "1"),
    "eq": ("where(x == y, x * y, x + y)", {"x": 0.5, "y": 2.0}, "1"),
    "ne": ("where(x != y, x * y, x + y)", {"x": 0.5, "y": 2.0}, "y"),
    "sum": ("sum(v ** 2)", {"v": V}, None),
    "mean": ("mean(sin(v))", {"v": V}, None),
    "prod": ("prod(v)", {"v": [1.5, -2.0, 3.0]}, None),
    "dot": ("dot(v, u)", {"v": V, "u": [0.5, 0.25, 2.0]}, None),
    "norm": ("norm(A)", {"A": [[1.0, -2.0], [3.0, 0.5]]}, None),
    "logsumexp": ("logsumexp(v)", {"v": V}, None),
    "amax": ("max(v ** 2)", {"v": V}, None),
    "amin": ("min(sin(v))", {"v": V}, None),
    "stack": ("sum(sin([x, x * y, 2.0]) * [1, 2, 3])", {"x": 0.7, "y": 2.0}, "cos(x) + 2 * y * cos(x * y)"),
    "concatenate": ("sum(sin(concatenate(v, v ** 2)))", {"v": V}, None),
    "transpose": ("sum(sin(transpose(A)) @ [1.0, 2.0])", {"A": [[1.0, -2.0], [3.0, 0.5]]}, None),
    "reshape": ("sum(sin(reshape(v, (3, 1))) @ [2.0])", {"v": V}, None),
    "roll": ("sum(v * roll(v, 1) * [1, 2, 3])", {"v": V}, None),
    "cumsum": (
        "sum(cumsum(v) ** 2) + sum(cumsum(A, axis=1) * [[1, 2], [3, 4]]) + sum(sin(cumsum(A, axis=0)))",
        {"v": V, "A": [[1.0, -2.0], [3.0, 0.5]]},
        None,
    ),
    "tril": ("sum(sin(tril(A)) * [[1, 2], [3, 4]])", {"A": [[1.0, -2.0], [3.0, 0.5]]}, None),
    "triu": ("sum(sin(triu(A, 1)) * [[1, 2], [3, 4]])", {"A": [[1.0, -2.0], [3.0, 0.5]]}, None),
    "diag": ("sum(sin(diag(v)) @ [1, 2, 3]) + sum(diag(A) ** 3)", {"v": V, "A": [[1.0, -2.0], [3.0, 0.5]]}, None),
    "outer": ("sum(sin(outer(v, u)))", {"v": V, "u": [0.5, 0.25, 2.0]}, None),
    "arange": ("sum(sin(v) * arange(1, 4))", {"v": V}, None),
    "zeros": ("sum((zeros((3,)) + v) ** 2)", {"v": V}, None),
    "ones": ("sum(ones((3,)) / (1 + v ** 2))", {"v": V}, None),
    "take": ("sum(sin(v[i]) * (i + 1) for i in range(3)) + sum(v[i] * v[2 - i] for i in range(3))", {"v": V}, None),
    "softmax": (
        "softmax([x, y, 0.5])[0] + sum(softmax(A, axis=0) * [[1, 2], [3, 4]])",
        {"x": 0.7, "y": 2.0, "A": [[1.0, -2.0], [3.0, 0.5]]},
        "exp(x) * (exp(y) + exp(0.5)) / (exp(x) + exp(y) + exp(0.5)) ** 2",
    ),
    "log_softmax": (
        "log_softmax([x, y, 0.5])[0] + sum(log_softmax(A) * [[1, 2], [3, 4]])",
        {"x": 0.7, "y": 2.0, "A": [[1.0, -2.0], [3.0, 0.5]]},
        "1 - exp(x) / (exp(x) + exp(y) + exp(0.5))",
    ),
}


PRIMITIVE_CASES = {name: Case(*case) for name, case in _PRIMITIVES.items()}

A2 = [[1.0, -2.0], [3.0, 0.5]]
A23 = [[1.0, -2.0, 0.5], [3.0, 0.5, -1.0]]
# construct as written -> Case; `marker` (SYNTAX_MARKERS) is text the case must hold.
SYNTAX_CASES = {
    "relu-both-sides": Case("relu(x) + relu(-x * y)", {"x": 0.7, "y": 2.0}, "1"),
    "prod-with-a-zero": Case("prod(v)", {"v": [0.0, 2.0, 3.0]}),
    "index-and-slices": Case("A[1, 0] * v[0] + sum(A[:, 1]) + sum(v[1:] ** 3)", {"A": A2, "v": [0.3, -0.2, 0.9]}),
    "broadcast": Case("sum(A * v + v)", {"A": A2, "v": [0.3, -0.2]}),
    "pi-e": Case("sin(pi * x) + e ** x", {"x": 0.3}, "pi * cos(pi * x) + e ** x"),
    "matmul-forms": Case("sum(tanh(A @ v)) + v @ A @ v + sum(A @ A)", {"A": A2, "v": [0.3, -0.2]}),
    "max-of-one-array": Case("max(v ** 2) + min(sin(v))", {"v": V}),
    "max-of-three": Case("max(x, y, x * y) + min(x, y, 0.25)", {"x": 0.5, "y": 2.0}, "0"),
    "reductions-along-axes": Case(
        "sum(sin(A), axis=1)[0] + 2 * sum(sin(A), axis=1)[1] + mean(A, axis=0)[1] + prod(A, axis=-1)[0]"
        " + norm(A, axis=(0, 1)) + logsumexp(A, axis=-2)[2] + max(A, axis=1)[1] * min(A, axis=(1,))[0]",
        {"A": A23},
    ),
    "softmax-log-softmax-axes": Case(
        "sum(W * softmax(A, axis=0)) + sum(W * log_softmax(A)) + softmax(v)[1]",
        {"A": A23, "W": [[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]], "v": [0.3, -0.2]},
    ),
    "list-literal": Case("sum(sin([x * y, sin(x), 2.0]) * [1, 2, 3])", {"x": 0.7, "y": 2.0}),
    "nested-list-matrix": Case("sum([[x, y], [y ** 2, 1]] @ [x, y])", {"x": 0.5, "y": 0.7}, "2 * x + y ** 2"),
    "one-hot-inline": Case("sum((exp(z) / sum(exp(z)) - [0, 1, 0]) ** 2)", {"z": [0.1, 0.2, 0.3]}),
    "transpose-attribute": Case("sum(sin(A.T) @ [1.0, 2.0])", {"A": A2}),
    "index-array-from-data": Case(
        "sum(sin(x[idx]) * [1, 2, 3, 4]) + sum(A[rows] @ [1.0, -1.0])",
        {"x": [0.5, 0.7, 1.1], "idx": [2, 0, 2, 1], "A": [[1.0, -2.0], [3.0, 0.5], [0.2, 0.4]], "rows": [2, 0]},
        wrt=["x", "A"],
    ),
    "loop-sum": Case("sum(i * x[i] ** 2 for i in range(3))", {"x": [0.5, 0.7, 1.1]}),
    "loop-adjacent-pairs": Case("sum(x[i] * x[i + 1] for i in range(2))", {"x": [0.5, 0.7, 1.1]}),
    "loop-prod": Case("prod(cos(x[i] / sqrt(i + 1)) for i in range(1, 3))", {"x": [0.5, 0.7, 1.1]}),
    "loop-mean-logsumexp-max-min": Case(
        "mean(x[2 * i] for i in range(2)) + logsumexp(x[i] for i in range(3))"
        " + max(x[i] ** 2 for i in range(3)) + min(sin(x[i]) for i in range(3))",
        {"x": [0.5, 0.7, 1.1]},
    ),
    "loop-matrix-diagonal": Case("sum(A[i, i] * A[i, 1 - i] for i in range(2))", {"A": A2}),
}
# The text that makes each syntax case the construct it is named after.
SYNTAX_MARKERS = {
    "max-of-three": "max(x, y, x * y)",
    "reductions-along-axes": "axis=(0, 1)",
    "list-literal": "[x * y,",
    "nested-list-matrix": "[[x, y], [",
    "one-hot-inline": "[0, 1, 0]",
    "transpose-attribute": "A.T",
    "index-array-from-data": "x[idx]",
    "loop-sum": "for i in range(3)",
    "loop-adjacent-pairs": "x[i + 1]",
    "loop-prod": "prod(cos(x[i]",
    "loop-matrix-diagonal": "A[i, i]",
}
CASES = {**PRIMITIVE_CASES, **SYNTAX_CASES}
# Primitives torch has no native function for: its cells are skipped, saying why.
TORCH_MISSING = {"cbrt", "gamma"}
# The numbers a notebook printed, for the `expected` backend: cos(0.7) and 1/(1 + 1.7²).
EXPECTED = {"sin": {"x": 0.7648421872844885}, "atan": {"x": 0.2570694087403599}}


def through(backends: list[str]):
    """Every case through these backends in this process (diffcompare.compare, each case its own
    problem named after it, with its wrt), as one frame."""
    import pandas as pd

    import diffcompare

    frames = [
        diffcompare.compare(c.function, point=c.point, backends=backends, name=n, **({"wrt": c.wrt} if c.wrt else {}))
        for n, c in CASES.items()
    ]
    return pd.concat(frames, ignore_index=True)
