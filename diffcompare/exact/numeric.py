"""SymPy expressions evaluated numerically, without lambdify or any text.

A Plan is a set of SymPy expressions after common-subexpression elimination,
compiled into a flat list of steps over one number system: float64 NumPy
scalars for the `sympy` backend, or mpmath numbers at a chosen precision for
the reference. Each step is a function from the system's table applied to
earlier registers, so an expression is walked once, not once per call.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

import mpmath
import numpy as np
import sympy
from sympy.logic.boolalg import BooleanFalse, BooleanTrue

from diffcompare.exact.budget import MAX_ARGUMENT_BITS, ExactLimit
from diffcompare.lang.primitives import PRIMITIVES, native
from diffcompare.lang.primitives.special import polygamma


def _sum(*terms):
    return reduce(operator.add, terms)


def _product(*factors):
    return reduce(operator.mul, factors)


def _piecewise(*values_and_conditions):
    for value, condition in zip(values_and_conditions[::2], values_and_conditions[1::2]):
        if condition:
            return value
    return math.nan


@dataclass(frozen=True)
class NumberSystem:
    name: str
    functions: dict  # SymPy function class -> callable
    number: Callable  # SymPy number -> this system's number


# Conditions: the comparisons, and every boolean SymPy may write one in (a where inside
# a condition is And/Or/Not of its branches, exact.symbolic.without_piecewise; SymPy's
# own ITE(c, a, b), "a if c else b", and the rest of its boolean functions should it
# simplify one into them). Their operands are evaluated already: plain truth values.
def _compare(relation):
    """A comparison as IEEE makes it with a NaN: an operand that is not real (acosh(0.7) is
    complex in mpmath, NaN in float64) is unordered, so every relation but != is false, the
    branch every float64 backend takes; mpmath would raise, and the reference be lost."""

    def compare(a, b):
        a, b = _real_if_real(a), _real_if_real(b)
        if _not_real(a) or _not_real(b):
            return relation is operator.ne
        return relation(a, b)

    return compare


def _real_if_real(value):
    if isinstance(value, (mpmath.mpc, complex, np.complexfloating)) and value.imag == 0:
        return value.real
    return value


def _not_real(value) -> bool:
    return isinstance(value, (mpmath.mpc, complex, np.complexfloating))


_RELATIONS = {
    sympy.StrictLessThan: _compare(operator.lt),
    sympy.LessThan: _compare(operator.le),
    sympy.StrictGreaterThan: _compare(operator.gt),
    sympy.GreaterThan: _compare(operator.ge),
    sympy.Equality: _compare(operator.eq),
    sympy.Unequality: _compare(operator.ne),
    sympy.And: lambda *a: all(a),
    sympy.Or: lambda *a: any(a),
    sympy.Not: operator.not_,
    sympy.ITE: lambda c, a, b: bool(a) if c else bool(b),
    sympy.Xor: lambda *a: sum(map(bool, a)) % 2 == 1,
    sympy.Nand: lambda *a: not all(a),
    sympy.Nor: lambda *a: not any(a),
    sympy.Implies: lambda a, b: not a or bool(b),
    sympy.Equivalent: lambda *a: all(a) or not any(a),
}


def _sympy_classes() -> dict:
    """{SymPy function class: primitive} for every primitive whose SymPy meaning is a
    function class (sympy.sin, sympy.Abs, sympy.erf, sympy.Lt; not the formulas)."""
    out = {}
    for p in PRIMITIVES.values():
        if p.kind in ("elementwise", "compare"):
            meaning = native(p, "sympy", module=sympy)
            if isinstance(meaning, type) and issubclass(meaning, sympy.Basic):
                out[meaning] = p
    return out


def _number_system(name: str, implementation, own: dict, number: Callable) -> NumberSystem:
    """implementation(primitive) for the SymPy function class each primitive means, then
    `own`: the SymPy vocabulary derivatives are written in, which wins over a derived
    entry (and is not resolved for it)."""
    derived = {cls: implementation(p) for cls, p in _sympy_classes().items() if cls not in own}
    return NumberSystem(name, {**derived, **own}, number)


# float64: each primitive's NumPy forward rule (np.sin, np.arcsin, np.abs ...), and:
FLOAT64 = _number_system(
    "float64",
    lambda p: p.forward,
    {
        sympy.Add: _sum,
        sympy.Mul: _product,
        sympy.Pow: np.power,
        sympy.sign: np.sign,
        sympy.Heaviside: lambda x, h0=0.5: np.heaviside(x, h0),
        sympy.DiracDelta: lambda x, k=0: np.where(np.asarray(x) != 0, 0.0, np.nan)[()],
        # On scalars that may be complex, where the primitive's vectorised math.erf is not.
        sympy.erf: lambda x: np.float64(math.erf(np.real(x))) if np.imag(x) == 0 else np.float64(np.nan),
        sympy.Max: lambda *a: np.max(a),  # n-ary: SymPy merges nested Max and Min
        sympy.Min: lambda *a: np.min(a),
        sympy.sec: lambda x: 1 / np.cos(x),
        sympy.csc: lambda x: 1 / np.sin(x),
        sympy.cot: lambda x: 1 / np.tan(x),
        # Where SymPy cannot prove an argument real (the derivative of Abs(g)), it
        # writes the derivative through re, im, arg and atan2: complex on the way, real at the end.
        sympy.atan2: np.arctan2,
        sympy.arg: np.angle,
        sympy.re: np.real,
        sympy.im: np.imag,
        sympy.conjugate: np.conj,
        # digamma(x) is SymPy's polygamma(0, x); the derivatives of lgamma, gamma and digamma
        # are polygamma(0 | 1, x): NumPy has none, so mpmath's, rounded (lang.primitives.special).
        sympy.polygamma: polygamma,
        **_RELATIONS,
    },
    lambda e: np.complex128(1j) if e is sympy.I else np.float64(float(e)),
)


def _magnitude_bits(value) -> int:
    """log2|value|, roughly (the bits of its integer part), for an mpf or mpc; 0 otherwise."""
    parts = (value.real, value.imag) if isinstance(value, mpmath.mpc) else (value,)
    bits = 0
    for part in parts:
        if isinstance(part, mpmath.mpf):
            _, man, exp, bc = part._mpf_
            if man:
                bits = max(bits, exp + bc)
    return bits


def check_magnitude(value, name: str) -> None:
    """mpmath's exp, sin, cosh … reduce their argument at a precision that grows with
    its magnitude: past 2^MAX_ARGUMENT_BITS one call takes minutes, or memory
    without end (exp(exp(exp(exp(3)))) asks for exp of a 10^(2·10^8)-digit number)."""
    bits = _magnitude_bits(value)
    if bits > MAX_ARGUMENT_BITS:
        digits = int(bits * 0.30103)
        raise ExactLimit(
            f"{name} of a number near 10^{digits}, past what the reference evaluates (2^{MAX_ARGUMENT_BITS})"
        )


def _bounded(fn, name: str):
    def bounded(*args):
        for arg in args:
            check_magnitude(arg, name)
        return fn(*args)

    return bounded


_POWER_BITS = 32  # an exponent past 2^32 goes through exp(y·log x): mpmath's own power squares log2(y) times


def _mp_power(x, y):
    """x**y as mpmath.power gives it, but for an exponent past 2^32 through exp(y·log x):
    mpmath takes an integral y by repeated squaring, at a cost that grows with y itself."""
    if not (isinstance(y, mpmath.mpf) and _magnitude_bits(y) > _POWER_BITS and x != 0 and mpmath.isfinite(x)):
        return mpmath.power(x, y)
    check_magnitude(y, "a power")
    flip = isinstance(x, mpmath.mpf) and x < 0 and mpmath.isint(y)
    with mpmath.workprec(mpmath.mp.prec + _magnitude_bits(y) + 20):  # y·log x to every bit exp will use
        exponent = y * mpmath.log(-x if flip else x)  # complex where x < 0 and y is not an integer
    check_magnitude(exponent, "a power")
    value = mpmath.exp(exponent)
    return -value if flip and int(y) % 2 else value


def _mp_heaviside(x, h0=0.5):
    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else mpmath.mpf(h0)


def _mp_dirac(x, k=0):
    """SymPy's DiracDelta, as a derivative of Heaviside or sign has it: 0 off its origin, and no
    number at it (the second derivative of abs at 0 is no number)."""
    return mpmath.mpf(0) if x != 0 else mpmath.mpf("nan")


def _mp_number(e):
    if e.is_Rational:
        return mpmath.mpf(e.p) / e.q
    return mpmath.mpf(e.evalf(mpmath.mp.dps + 5)._to_mpmath(mpmath.mp.prec + 20))


# mpmath: each primitive's mpmath function (mpmath.sin, mpmath.asin, mpmath.erf ...), and:
MPMATH = _number_system(
    "mpmath",
    lambda p: native(p, "mpmath", module=mpmath),
    {
        sympy.Add: _sum,
        sympy.Mul: _product,
        sympy.Pow: _mp_power,
        sympy.sign: mpmath.sign,
        sympy.Heaviside: _mp_heaviside,
        sympy.DiracDelta: _mp_dirac,
        sympy.Max: max,
        sympy.Min: min,
        sympy.sec: mpmath.sec,
        sympy.csc: mpmath.csc,
        sympy.cot: mpmath.cot,
        sympy.atan2: mpmath.atan2,
        sympy.arg: mpmath.arg,
        sympy.re: mpmath.re,
        sympy.im: mpmath.im,
        sympy.conjugate: mpmath.conj,
        sympy.polygamma: lambda n, x: mpmath.psi(int(n), x),
        **_RELATIONS,
    },
    lambda e: mpmath.mpc(0, 1) if e is sympy.I else _mp_number(e),
)
# Those whose cost grows with the magnitude of their argument, bounded (check_magnitude).
_COSTLY = (sympy.exp, sympy.sin, sympy.cos, sympy.tan, sympy.sinh, sympy.cosh, sympy.sec, sympy.csc, sympy.cot)
MPMATH.functions.update(
    {cls: _bounded(MPMATH.functions[cls], cls.__name__) for cls in _COSTLY if cls in MPMATH.functions}
)


class Plan:
    """Expressions compiled for one number system. Build it inside the precision
    it will run at (mpmath constants are rounded when the plan is built)."""

    def __init__(self, cse: tuple[list, list], symbols: list, system: NumberSystem):
        replacements, reduced = cse
        self.system = system
        self.registers: list = [None] * len(symbols)
        self.steps: list[tuple[Callable, list[int], int]] = []
        self._slots: dict = {s: i for i, s in enumerate(symbols)}
        for sym, expr in replacements:
            self._slots[sym] = self._compile(expr)
        self.outputs = [self._compile(e) for e in reduced]
        self.n_inputs = len(symbols)

    def _const(self, value) -> int:
        self.registers.append(value)
        return len(self.registers) - 1

    def _compile(self, expr) -> int:
        if expr in self._slots:
            return self._slots[expr]
        if expr.is_Number or expr.is_NumberSymbol or expr is sympy.I:
            slot = self._const(self.system.number(expr))
        elif isinstance(expr, (BooleanTrue, BooleanFalse)):
            slot = self._const(bool(expr))
        elif isinstance(expr, sympy.Piecewise):
            slot = self._emit(_piecewise, [self._compile(a) for pair in expr.args for a in pair])
        elif expr.func in self.system.functions:
            slot = self._emit(self.system.functions[expr.func], [self._compile(a) for a in expr.args])
        else:
            raise NotImplementedError(f"no {self.system.name} evaluation for SymPy's {expr.func.__name__}")
        self._slots[expr] = slot
        return slot

    def _emit(self, fn, arg_slots: list[int]) -> int:
        self.registers.append(None)
        slot = len(self.registers) - 1
        self.steps.append((fn, arg_slots, slot))
        return slot

    def run(self, inputs: list, deadline=None) -> list:
        """All registers after evaluation (inputs, constants, steps). deadline (a
        budget.Deadline): checked every 256 steps."""
        regs = list(self.registers)
        regs[: self.n_inputs] = inputs
        with np.errstate(all="ignore"):
            for step, (fn, args, slot) in enumerate(self.steps):
                if deadline is not None and not step & 255:
                    deadline.check()
                try:
                    regs[slot] = fn(*[regs[a] for a in args])
                except (ZeroDivisionError, ValueError, OverflowError):
                    regs[slot] = math.nan  # 1/0 and friends: not a finite number
        return regs

    def __call__(self, inputs: list) -> list:
        regs = self.run(inputs)
        return [real_part(regs[s]) for s in self.outputs]


def object_array(value) -> np.ndarray:
    """value as a NumPy object array: operations on 0-d object arrays, and the sum of a 1-d
    one, return a bare SymPy or mpmath number; the IR's evaluators keep arrays throughout."""
    if isinstance(value, np.ndarray):
        return value
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def real_part(value):
    """A result that went through complex intermediates: its real part where the
    imaginary part is rounding noise (relative 1e-12 in float64, 10^-(digits-5) in
    mpmath), else the value unchanged (and then not real)."""
    if isinstance(value, mpmath.mpc):
        if abs(value.imag) <= abs(value.real) * mpmath.mpf(10) ** (5 - mpmath.mp.dps) or value.imag == 0:
            return value.real
        return value
    if isinstance(value, (complex, np.complexfloating)):
        return np.float64(value.real) if abs(value.imag) <= 1e-12 * abs(value.real) else np.float64(np.nan)
    return value


def mp_is_finite_real(value) -> bool:
    return isinstance(value, (mpmath.mpf, int, float)) and bool(mpmath.isfinite(value))
