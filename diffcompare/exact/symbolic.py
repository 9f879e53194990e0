"""The IR in SymPy: exact derivatives, the high-precision reference, and a
float64 evaluator for the `sympy` backend.

Arrays are NumPy object arrays of SymPy expressions, one symbol per element, so
broadcasting, indexing and @ follow NumPy exactly. The expression is built node
by node from the IR (never from text), with constants as their exact binary
values: the reference is the exact derivative of the function the float64
backends evaluate, at the exact float64 point.
"""

from __future__ import annotations

import time
from fractions import Fraction
from functools import cached_property

import numpy as np
import sympy

from diffcompare.exact.budget import MAX_TREE_OPS, Deadline, tree_ops
from diffcompare.exact.numeric import object_array
from diffcompare.lang.ir import Node, element_label
from diffcompare.lang.primitives import PRIMITIVES, native
from diffcompare.lang.program import Program


def _elementwise(fn):
    vectorized = np.vectorize(fn, otypes=[object])
    return lambda *args: object_array(vectorized(*args))


def _reduce(fn):
    """A reduction's SymPy form takes each operand as the list of its elements."""
    return lambda *xs: object_array(fn(*[list(np.ravel(x)) for x in xs]))


# Arithmetic on whole object arrays, as NumPy broadcasts it; every other primitive's
# SymPy meaning comes from its declaration (diffcompare.lang.primitives: sympy.<name>,
# or the formula it gives), applied element by element or to the list of elements.
_ARITHMETIC = {
    "add": lambda a, b: object_array(a + b),
    "sub": lambda a, b: object_array(a - b),
    "mul": lambda a, b: object_array(a * b),
    "div": lambda a, b: object_array(a / b),
    "pow": lambda a, b: object_array(a**b),
    "neg": lambda x: object_array(-x),
    "matmul": lambda a, b: object_array(np.matmul(a, b)),
}

SYMPY_OPS = {
    name: _ARITHMETIC.get(name)
    or (_reduce if p.kind == "reduction" else _elementwise)(native(p, "sympy", module=sympy))
    for name, p in PRIMITIVES.items()
}


def exact(value: float | int) -> sympy.Rational:
    """The exact binary value of a float64 (or an integer) as a SymPy rational."""
    if isinstance(value, int):
        return sympy.Integer(value)
    f = Fraction(float(value))
    return sympy.Rational(f.numerator, f.denominator)


def _exact_array(value) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    out = np.empty(value.shape, dtype=object)
    for index in np.ndindex(value.shape):
        out[index] = exact(float(value[index]))
    return out


def element_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        out[index] = sympy.Symbol(element_label(name, index), real=True)
    return out


def to_sympy(root: Node, symbols: dict[str, np.ndarray]) -> np.ndarray:
    program = Program(
        root, SYMPY_OPS, constant=lambda v: object_array(exact(v)), index=lambda x, ix: object_array(x[ix])
    )
    return program(symbols)


MAX_ELEMENTS = 200  # point elements SymPy is given: its diff costs grow with their square
TIME_LIMIT_S = 20.0  # and the seconds it is given to differentiate (less where the exact side's deadline is nearer)


class SymbolicLimit(Exception):
    """The problem is past what SymPy is given; the message says which limit."""


class SymbolicTimeout(SymbolicLimit):
    """Differentiating took longer than SymPy is given (its own limit or the exact side's deadline)."""


