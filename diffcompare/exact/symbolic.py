"""The IR in SymPy: exact derivatives, the high-precision reference, and a
float64 evaluator for the `sympy` backend.

Arrays are NumPy object arrays of SymPy expressions, one symbol per element, so
broadcasting, indexing and @ follow NumPy exactly. The expression is built node
by node from the IR (never from text), with constants as their exact binary
values: the reference is the exact derivative of the function the float64
backends evaluate, at the exact float64 point.

Two of SymPy's automatic steps never return on forms the language allows, so the IR
is given to SymPy so that it never takes them (the values stay exact):
- a non-integer exponent whose denominator is long (0.3 is 5404319552844595/2^54) is a
  named constant (`exponent_symbol`), its exact value given to the evaluators beside the
  point: as a number, SymPy raises the integers of a coefficient to it by Python's
  big-integer power (((x/0.3)**2.5)**0.3: k**(v // g) with v near 2^54, in C, where no
  time limit reaches) and takes tanh(x**1.7)'s realness as a polynomial of degree
  7656119366529843 (Mod in tanh's assumptions; sinh and cosh the same);
- a where inside a condition is written out in And/Or/Not of its branches
  (`without_piecewise`): SymPy rewrites a Piecewise inside a condition as an ITE through
  solving inequalities (as_set, periodicity, simplify), for hours on k**k <= y.
And every SymPy step of a problem runs under one time limit (SymbolicForm.bounded), which
stops SymPy inside its own calls (budget.interrupt_after): past it, SymbolicTimeout.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from fractions import Fraction

import mpmath
import numpy as np
import sympy
from sympy.core.function import ArgumentIndexError, Derivative, Function
from sympy.core.parameters import global_parameters
from sympy.logic.boolalg import BooleanFunction
from sympy.ntheory.multinomial import multinomial_coefficients_iterator

from diffcompare.exact.budget import MAX_TREE_OPS, Deadline, Interrupted, interrupt_after, tree_ops
from diffcompare.exact.counts import count_ops
from diffcompare.exact.numeric import object_array
from diffcompare.lang.ir import Node, element_label
from diffcompare.lang.memo import Kept
from diffcompare.lang.primitives import PRIMITIVES, native
from diffcompare.lang.program import Program
from diffcompare.lang.structure import structure_key


def elementwise(fn):
    """fn of scalar expressions applied element by element to object arrays (SymPy's or
    SymEngine's: the symengine backend lowers the IR with these too)."""
    vectorized = np.vectorize(fn, otypes=[object])
    return lambda *args: object_array(vectorized(*args))


def fiber_reduction(fn):
    """A reduction's symbolic form takes each operand as the list of its elements; along
    axis= (a tuple of axes), the list of each fiber's, giving an object array of the rest."""

    def reduce(*xs, axis=None):
        if axis is None:
            return object_array(fn(*[list(np.ravel(x)) for x in xs]))
        x = np.asarray(xs[0], dtype=object)
        moved = np.moveaxis(x, axis, tuple(range(x.ndim - len(axis), x.ndim)))
        rows = moved.reshape(moved.shape[: x.ndim - len(axis)] + (-1,))
        out = np.empty(rows.shape[:-1], dtype=object)
        for index in np.ndindex(out.shape):
            out[index] = fn(list(rows[index]))
        return out

    return reduce


SHORT_DENOMINATOR = 16  # an exponent p/q with q up to 16 (5/2, 3/4) SymPy is given as the number it is
# and an integer one up to 2^16: past it, a number raised to it (0.3**1e12, which SymPy computes
# as soon as it meets it, (0.3·x)**1e12 too) is Python's own big-integer power, which nothing stops.
MAX_INTEGER_EXPONENT = 2**16
_EXPONENTS: dict[sympy.Symbol, sympy.Rational] = {}  # every exponent_symbol made in this process: its value


def exponent_symbol(value: sympy.Rational) -> sympy.Symbol:
    """An exponent as a named constant, the same symbol for the same value (SymPy still
    merges x**s * x**s), named by the float64 it is where it is one. Its sign, and whether
    it is an integer, are given: SymPy knows as much about x**s as about x**1.7."""
    fraction = Fraction(value.p, value.q)
    try:
        text = repr(float(fraction)) if Fraction(float(fraction)) == fraction else f"{value.p}/{value.q}"
    except OverflowError:
        text = f"{value.p}/{value.q}"
    sign = {"positive": True} if value > 0 else {"negative": True}
    symbol = sympy.Symbol(f"⟨{text}⟩", integer=bool(value.is_Integer), **sign)
    _EXPONENTS[symbol] = value
    return symbol


def _exponent(value, denominators: bool = True):
    """Exponents SymPy would compute with as numbers at a cost without end, named instead
    (a person's short decimals, 17/10, are safe: denominators=False names huge integers only)."""
    if isinstance(value, sympy.Rational) and (
        abs(value.p) > MAX_INTEGER_EXPONENT or (denominators and value.q > SHORT_DENOMINATOR)
    ):
        return exponent_symbol(value)
    return value


_as_exponent = np.vectorize(_exponent, otypes=[object])


def _power(a, b, denominators: bool = True):
    return object_array(a ** object_array(_as_exponent(b, denominators)))


def without_piecewise(condition):
    """A condition with every Piecewise inside it written out as the cases of its branches:
    rel(P) with P = Piecewise((v1, c1), (v2, c2)) is (c1 & rel(v1)) | (~c1 & c2 & rel(v2)).
    The same boolean, which SymPy keeps as it is; given a Piecewise inside a condition,
    it rewrites it as an ITE by solving each inequality as a set, without end on some."""
    if not isinstance(condition, sympy.Basic) or not condition.has(sympy.Piecewise):
        return condition
    if isinstance(condition, BooleanFunction):  # And, Or, Not, ITE …: their operands
        return condition.func(*[without_piecewise(a) for a in condition.args])
    piece = next(p for p in sympy.preorder_traversal(condition) if isinstance(p, sympy.Piecewise))
    cases, earlier = [], []
    for value, when in piece.args:
        when = without_piecewise(when)
        case = without_piecewise(condition.xreplace({piece: value}))
        cases.append(sympy.And(when, *[sympy.Not(c) for c in earlier], case))
        earlier.append(when)
    return sympy.Or(*cases)


def _where(c, a, b):
    return sympy.Piecewise((a, without_piecewise(c)), (b, True))


# Arithmetic on whole object arrays, as NumPy broadcasts it; every other primitive's
# SymPy meaning comes from its declaration (diffcompare.lang.primitives: sympy.<name>,
# or the formula it gives), applied element by element or to the list of elements,
# but for pow's and where's, given as above.
OBJECT_ARITHMETIC = {  # SymPy's expressions and SymEngine's alike (backends/symengine_lowering)
    "add": lambda a, b: object_array(a + b),
    "sub": lambda a, b: object_array(a - b),
    "mul": lambda a, b: object_array(a * b),
    "div": lambda a, b: object_array(a / b),
    "neg": lambda x: object_array(-x),
    "matmul": lambda a, b: object_array(np.matmul(a, b)),
}
_ARITHMETIC = {**OBJECT_ARITHMETIC, "pow": _power, "where": elementwise(_where)}


def _structural(forward):
    """An array-building step (lang.primitives.arrays): its NumPy rule on object arrays, the
    zeros it fills in (tril, diag) made SymPy's."""
    sympify = np.vectorize(sympy.sympify, otypes=[object])
    return lambda *args, **params: object_array(sympify(np.asarray(forward(*args, **params), dtype=object)))


SYMPY_OPS = {
    name: _ARITHMETIC.get(name)
    or (_structural(p.forward) if p.kind == "array" else None)
    or (fiber_reduction if p.kind == "reduction" else elementwise)(native(p, "sympy", module=sympy))
    for name, p in PRIMITIVES.items()
}
# A person reads exponents as written (x**(17/10)); SymPy is given those as numbers.
READABLE_OPS = {**SYMPY_OPS, "pow": lambda a, b: _power(a, b, denominators=False)}


def merge_powers(expr, constants):
    """x**s · x**-1 as x**(s - 1), for the named exponents: SymPy differentiates x**s into
    s·x**s/x, which is 0/0 at x = 0 where x**1.7's derivative is 0 (as a number, SymPy
    merges them itself). Right for every x ≠ 0 too: both powers take the same log x."""
    if not constants:
        return expr

    def merged(mul):
        bases: dict = {}
        for factor in mul.args:
            base, exponent = factor.as_base_exp()
            bases.setdefault(base, []).append(exponent)
        if not any(len(e) > 1 and any(x.free_symbols & constants.keys() for x in e) for e in bases.values()):
            return mul
        return sympy.Mul(*[sympy.Pow(base, sympy.Add(*e)) for base, e in bases.items()])

    return expr.replace(lambda e: e.is_Mul, merged)


# The SymPy versions whose rules Differentiator repeats were read (Derivative.__new__,
# Add._eval_derivative, Mul._eval_derivative_n_times, Pow._eval_derivative,
# Function._eval_derivative); under any other, every derivative is SymPy's own diff.
RULES_READ_IN = ("1.12", "1.13", "1.14")
_BASIC_FREE_SYMBOLS = sympy.Basic.__dict__["free_symbols"]
_RULES_HOLD = ".".join(sympy.__version__.split(".")[:2]) in RULES_READ_IN and all(
    kind._eval_derivative_n_times is sympy.Basic._eval_derivative_n_times for kind in (sympy.Add, sympy.Pow)
)


class Differentiator:
    """expr.diff(s) for each symbol s of a gradient, the same expressions SymPy's diff gives
    (== and the same structure: tests/test_symbolic_diff.py), without its cost of order
    n² on a sum of n terms. SymPy's diff of an Add differentiates every term, and for each
    term not containing s (almost all of them, in a sum over the elements) recomputes the
    term's free symbols to find that its derivative is 0, then asks the assumptions whether
    the result is zero; once per symbol. Here each subexpression's free symbols are
    computed once for all the symbols, a term without s is 0 without being visited, and an
    Add, a Mul, a Pow and a function with its own fdiff apply SymPy's own rule, written out
    below, to their operands' derivatives; any other expression (Piecewise, Abs, Max …) is
    given to SymPy's diff, whole.

    What is left out of SymPy's Derivative(expr, s) for each subexpression changes no value:
    its `obj.is_zero` query returns obj either way, and its canonical form of the Derivatives
    in the result changes none of a first derivative's (one variable each, already
    canonical); f holds no Derivative (checked: SymPy's diff is used where it does). That
    zero query is also where SymPy's diff of tanh(x**1.7) never returns (Mod in tanh's
    realness test; exact.symbolic gives SymPy that exponent as a symbol anyway)."""

    def __init__(self, expr):
        self.expr = expr
        self.free: dict = {}
        self.fast = _RULES_HOLD and not expr.has(Derivative)

    def free_symbols(self, expr) -> set:
        found = self.free.get(expr)
        if found is None:
            if type(expr).free_symbols is _BASIC_FREE_SYMBOLS:  # the union of its operands
                found = set().union(*[self.free_symbols(a) for a in expr.args])
            else:
                found = expr.free_symbols
            self.free[expr] = found
        return found

    def diff(self, symbol):
        """∂expr/∂symbol, as expr.diff(symbol) gives it."""
        if not self.fast:
            return self.expr.diff(symbol)
        return self._diff(self.expr, symbol)

    def _diff(self, expr, s):
        if s not in self.free_symbols(expr):
            return sympy.S.Zero  # Derivative.__new__'s own quick exit
        if expr == s:  # AtomicExpr._eval_derivative (a symbol's free symbols are itself)
            return sympy.S.One
        kind = type(expr)
        if kind is sympy.Add:  # Add._eval_derivative; its terms without s are 0, which Add drops
            return sympy.Add(*[self._diff(a, s) for a in expr.args if s in self.free_symbols(a)])
        if kind is sympy.Mul:  # Mul._eval_derivative_n_times(s, 1): the Leibniz rule
            args = expr.args
            terms = []
            for kvals, c in multinomial_coefficients_iterator(len(args), 1):
                p = sympy.Mul(*[self._diff(a, s) if k else a for k, a in zip(kvals, args)])
                terms.append(c * p)
            return sympy.Add(*terms)
        if kind is sympy.Pow:  # Pow._eval_derivative
            dbase = self._diff(expr.base, s)
            dexp = self._diff(expr.exp, s)
            return expr * (dexp * sympy.log(expr.base) + dbase * expr.exp / expr.base)
        if (
            isinstance(expr, Function)
            and kind._eval_derivative is Function._eval_derivative
            and kind._eval_derivative_n_times is sympy.Basic._eval_derivative_n_times
            and kind.fdiff is not Function.fdiff
        ):  # Function._eval_derivative: the chain rule
            terms = []
            for i, a in enumerate(expr.args, start=1):
                da = self._diff(a, s)
                if da.is_zero:
                    continue
                try:
                    df = expr.fdiff(i)
                except ArgumentIndexError:
                    df = Function.fdiff(expr, i)
                terms.append(df * da)
            return sympy.Add(*terms)
        return expr.diff(s)


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
        root,
        SYMPY_OPS,
        constant=lambda v: _exact_array(v) if np.ndim(v) else object_array(exact(v)),
        index=lambda x, ix: object_array(x[ix]),
    )
    return program(symbols)


