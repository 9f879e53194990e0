"""Every construct of the language through every built-in backend, from one table of cases
(tests/construct_cases.py): one case per primitive of diffcompare.lang.primitives.PRIMITIVES
(checked on the IR, not on the text: `asin(x)` is no case for sin) and one per construct of
the syntax that is no primitive of its own (list literals, A.T, loops, index arrays, axis=…).

For every case, f is evaluated with each backend's own table (NumPy, complex, torch, jax,
SymPy) against the exact value, and the gradient by every built-in backend, in float64 and
float32, against the exact reference; complex_step says `skipped` wherever a primitive is
not analytic. The chain-rule tape reads like the hand derivation."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import sympy
from conftest import ROOT
from construct_cases import CASES, EXPECTED, PRIMITIVE_CASES, SYNTAX_CASES, SYNTAX_MARKERS, TORCH_MISSING

import diffcompare
from diffcompare import backends as registry
from diffcompare.engine.chainrule import NUMPY_OPS, ChainRule, numpy_constant, point_in
from diffcompare.engine.complex import COMPLEX_OPS
from diffcompare.exact.symbolic import SYMPY_OPS, SymbolicForm, exact
from diffcompare.lang.ir import topo_order
from diffcompare.lang.primitives import PRIMITIVES
from diffcompare.lang.program import Program
from diffcompare.spec.problem import build_problem

torch = pytest.importorskip("torch")
jnp = pytest.importorskip("jax.numpy")
from diffcompare.backends.jax_backend import JAX_OPS, jax_constant  # noqa: E402
from diffcompare.backends.torch_backend import TORCH_OPS, torch_constant  # noqa: E402

BACKENDS = ["sympy", "torch", "jax", "chainrule", "central", "richardson", "complex_step"]
EXACT = ["sympy", "torch", "jax", "chainrule", "manual"]


def document_of(name) -> dict:
    case = CASES[name]
    document = {"function": case.function, "point": case.point}
    if case.wrt:
        document["wrt"] = case.wrt
    return document


def problem_of(name):
    return build_problem(document_of(name), "<test>", name)


def ops_of(problem) -> set[str]:
    return {node.op for node in topo_order(problem.function)}


def analytic(problem) -> bool:
    return all(
        PRIMITIVES[n.op].analytic for n in topo_order(problem.function) if n.op in PRIMITIVES and not n.is_constant
    )


def test_every_primitive_has_a_case_that_uses_it():
    assert set(PRIMITIVE_CASES) == set(PRIMITIVES)
    for name in PRIMITIVE_CASES:
        assert name in ops_of(problem_of(name)), f"the case for {name} has no {name} node"


def test_every_syntax_case_is_written_with_its_construct():
    assert not set(SYNTAX_CASES) & set(PRIMITIVES)
    for name, marker in SYNTAX_MARKERS.items():
        assert marker in SYNTAX_CASES[name].function, name


def test_every_table_maps_every_primitive():
    for table in (NUMPY_OPS, COMPLEX_OPS, SYMPY_OPS, TORCH_OPS, JAX_OPS):
        assert set(table) == set(PRIMITIVES)


def _exact_value(problem) -> float:
    """f in SymPy at the exact binary values of the point (and of the exponents SymPy is
    given as named constants: e ** x at x = 0.3 is e ** ⟨0.3⟩)."""
    form = SymbolicForm(problem)
    values = {
        s: exact(float(v)) for k in problem.wrt for s, v in zip(form.symbols[k].ravel(), problem.point[k].ravel())
    }
    return float(sympy.N(form.function.xreplace({**values, **form.constants}), 30))


def _values(problem) -> dict[str, float]:
    """f at the point with each backend's own table."""
    root, point = problem.function, problem.point
    out = {
        "numpy": Program(root, NUMPY_OPS, constant=numpy_constant("float64"))(point),
        "jax": Program(root, JAX_OPS, constant=jax_constant("float64"))(
            {k: jnp.asarray(v, dtype="float64") for k, v in point.items()}
        ),
    }
    if not ops_of(problem) & TORCH_MISSING:
        out["torch"] = Program(root, TORCH_OPS, constant=torch_constant(torch.float64))(
            {k: torch.tensor(v, dtype=torch.float64) for k, v in point.items()}
        )
    if analytic(problem):
        cplx = {k: v.astype(np.complex128) for k, v in point.items()}
        value = Program(root, COMPLEX_OPS, constant=numpy_constant("float64"))(cplx)
        assert np.imag(value) == 0
        out["complex"] = np.real(value)
    return {k: float(np.asarray(v)) for k, v in out.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_each_table_computes_f(name):
    problem = problem_of(name)
    truth = _exact_value(problem)
    for table, value in _values(problem).items():
        assert value == pytest.approx(truth, rel=1e-14, abs=1e-300), (table, value, truth)


@pytest.fixture(scope="module")
def results():
    frames = []
    for name, case in CASES.items():
        keys = {k: v for k, v in document_of(name).items() if k not in ("function", "point")}
        backends = list(BACKENDS)
        if case.manual is not None:
            keys["manual"] = {"x": case.manual}
            backends.append("manual")
        if name in EXPECTED:
            keys["expected"] = EXPECTED[name]
            backends.append("expected")
        frames.append(diffcompare.compare(case.function, point=case.point, backends=backends, name=name, **keys))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("name", list(CASES))
def test_every_backend_differentiates_every_construct(results, name):
    got = results[(results["problem"] == name) & (results["dtype"] != "float32")]  # float64, and `expected`'s decimal
    expected_backends = (
        set(BACKENDS) | ({"manual"} if CASES[name].manual else set()) | ({"expected"} if name in EXPECTED else set())
    )
    assert set(got["backend"]) == expected_backends
    step = got[got["backend"] == "complex_step"]
    if analytic(problem_of(name)):
        assert (step["verdict"] == "agree").all(), step[["verdict", "message"]].to_string()
    else:
        assert (step["verdict"] == "skipped").all(), step[["verdict", "message"]].to_string()
    rest = got[got["backend"] != "complex_step"]
    if name in TORCH_MISSING:
        torch_rows = rest[rest["backend"] == "torch"]
        assert (torch_rows["verdict"] == "skipped").all(), torch_rows[["verdict", "message"]].to_string()
        assert torch_rows["message"].str.contains(f"torch has no native '{name}'").all()
        rest = rest[rest["backend"] != "torch"]
    bad = rest[rest["verdict"] != "agree"]
    assert bad.empty, bad[["backend", "variable", "index", "value", "reference", "message"]].to_string()
    exact = rest[rest["backend"].isin(EXACT)]
    # torch's trigamma (digamma's derivative) is good to about 4e-10 at 1.7: inside √ε, `agree`
    loose = (exact["backend"] == "torch") & (name == "digamma")
    assert exact[~loose]["rel_error"].max() < 1e-13
    assert (exact[loose]["rel_error"] < 1e-9).all()


def test_float32_rows_are_float32_and_agree(results):
    got = results[(results["dtype"] == "float32") & results["backend"].isin(["torch", "jax", "chainrule"])]
    got = got[~((got["backend"] == "torch") & got["problem"].isin(TORCH_MISSING))]
    assert set(got["problem"]) == set(CASES)
    bad = got[got["verdict"] != "agree"]
    assert bad.empty, bad[["problem", "backend", "index", "value", "reference", "message"]].to_string()
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
    frame = diffcompare.compare("x * y", point={"x": 2.0, "y": 3.0, "k": 5.0}, wrt=["x", "k"], backends=BACKENDS)
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
    # the symbolic systems, then the AD frameworks, then diffcompare's own and the given values
    assert registry.available_names()[:13] == [
        "sympy",
        "symengine",
        "casadi",
        "torch",
        "jax",
        "tensorflow",
        "autograd",
        "chainrule",
        "central",
        "richardson",
        "complex_step",
        "manual",
        "expected",
    ]
    assert isinstance(registry.load("nonexistent"), registry.Unavailable)
