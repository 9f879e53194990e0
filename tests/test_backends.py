"""Every primitive through every backend: the exact backends agree with the
reference in float64, and the chain-rule tape reads like the hand derivation."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

import diffcompare
from diffcompare import backends as registry
from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.spec.problem import build_problem

ALL = ["sympy", "torch", "jax", "chainrule", "central"]

# Constructs and primitives together, each at a point inside its domain and away from kinks;
# tests/test_primitives.py checks that every primitive has a case of its own.
CASES = {
    "sin": ("sin(x)", {"x": 0.7}),
    "cos": ("cos(x)", {"x": 0.7}),
    "tan": ("tan(x)", {"x": 0.7}),
    "asin": ("asin(x)", {"x": 0.3}),
    "acos": ("acos(x)", {"x": 0.3}),
    "atan": ("atan(x)", {"x": 1.7}),
    "sinh": ("sinh(x)", {"x": 1.1}),
    "cosh": ("cosh(x)", {"x": 1.1}),
    "tanh": ("tanh(x)", {"x": 0.4}),
    "exp": ("exp(x)", {"x": 1.3}),
    "expm1": ("expm1(x)", {"x": 1e-3}),
    "log": ("log(x)", {"x": 2.5}),
    "log1p": ("log1p(x)", {"x": 0.25}),
    "log2": ("log2(x)", {"x": 3.0}),
    "log10": ("log10(x)", {"x": 7.0}),
    "sqrt": ("sqrt(x)", {"x": 2.0}),
    "abs": ("abs(x)", {"x": -1.3}),
    "sigmoid": ("sigmoid(x)", {"x": -0.8}),
    "relu": ("relu(x) + relu(-x * y)", {"x": 0.7, "y": 2.0}),
    "softplus": ("softplus(x)", {"x": 0.3}),
    "erf": ("erf(x)", {"x": 0.6}),
    "min": ("min(x, y)", {"x": 0.5, "y": 2.0}),
    "max": ("max(x, y)", {"x": 0.5, "y": 2.0}),
    "clamp": ("clamp(x, 0, 1) + clamp(y, 0, 1)", {"x": 0.5, "y": 2.0}),
    "where": ("where(x > y, x * y, x + y)", {"x": 0.5, "y": 2.0}),
    "pow": ("x ** y + 2 ** x", {"x": 1.5, "y": 2.5}),
    "div": ("x / y", {"x": 1.5, "y": 2.5}),
    "sum": ("sum(v ** 2)", {"v": [1.0, -2.0, 3.0]}),
    "mean": ("mean(sin(v))", {"v": [1.0, -2.0, 3.0]}),
    "prod": ("prod(v)", {"v": [1.5, -2.0, 3.0]}),
    "prod-with-a-zero": ("prod(v)", {"v": [0.0, 2.0, 3.0]}),
    "dot": ("dot(v, u)", {"v": [1.0, -2.0, 3.0], "u": [0.5, 0.25, 2.0]}),
    "norm": ("norm(A)", {"A": [[1.0, -2.0], [3.0, 0.5]]}),
    "logsumexp": ("logsumexp(v)", {"v": [1.0, -2.0, 3.0]}),
    "matmul": ("sum(tanh(A @ v)) + v @ A @ v + sum(A @ A)", {"A": [[1.0, -2.0], [3.0, 0.5]], "v": [0.3, -0.2]}),
    "index": (
        "A[1, 0] * v[0] + sum(A[:, 1]) + sum(v[1:] ** 3)",
        {"A": [[1.0, -2.0], [3.0, 0.5]], "v": [0.3, -0.2, 0.9]},
    ),
    "broadcast": ("sum(A * v + v)", {"A": [[1.0, -2.0], [3.0, 0.5]], "v": [0.3, -0.2]}),
    "pi-e": ("sin(pi * x) + e ** x", {"x": 0.3}),
    "max-of-one-array": ("max(v ** 2) + min(sin(v))", {"v": [1.0, -2.0, 3.0]}),
    "max-of-three": ("max(x, y, x * y) + min(x, y, 0.25)", {"x": 0.5, "y": 2.0}),
    "reductions-along-axes": (
        "sum(sin(A), axis=1)[0] + 2 * sum(sin(A), axis=1)[1] + mean(A, axis=0)[1] + prod(A, axis=-1)[0] + norm(A, axis=(0, 1))"
        " + logsumexp(A, axis=-2)[2] + max(A, axis=1)[1] * min(A, axis=(1,))[0]",
        {"A": [[1.0, -2.0, 0.5], [3.0, 0.5, -1.0]]},
    ),
    "softmax-log-softmax": (
        "sum(W * softmax(A, axis=0)) + sum(W * log_softmax(A)) + softmax(v)[1]",
        {"A": [[1.0, -2.0, 0.5], [3.0, 0.5, -1.0]], "W": [[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]], "v": [0.3, -0.2]},
    ),
}


@pytest.fixture(scope="module")
def case_results():
    frames = []
    for name, (function, point) in CASES.items():
        frame = diffcompare.compare(function, point=point, backends=ALL, name=name)
        frames.append(frame)
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("case", list(CASES))
def test_float64_exact_backends_agree_on_every_primitive(case_results, case):
    got = case_results[(case_results["problem"] == case) & (case_results["dtype"] == "float64")]
    assert set(got["backend"]) == set(ALL)
    bad = got[got["verdict"] != "agree"]
    assert bad.empty, bad[["backend", "variable", "index", "value", "reference", "message"]].to_string()
    exact = got[got["backend"] != "central"]
    assert exact["rel_error"].max() < 1e-13


def test_float32_rows_are_float32(case_results):
    got = case_results[
        (case_results["dtype"] == "float32") & case_results["backend"].isin(["torch", "jax", "chainrule"])
    ]
    assert (got["verdict"] == "agree").all()
    # a float32 computation shows float32 rounding somewhere
    assert got["rel_error"].max() > 1e-9


def test_tape_reads_like_the_hand_decomposition(tmp_path):
    problem = build_problem(
        {"let": {"a": "-x", "b": "exp(a)", "c": "1 + b", "s": "1.0 / c"}, "function": "s", "point": {"x": 2.0}},
        "f.yaml",
        "sigmoid",
    )
    steps = ChainRule(problem.function, "float64").tape(point_in(problem.point, "float64"), ["x"])
    assert [(s.name, s.operation) for s in steps] == [
        ("x", "input"),
        ("a", "neg(x)"),
        ("b", "exp(a)"),
        ("c", "add(1, b)"),
        ("s", "div(1.0, c)"),
    ]
    assert float(steps[0].adjoint) == pytest.approx(0.10499358540350652, rel=1e-15)
    assert float(steps[-1].adjoint) == 1.0
    assert dict(steps[2].local)["a"] == pytest.approx(np.exp(-2.0))


def test_a_variable_used_twice_accumulates_both_paths():
    problem = build_problem({"function": "x * x + x", "point": {"x": 3.0}}, "f", "p")
    grads = ChainRule(problem.function, "float64").gradient(point_in(problem.point, "float64"), ["x"])
    assert float(grads["x"]) == 7.0


def test_held_constant_and_unused_variables():
    frame = diffcompare.compare("x * y", point={"x": 2.0, "y": 3.0, "k": 5.0}, wrt=["x", "k"], backends=ALL)
    assert set(frame["variable"]) == {"x", "k"}
    assert (frame[frame["variable"] == "k"]["value"] == 0).all()
    assert (frame[frame["variable"] == "x"]["value"].round(3) == 3.0).all()
    assert (frame["verdict"] == "agree").all()


def test_missing_package_gives_skipped_rows_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    monkeypatch.delitem(sys.modules, "diffcompare.backends.torch_backend", raising=False)
    frame = diffcompare.compare("sin(x)", point={"x": 1.0}, backends=["torch", "sympy"])
    skipped = frame[frame["backend"] == "torch"]
    assert set(skipped["dtype"]) == {"float32", "float64"}
    assert (skipped["verdict"] == "skipped").all()
    assert skipped["message"].str.contains("pip install 'diffcompare\\[torch\\]'").all()
    assert (frame[frame["backend"] == "sympy"]["verdict"] == "agree").all()


def test_a_backend_that_raises_costs_only_its_rows(monkeypatch):
    backend = registry.load("chainrule")

    def broken(problem, dtype):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(type(backend), "gradient", lambda self, p, d: broken(p, d))
    frame = diffcompare.compare("sin(x)", point={"x": 1.0}, backends=["chainrule", "sympy"])
    errors = frame[frame["backend"] == "chainrule"]
    assert (errors["verdict"] == "error").all()
    assert (errors["message"] == "RuntimeError: boom second line").all()
    assert (frame[frame["backend"] == "sympy"]["verdict"] == "agree").all()


def test_selecting_sympy_never_imports_torch_or_jax():
    code = (
        "import sys, diffcompare\n"
        "frame = diffcompare.run('problems/square.yaml', backends=['sympy'])\n"
        "assert (frame['verdict'] == 'agree').all(), frame\n"
        "assert 'torch' not in sys.modules and 'jax' not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_backends_are_listed_in_a_fixed_order():
    assert registry.available_names()[:9] == [
        "sympy",
        "torch",
        "jax",
        "chainrule",
        "central",
        "richardson",
        "complex_step",
        "manual",
        "expected",
    ]
    assert isinstance(registry.load("nonexistent"), registry.Unavailable)