MAX_ELEMENTS = 200  # point elements SymPy is given: its diff costs grow with their square
TIME_LIMIT_S = 20.0  # and the seconds for all its steps on one problem (less where the exact side's deadline is nearer)
SYMPY_SHARE = 0.5  # of the exact side's time left when SymPy starts
READABLE_S = 5.0  # the report's typeset derivative, at most (in the main process, while the workers run)


class SymbolicLimit(Exception):
    """The problem is past what SymPy is given; the message says which limit."""


class SymbolicTimeout(SymbolicLimit):
    """A SymPy step ran past the time SymPy is given (its own limit or the exact side's deadline)."""


@contextmanager
def sympy_time_limit(seconds: float, what: str, limit: float | None = None):
    """The block (SymPy's work) stopped after `seconds`, as SymbolicTimeout naming `what`,
    the limit and the time it ran. SymPy's global switches are put back as they were (a
    `with evaluate(False)` stopped half way would leave them for every later step), and
    its cache emptied: an assumption stopped half way stays "unknown" on the cached object."""
    began = time.monotonic()
    saved = (global_parameters.evaluate, global_parameters.distribute, global_parameters.exp_is_pow)
    precision = mpmath.mp.prec
    try:
        with interrupt_after(seconds):
            yield
    except Interrupted:
        global_parameters.evaluate, global_parameters.distribute, global_parameters.exp_is_pow = saved
        mpmath.mp.prec = precision
        sympy.core.cache.clear_cache()
        ran = time.monotonic() - began
        if (
            limit is not None and 0 < limit and seconds < 0.9 * limit
        ):  # the limit is shared: earlier steps used most of it
            raise SymbolicTimeout(
                f"SymPy's limit of {max(limit, 0):.3g} s for all its steps on this problem ran out during "
                f"{what} (which ran {ran:.3g} s of it)"
            ) from None
        limit = seconds if limit is None else limit
        raise SymbolicTimeout(
            f"{what} took more than SymPy's limit of {max(limit, 0):.3g} s (stopped after {ran:.3g} s)"
        ) from None