class SymbolicForm:
    """A problem's function and gradient in SymPy, built once."""

    def __init__(self, problem, deadline: Deadline | None = None):
        start = time.perf_counter()
        self.problem = problem
        elements = sum(v.size for v in problem.point.values())
        if elements > MAX_ELEMENTS:
            raise SymbolicLimit(f"{elements} point elements, past SymPy's limit of {MAX_ELEMENTS}")
        # Decided before SymPy sees f: its expressions are trees, and a let step used
        # twice in each of 40 steps is 2^40 operations to it.
        ops = tree_ops(problem.function)
        if ops > MAX_TREE_OPS:
            raise SymbolicLimit(f"f written out as a tree has more than {MAX_TREE_OPS} operations, past SymPy's limit")
        limit = TIME_LIMIT_S if deadline is None else min(TIME_LIMIT_S, deadline.remaining())
        self.symbols = {k: element_symbols(k, v.shape) for k, v in problem.point.items()}
        # Data (the point's variables outside wrt) enter as their exact values, not symbols:
        # f is a function of the differentiated variables only, and d/dk of x**k, which
        # nobody asked for, never makes ∂/∂x a 0/0 (k·x**k/x at x = 0).
        values = {k: self.symbols[k] if k in problem.wrt else _exact_array(v) for k, v in problem.point.items()}
        self.function = to_sympy(problem.function, values)[()]
        self.derivatives = {}  # var -> object array of the variable's shape
        for var in problem.wrt:
            out = np.empty(self.symbols[var].shape, dtype=object)
            for index in np.ndindex(out.shape):
                out[index] = self.function.diff(self.symbols[var][index])
                if time.perf_counter() - start > limit:
                    raise SymbolicTimeout(f"differentiating took more than SymPy's limit of {max(limit, 0):.3g} s")
            self.derivatives[var] = out
        self.build_s = time.perf_counter() - start  # differentiation, part of the sympy backend's setup

    @property
    def inputs(self) -> list[sympy.Symbol]:
        """Every element symbol of the point, in the point's order."""
        return [s for var in self.problem.point for s in self.symbols[var].ravel()]

    @property
    def gradient_exprs(self) -> list:
        """∂f/∂element for every element of every wrt variable, flattened in order."""
        return [e for var in self.problem.wrt for e in self.derivatives[var].ravel()]

    @cached_property
    def cse(self) -> tuple[list, list]:
        """Common subexpressions of [f, ∂f/∂…], shared by every evaluation."""
        return sympy.cse([self.function, *self.gradient_exprs])

    @cached_property
    def gradient_cse(self) -> tuple[list, list]:
        """Common subexpressions of the gradient alone: what the sympy backend evaluates."""
        return sympy.cse(self.gradient_exprs)

    @cached_property
    def expr_ops(self) -> int:
        """Operations in the gradient as differentiated, every repeat counted (expression swell)."""
        return int(sum(sympy.count_ops(e) for e in self.gradient_exprs))

    @cached_property
    def expr_ops_cse(self) -> int:
        """Operations after common-subexpression elimination."""
        replacements, reduced = self.gradient_cse
        return int(sum(sympy.count_ops(e) for _, e in replacements) + sum(sympy.count_ops(e) for e in reduced))


def _readable_constant(value: float) -> sympy.Expr:
    """A constant as a person wrote it: 1/2 for 0.5, 1.0·10⁻⁸ for 1e-8, not its exact binary value."""
    text = repr(float(value))
    if float(value).is_integer() and abs(value) < 1e15:
        return sympy.Integer(int(value))
    if "e" not in text and len(text.strip("-0.")) <= 4:
        return sympy.Rational(text)
    return sympy.Float(text, max(1, len(text.split("e")[0].strip("-0.").replace(".", ""))))


def readable_gradient(problem, elements: int = 4, max_ops: int = 200) -> list[tuple[str, sympy.Expr]]:
    """(element label, ∂f/∂element) for the first few wrt elements, for people to read:
    constants as written, variables as symbols. Empty past max_ops operations in f,
    where the derivative would be pages long (the report says so), counted on the DAG
    first: SymPy counts a tree, and a let step used twice at every step is 2^n of it."""
    if tree_ops(problem.function, 10 * max_ops) > 10 * max_ops:
        return []
    symbols = {k: element_symbols(k, v.shape) for k, v in problem.point.items()}
    program = Program(
        problem.function,
        SYMPY_OPS,
        constant=lambda v: object_array(_readable_constant(v)),
        index=lambda x, ix: object_array(x[ix]),
    )
    function = program(symbols)[()]
    if sympy.count_ops(function) > max_ops:
        return []
    out = []
    for var in problem.wrt:
        for index in np.ndindex(symbols[var].shape):
            if len(out) == elements:
                return out
            out.append((element_label(var, index), function.diff(symbols[var][index])))
    return out
