"""exact.counts.count_ops: sympy.count_ops's number, each distinct subexpression counted once.

The sympy backend's expr_ops and expr_ops_cse are counted with it, so it must give SymPy's own
number on every gradient (and every operator's entries) of problems/, as differentiated and after
CSE, and on trees made here by hand for each rule of SymPy's loop (SUB, NEG, DIV, exp(-x), a
lattice of three, Piecewise and its conditions, relations and booleans at the root). On
SymEngine's expressions it counts by the same rules (tests/test_symengine_backend.py compares it
with sympy.count_ops where both libraries build the same tree)."""

import time
from pathlib import Path

import pytest
import sympy

from diffcompare.exact.counts import count_ops
from diffcompare.exact.symbolic import SymbolicLimit
from diffcompare.exact.truth import truth_of
from diffcompare.running.runner import load_problems

ROOT = Path(__file__).resolve().parent.parent


def sympys(exprs) -> int:
    return int(sum(sympy.count_ops(e) for e in exprs))


def counted_lists(problem) -> list[tuple[str, list]]:
    """What the sympy backend counts for the problem: its entries as differentiated, and after CSE."""
    truth = truth_of(problem)
    if problem.operator == "gradient":
        form = truth.symbolic
        (replacements, reduced), exprs = form.gradient_cse, form.gradient_exprs
    else:
        exprs = truth.operator_exprs.flat()
        replacements, reduced = sympy.cse(exprs)
    return [("expr_ops", exprs), ("expr_ops_cse", [e for _, e in replacements] + list(reduced))]


def test_every_gradient_of_problems_counts_as_sympy_counts():
    problems, errors = load_problems([ROOT / "problems", ROOT / "behaviours"])
    assert not errors and len(problems) > 90
    checked, mismatches = 0, []
    for problem in problems:
        try:
            lists = counted_lists(problem)
        except SymbolicLimit:  # past SymPy's size (gulf-at-optimum: 201 point elements): no sympy rows
            continue
        for column, exprs in lists:
            got, want = count_ops(exprs), sympys(exprs)
            if got != want:
                mismatches.append(f"{problem.name} {column}: {got} != {want}")
            checked += 1
    assert not mismatches, mismatches
    assert checked > 180


x, y, z = sympy.symbols("x y z")
r = sympy.Symbol("r", positive=True)


@pytest.mark.parametrize(
    "expr",
    [
        x - y,  # SUB
        -x,  # NEG
        -x - y,  # NEG + SUB
        -x + y + 3,
        x / y,  # DIV
        1 / x / y,  # DIV + MUL
        -x / (y + 2) - sympy.sin(x) / 3,
        x**-1,
        x ** sympy.Rational(-3, 2) + sympy.E,
        sympy.Rational(-2, 3),  # NEG + DIV
        sympy.Rational(-2, 3) * x * y,
        sympy.exp(-x),  # NEG + EXP
        sympy.exp(-x) * y,  # DIV + EXP
        -sympy.exp(x),  # NEG + EXP
        -sympy.E + x * sympy.exp(-y),
        sympy.Pow(sympy.E, x, evaluate=False),
        sympy.Max(x, y, 1),  # two MAX
        sympy.Min(x, y, z) * sympy.Rational(-2, 3),
        sympy.Piecewise((x**2, x < 1), (sympy.sqrt(x), True)),
        sympy.Piecewise((x, sympy.And(x < 1, y > 2)), (-y, sympy.Or(x >= 3, sympy.Eq(y, 0))), (0, True)),
        sympy.Piecewise((x, sympy.Not(sympy.Eq(x, y))), (y, True)),
        sympy.Piecewise((x, sympy.Xor(x < 1, y < 1)), (y, True)),
        sympy.sin(x) * x + sympy.sin(x) ** 2,
        sympy.Abs(x - y) * sympy.sign(y) + sympy.floor(x / 2),
        sympy.log(r) * r ** sympy.Rational(1, 3) - sympy.atan2(y, x),
        sympy.Derivative(sympy.Abs(x), x) * 2,
        sympy.Integral(x**2, (x, 0, y)),
        sympy.Function("g")(x, y) - 1,
        sympy.I * x - 2 * sympy.I,
        sympy.Float(0.5) * x - sympy.Float(-1.5),
        sympy.oo - x,
        sympy.S.NegativeInfinity * x,
        (x + y) ** 2 * (x + y) ** -3 + (x + y) ** 2,  # a repeated subexpression
        x < y + 1,  # a relation at the root: its operands' counts and 1
        sympy.And(x < 1, sympy.Or(y > 2, sympy.Eq(x + y, z)), sympy.Not(z < 0)),
        sympy.true,
        sympy.Tuple(x + 1, sympy.sin(y)),
        sympy.Dict({x + 1: sympy.sin(y) - z}),
        [x - 1, (sympy.cos(y), None), {x: y / 2}],
        0,
        2.5,
        None,
    ],
    ids=str,
)
def test_a_made_tree_counts_as_sympy_counts(expr):
    assert count_ops([expr]) == sympy.count_ops(expr)


def test_repeats_are_counted_as_often_as_the_tree_holds_them():
    """Two roots sharing subexpressions: their counts are each root's own (the memo is shared, not the count)."""
    shared = sympy.sin(x + y) * sympy.exp(-x)
    exprs = [shared, shared + 1, shared**2 - shared, shared]
    assert count_ops(exprs) == sympys(exprs)


def test_the_logistic_maps_derivative_as_sympy_counts_it():
    x0 = sympy.Symbol("x")
    e = x0
    for _ in range(8):
        e = sympy.Rational(39, 10) * e * (1 - e)
    derivative = e.diff(x0)
    assert count_ops([derivative]) == sympy.count_ops(derivative) == 16_768


def test_count_is_linear_in_the_distinct_subexpressions():
    """f ← sin(f) + cos(f) thirty times: a tree of 3·(2³⁰ - 1) operations (ADD, SIN, COS at each of
    2³⁰ - 1 nodes) and a DAG of 91 nodes, counted in well under a second."""
    f = x
    for depth in range(1, 31):
        f = sympy.sin(f) + sympy.cos(f)
        if depth == 6:
            assert count_ops([f]) == sympy.count_ops(f) == 3 * (2**6 - 1)
    start = time.perf_counter()
    assert count_ops([f]) == 3 * (2**30 - 1)
    assert time.perf_counter() - start < 1.0


def test_symengine_expressions_by_the_same_rules():
    """SymEngine's own form (it keeps 4*(x + y), which SymPy distributes), counted by SymPy's rules;
    a relation at the root too; and the same tower as above, linear."""
    se = pytest.importorskip("symengine")
    a, b = se.symbols("x y")
    assert count_ops([4 * (a + b)]) == 2  # MUL, ADD
    assert count_ops([se.exp(-a) * b - a / 3]) == sympy.count_ops(sympy.exp(-x) * y - x / 3) == 4
    assert count_ops([a < b + 1]) == sympy.count_ops(x < y + 1) == 2
    assert count_ops([se.Max(a, b, 1) + se.I * a]) == 4  # MAX twice, ADD, MUL (I·x)
    f = a
    for _ in range(30):
        f = se.sin(f) + se.cos(f)
    assert count_ops([f]) == 3 * (2**30 - 1)
    # both libraries in one call: each counted by its own rules, summed
    assert count_ops([se.sin(a) - b, sympy.sin(x) - y]) == 4


def test_text_is_refused_not_parsed():
    with pytest.raises(TypeError, match="not text"):
        count_ops(["x + __import__('os').getpid()"])
