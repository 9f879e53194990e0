"""Issue 18: SymPy's derivatives made cheaper, not different.

exact.symbolic.Differentiator gives, for every symbol of a gradient, the expression
`expr.diff(symbol)` gives (== and the same srepr), on every scalar problem the project
ships (problems/, the published suite, the construct cases), as the reference builds f and
as the report types it; without visiting, per symbol, the terms of a sum that do not hold it
(SymPy's diff visits all of them for every symbol: n² on a sum of n terms). And a process
keeps a problem's SymPy form for the next problem that differs only in the point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy

from diffcompare.exact import symbolic
from diffcompare.exact.budget import MAX_TREE_OPS, tree_ops
from diffcompare.exact.symbolic import (
    MAX_ELEMENTS,
    READABLE_OPS,
    Differentiator,
    SymbolicForm,
    SymbolicTimeout,
    _exact_array,
    _readable_constant,
    element_symbols,
    object_array,
    sympy_time_limit,
    to_sympy,
)
from diffcompare.lang.program import Program
from diffcompare.running.runner import load_problems
from diffcompare.spec.problem import build_problems
from tests.conftest import ROOT
from tests.construct_cases import CASES

SECONDS = 10.0  # per problem, SymPy's own diff included; a problem past it is left out (counted)
SYMBOLS = 4  # the first, two middle and the last element of each wrt variable: every one of a small point


def _construct_problems() -> list:
    out = []
    for name, case in CASES.items():
        document = {"function": case.function, "point": case.point}
        if case.wrt:
            document["wrt"] = case.wrt
        problems, errors = build_problems(document, f"{name}.yaml", name)
        assert errors == [], (name, errors)
        out += problems
    return out


def _file_problems(path: Path) -> list:
    problems, _ = load_problems([path])
    return problems


def _symbols_to_check(symbols: np.ndarray) -> list:
    flat = list(symbols.ravel())
    if len(flat) <= SYMBOLS:
        return flat
    return [flat[0], flat[len(flat) // 2 - 1], flat[len(flat) // 2], flat[-1]]


def _functions(problem):
    """f as the reference builds it (exact constants, data as numbers) and as the report types it."""
    symbols = {k: element_symbols(k, v.shape) for k, v in problem.point.items()}
    values = {k: symbols[k] if k in problem.wrt else _exact_array(v) for k, v in problem.point.items()}
    exact = to_sympy(problem.function, values)[()]
    readable = Program(
        problem.function,
        READABLE_OPS,
        constant=lambda v: _exact_array(v) if np.ndim(v) else object_array(_readable_constant(v)),
        index=lambda x, ix: object_array(x[ix]),
    )(symbols)[()]
    return symbols, {"exact": exact, "readable": readable}


def _differences(problems) -> tuple[int, list, list]:
    """(derivatives compared, differences, problems left out past SECONDS)."""
    compared, differences, left_out = 0, [], []
    for problem in problems:
        if problem.function.shape != () or sum(v.size for v in problem.point.values()) > MAX_ELEMENTS:
            continue
        if tree_ops(problem.function) > MAX_TREE_OPS:
            continue
        try:
            with sympy_time_limit(SECONDS, problem.name):
                symbols, functions = _functions(problem)
                for kind, function in functions.items():
                    differentiator = Differentiator(function)
                    for var in problem.wrt:
                        for symbol in _symbols_to_check(symbols[var]):
                            ours, sympys = differentiator.diff(symbol), function.diff(symbol)
                            compared += 1
                            if ours != sympys or sympy.srepr(ours) != sympy.srepr(sympys):
                                differences.append((problem.name, kind, str(symbol), str(ours), str(sympys)))
        except SymbolicTimeout:
            left_out.append(problem.name)
    return compared, differences, left_out


@pytest.mark.slow
def test_the_derivatives_are_sympys_on_every_construct():
    compared, differences, left_out = _differences(_construct_problems())
    assert differences == []
    assert left_out == []
    assert compared > 150


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["problems", "benchmarks/published/suite"])
def test_the_derivatives_are_sympys_on_every_shipped_problem(folder):
    problems = _file_problems(ROOT / folder)
    compared, differences, left_out = _differences(problems)
    assert differences == []
    assert left_out == []
    assert compared > 100


def test_the_fast_path_is_taken_here():
    """The rules Differentiator repeats were read in the installed SymPy: if this fails, a new
    SymPy came; read its rules (RULES_READ_IN) before adding it, or every derivative is SymPy's
    own diff again (correct, and as slow as before)."""
    x = element_symbols("x", (3,))
    assert Differentiator(sympy.Add(*[v**2 for v in x])).fast


def _rosenbrock(n: int):
    x = element_symbols("x", (n,))
    return x, sympy.Add(*[100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(n - 1)])


def test_a_term_without_the_symbol_is_not_visited(monkeypatch):
    """SymPy's diff of a sum asks each of its n terms for its derivative in each of the n symbols
    (n² Derivative calls on Rosenbrock); here, for one symbol, only the terms that hold it."""
    x, f = _rosenbrock(60)
    calls = []
    original = sympy.Expr.diff

    def counted(self, *args, **kwargs):
        calls.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sympy.Expr, "diff", counted)
    differentiator = Differentiator(f)
    ours = [differentiator.diff(v) for v in x[:5]]
    assert len(calls) == 0  # Add, Mul, Pow and a symbol: all of them by the rules written out
    theirs = [f.diff(v) for v in x[:5]]
    assert len(calls) > 5 * len(f.args)  # every term, for every symbol
    assert ours == theirs


def test_where_the_rules_are_not_written_out_sympys_diff_is_asked():
    x, y = sympy.symbols("x y", real=True)
    f = sympy.Piecewise((x**2, x > y), (sympy.Abs(y) * x, True)) + sympy.Max(x, y) + sympy.floor(x) + x * y
    differentiator = Differentiator(f)
    for v in (x, y):
        assert sympy.srepr(differentiator.diff(v)) == sympy.srepr(f.diff(v))
    assert not Differentiator(sympy.Derivative(sympy.Function("g")(x), x) + x).fast


def test_a_differentiation_past_its_time_is_stopped_inside():
    """The time limit (budget.interrupt_after) stops the differentiator as it stopped SymPy's diff."""
    x, f = _rosenbrock(200)
    differentiator = Differentiator(f)
    with pytest.raises(SymbolicTimeout):
        with sympy_time_limit(0.05, "differentiating"):
            while True:
                for v in x:
                    differentiator.diff(v)
                differentiator.free.clear()