def form_key(problem) -> tuple:
    """What a problem's SymPy form depends on: f's computation (lang.structure), the point's
    variables in order with their shapes, the variables differentiated, and the exact values
    of the others (data enter f as numbers); not the values of the differentiated ones. And
    the table that gives each operation its SymPy form (a test replaces one)."""
    return (
        tuple(map(id, SYMPY_OPS.values())),
        structure_key(problem.function),
        tuple(problem.wrt),
        tuple(
            (k, v.shape, None if k in problem.wrt else np.asarray(v, dtype=np.float64).tobytes())
            for k, v in problem.point.items()
        ),
    )


class _Built:
    """What SymbolicForms of one form_key share: SymPy's f and derivatives, and the results of
    the form's own steps (CSE, counts), which are functions of those expressions alone."""

    def __init__(self, symbols, function, constants, derivatives):
        self.symbols, self.function, self.constants, self.derivatives = symbols, function, constants, derivatives
        self.steps: dict = {}
        self.build_s = float("nan")  # seconds the first SymbolicForm of this key took to build it


MEMO_FORMS = 64  # forms kept per process, the most recently used: a sweep's members differ only in their point
_MEMO = Kept(MEMO_FORMS)  # form key -> _Built (lang/memo: thread-safe, the report's typesetting shares it)