# -- the per-process memo of forms -----------------------------------------------------------


def _problem(function: str, point: dict, **keys):
    (problem,), errors = build_problems({"function": function, "point": point, **keys}, "t.yaml", "t")
    assert errors == []
    return problem


def test_a_problem_that_differs_only_in_its_point_takes_the_form_built_before():
    first = SymbolicForm(_problem("sum(sin(x ** 2)) * k", {"x": [0.5, 0.7], "k": 3.0}, wrt=["x"]))
    second = SymbolicForm(_problem("sum(sin(x ** 2)) * k", {"x": [1.5, -0.2], "k": 3.0}, wrt=["x"]))
    assert second.derivatives is first.derivatives and second.function is first.function
    assert second.cse is first.cse and second.expr_ops_cse == first.expr_ops_cse
    # Its differentiation's time is the first's, not the moment it took to find it: the sympy
    # backend's setup_s does not depend on whether an earlier problem built the form.
    assert second.build_s == first.build_s > 0
    # The point's values are no part of it: each problem's inputs are its own.
    assert second.problem.point["x"].tolist() == [1.5, -0.2]


def test_data_held_constant_are_part_of_the_form():
    """Variables outside wrt enter f as their exact values: another value, another form."""
    three = SymbolicForm(_problem("k * x ** 2", {"x": 0.5, "k": 3.0}, wrt=["x"]))
    four = SymbolicForm(_problem("k * x ** 2", {"x": 0.5, "k": 4.0}, wrt=["x"]))
    (x,) = three.symbols["x"].ravel()
    assert three.derivatives["x"][()] == 6 * x
    assert four.derivatives["x"][()] == 8 * x
    other_wrt = SymbolicForm(_problem("k * x ** 2", {"x": 0.5, "k": 3.0}))
    assert set(other_wrt.derivatives) == {"x", "k"}


def test_a_step_that_ran_out_of_time_is_not_shared():
    problem = _problem("cos(x) * x", {"x": 0.25})
    first = SymbolicForm(problem)

    def out_of_time():
        raise SymbolicTimeout("stopped")

    with pytest.raises(SymbolicTimeout):
        first.step("a shared step", out_of_time, shared=True)
    second = SymbolicForm(_problem("cos(x) * x", {"x": 0.75}))
    assert second.step("a shared step", lambda: 42, shared=True) == 42
    with pytest.raises(SymbolicTimeout):  # still this form's own
        first.step("a shared step", lambda: 0, shared=True)


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(symbolic._MEMO, "size", 3)
    for k in range(6):
        SymbolicForm(_problem(f"x ** {k + 2}", {"x": 0.5}))
    assert len(symbolic._MEMO) <= 3