class SymbolicForm:
    """A problem's function and gradient in SymPy, built once; every SymPy step on it
    (differentiation, common-subexpression elimination, counts, compiled plans) runs once
    and is kept, whether it gave a result or ran out of time, within one time limit for
    all of them (`bounded`): TIME_LIMIT_S, or the exact side's deadline where it is nearer.

    A process keeps the last MEMO_FORMS forms' SymPy expressions and the results of their
    own steps under form_key: a problem that differs from one already built only in the
    values of its differentiated variables (a sweep) takes them as they are, and its
    build_s is the time the first one took to build them (the eliminations it shares are
    not timed again: its setup_s leaves out their time). What ran out of time is not kept (each
    problem tries in its own time), nor the steps that callers ask of `step` (the sympy
    backend's compiled plans, whose time it reports)."""

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
        # At most half the exact side's time left: the rest is the chain rule's in mpmath, should SymPy's run out.
        self.limit = TIME_LIMIT_S if deadline is None else min(TIME_LIMIT_S, deadline.remaining() * SYMPY_SHARE)
        self.end = time.monotonic() + self.limit
        self._steps: dict = {}
        key = form_key(problem)
        built = _MEMO.get(key)
        if built is not None:
            self._in_time("differentiating")
        else:
            built = self._build(problem)
            built.build_s = time.perf_counter() - start
            _MEMO.put(key, built)
        self._built = built
        self.symbols, self.function = built.symbols, built.function
        self.constants = built.constants  # exponent_symbol -> its value
        self.derivatives = built.derivatives  # var -> object array of the variable's shape
        # Differentiation, part of the sympy backend's setup: as measured when the form was built,
        # so that a sweep member's setup_s does not depend on whether an earlier one was kept.
        self.build_s = built.build_s

    def _build(self, problem) -> _Built:
        symbols = {k: element_symbols(k, v.shape) for k, v in problem.point.items()}
        # Data (the point's variables outside wrt) enter as their exact values, not symbols:
        # f is a function of the differentiated variables only, and d/dk of x**k, which
        # nobody asked for, never makes ∂/∂x a 0/0 (k·x**k/x at x = 0).
        values = {k: symbols[k] if k in problem.wrt else _exact_array(v) for k, v in problem.point.items()}
        derivatives = {}
        with self.bounded("differentiating"):
            function = to_sympy(problem.function, values)[()]
            named = function.free_symbols & _EXPONENTS.keys()
            constants = {s: _EXPONENTS[s] for s in sorted(named, key=str)}
            differentiator = Differentiator(function)
            for var in problem.wrt:
                out = np.empty(symbols[var].shape, dtype=object)
                for index in np.ndindex(out.shape):
                    out[index] = merge_powers(differentiator.diff(symbols[var][index]), constants)
                derivatives[var] = out
        return _Built(symbols, function, constants, derivatives)

    def bounded(self, what: str):
        """A SymPy step on this form, stopped where the form's time ends (SymbolicTimeout)."""
        return sympy_time_limit(self.end - time.monotonic(), what, self.limit)

    def _in_time(self, what: str) -> None:
        """Where the form's time is already out, the SymbolicTimeout that doing `what` would
        have ended in at once (the same words), though its result is remembered: a problem
        given no time for SymPy says so, whatever the process did before."""
        if self.end - time.monotonic() <= 0:
            with self.bounded(what):
                pass

    def step(self, what: str, compute, shared: bool = False):
        """compute() once per form, bounded: its result, or the SymbolicTimeout it ended in
        (raised again at every later call: a step that ran out of time is not tried again).
        shared: a function of the form's expressions alone, whose result the forms of the
        same form_key share (a timeout stays this form's, and holds for it)."""
        if shared and what not in self._steps and what in self._built.steps:
            try:
                self._in_time(what)
            except SymbolicTimeout as exc:
                self._steps[what] = exc
                raise
            return self._built.steps[what]
        if what not in self._steps:
            try:
                with self.bounded(what):
                    self._steps[what] = compute()
            except SymbolicTimeout as exc:
                self._steps[what] = exc
        result = self._steps[what]
        if isinstance(result, SymbolicTimeout):
            raise result
        if shared:
            self._built.steps[what] = result
        return result

    @property
    def inputs(self) -> list[sympy.Symbol]:
        """Every element symbol of the point, in the point's order, then the named exponents."""
        return [s for var in self.problem.point for s in self.symbols[var].ravel()] + list(self.constants)

    @property
    def constant_values(self) -> list[sympy.Rational]:
        """The exact values of the named exponents, in the order of `inputs`."""
        return list(self.constants.values())

    @property
    def gradient_exprs(self) -> list:
        """∂f/∂element for every element of every wrt variable, flattened in order."""
        return [e for var in self.problem.wrt for e in self.derivatives[var].ravel()]

    @property
    def cse(self) -> tuple[list, list]:
        """Common subexpressions of [f, ∂f/∂…]: what the reference evaluates."""
        return self.step(
            "eliminating common subexpressions", lambda: sympy.cse([self.function, *self.gradient_exprs]), shared=True
        )

    @property
    def gradient_cse(self) -> tuple[list, list]:
        """Common subexpressions of the gradient alone: what the sympy backend evaluates."""
        return self.step(
            "eliminating the gradient's common subexpressions", lambda: sympy.cse(self.gradient_exprs), shared=True
        )

    @property
    def function_cse(self) -> tuple[list, list]:
        """f alone, as the sympy backend times it."""
        return self.step("eliminating f's common subexpressions", lambda: sympy.cse([self.function]), shared=True)

    @property
    def expr_ops(self) -> int:
        """Operations in the gradient as differentiated, every repeat counted (expression swell):
        sympy.count_ops's number, each distinct subexpression counted once (exact.counts)."""
        return self.step(
            "counting the gradient's operations",
            lambda: count_ops(self.gradient_exprs),
            shared=True,
        )

    @property
    def expr_ops_cse(self) -> int:
        """Operations after common-subexpression elimination."""

        def count() -> int:
            replacements, reduced = self.gradient_cse
            return count_ops([e for _, e in replacements] + list(reduced))

        return self.step("counting the eliminated gradient's operations", count, shared=True)


def _readable_constant(value: float) -> sympy.Expr:
    """A constant as a person wrote it: 1/2 for 0.5, 1.0·10⁻⁸ for 1e-8, not its exact binary value."""
    text = repr(float(value))
    if float(value).is_integer() and abs(value) < 1e15:
        return sympy.Integer(int(value))
    if "e" not in text and len(text.strip("-0.")) <= 4:
        return sympy.Rational(text)
    return sympy.Float(text, max(1, len(text.split("e")[0].strip("-0.").replace(".", ""))))


def readable_gradient(
    problem, elements: int = 4, max_ops: int = 200, seconds: float = READABLE_S
) -> list[tuple[str, sympy.Expr]]:
    """(element label, ∂f/∂element) for the first few wrt elements, for people to read:
    constants as written, variables as symbols. Empty past max_ops operations in f,
    where the derivative would be pages long (the report says so), counted on the DAG
    first: SymPy counts a tree, and a let step used twice at every step is 2^n of it.
    SymbolicTimeout past `seconds`: it runs in the main process, beside the workers."""
    if tree_ops(problem.function, 10 * max_ops) > 10 * max_ops:
        return []
    symbols = {k: element_symbols(k, v.shape) for k, v in problem.point.items()}
    program = Program(
        problem.function,
        READABLE_OPS,
        constant=lambda v: _exact_array(v) if np.ndim(v) else object_array(_readable_constant(v)),
        index=lambda x, ix: object_array(x[ix]),
    )
    out = []
    with sympy_time_limit(seconds, "the typeset derivative"):
        function = program(symbols)[()]
        if sympy.count_ops(function) > max_ops:
            return []
        differentiator = Differentiator(function)
        for var in problem.wrt:
            for index in np.ndindex(symbols[var].shape):
                if len(out) == elements:
                    return out
                out.append((element_label(var, index), differentiator.diff(symbols[var][index])))
    return out
