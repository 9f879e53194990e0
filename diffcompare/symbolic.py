"""The IR in SymPy: exact derivatives, the high-precision reference, and a
float64 evaluator for the `sympy` backend.

Arrays are NumPy object arrays of SymPy expressions, one symbol per element, so
broadcasting, indexing and @ follow NumPy exactly. The expression is built node
by node from the IR (never from text), with constants as their exact binary
values: the reference is the exact derivative of the function the float64
backends evaluate, at the exact float64 point.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import sympy

from diffcompare.ir import Node
from diffcompare.program import Program

REFERENCE_DIGITS = (30, 50)  # two precisions that must agree
MAX_REFERENCE_DIGITS = 800


def _wrap(value) -> np.ndarray:
    """Object ops on 0-d arrays return bare SymPy objects; keep them arrays."""
    if isinstance(value, np.ndarray):
        return value
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def _elementwise(fn):
    vectorized = np.vectorize(fn, otypes=[object])
    return lambda *args: _wrap(vectorized(*args))


def _reduce(fn):
    return lambda x: _wrap(fn(list(np.ravel(x))))


def _sigmoid(u):
    return 1 / (1 + sympy.exp(-u))


def _where(c, a, b):
    return sympy.Piecewise((a, c), (b, True))


def _softplus(u):
    return sympy.log(1 + sympy.exp(u))


def _logsumexp(items):
    return sympy.log(sympy.Add(*[sympy.exp(v) for v in items]))


# The SymPy meaning of each primitive: one entry per primitive of the table.
SYMPY_OPS = {
    "add": lambda a, b: _wrap(a + b),
    "sub": lambda a, b: _wrap(a - b),
    "mul": lambda a, b: _wrap(a * b),
    "div": lambda a, b: _wrap(a / b),
    "pow": lambda a, b: _wrap(a**b),
    "neg": lambda x: _wrap(-x),
    "matmul": lambda a, b: _wrap(np.matmul(a, b)),
    "sin": _elementwise(sympy.sin),
    "cos": _elementwise(sympy.cos),
    "tan": _elementwise(sympy.tan),
    "asin": _elementwise(sympy.asin),
    "acos": _elementwise(sympy.acos),
    "atan": _elementwise(sympy.atan),
    "sinh": _elementwise(sympy.sinh),
    "cosh": _elementwise(sympy.cosh),
    "tanh": _elementwise(sympy.tanh),
    "exp": _elementwise(sympy.exp),
    "expm1": _elementwise(lambda u: sympy.exp(u) - 1),
    "log": _elementwise(sympy.log),
    "log1p": _elementwise(lambda u: sympy.log(1 + u)),
    "log2": _elementwise(lambda u: sympy.log(u) / sympy.log(2)),
    "log10": _elementwise(lambda u: sympy.log(u) / sympy.log(10)),
    "sqrt": _elementwise(sympy.sqrt),
    "abs": _elementwise(sympy.Abs),
    "sigmoid": _elementwise(_sigmoid),
    "relu": _elementwise(lambda u: sympy.Max(0, u)),
    "softplus": _elementwise(_softplus),
    "erf": _elementwise(sympy.erf),
    "min": _elementwise(sympy.Min),
    "max": _elementwise(sympy.Max),
    "clamp": _elementwise(lambda x, lo, hi: sympy.Min(sympy.Max(x, lo), hi)),
    "where": _elementwise(_where),
    "lt": _elementwise(sympy.Lt),
    "le": _elementwise(sympy.Le),
    "gt": _elementwise(sympy.Gt),
    "ge": _elementwise(sympy.Ge),
    "eq": _elementwise(sympy.Eq),
    "ne": _elementwise(sympy.Ne),
    "sum": _reduce(lambda items: sympy.Add(*items)),
    "mean": _reduce(lambda items: sympy.Add(*items) / len(items)),
    "prod": _reduce(lambda items: sympy.Mul(*items)),
    "dot": lambda a, b: _wrap(sympy.Add(*(np.ravel(a) * np.ravel(b)))),
    "norm": _reduce(lambda items: sympy.sqrt(sympy.Add(*[v**2 for v in items]))),
    "logsumexp": _reduce(_logsumexp),
}


def exact(value: float | int) -> sympy.Rational:
    """The exact binary value of a float64 (or an integer) as a SymPy rational."""
    if isinstance(value, int):
        return sympy.Integer(value)
    f = Fraction(float(value))
    return sympy.Rational(f.numerator, f.denominator)


def element_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        label = name if not shape else f"{name}[{','.join(map(str, index))}]"
        out[index] = sympy.Symbol(label, real=True)
    return out


def to_sympy(root: Node, symbols: dict[str, np.ndarray]) -> np.ndarray:
    program = Program(root, SYMPY_OPS, constant=lambda v: _wrap(exact(v)), index=lambda x, ix: _wrap(x[ix]))
    return program(symbols)


class SymbolicForm:
    """A problem's function and gradient in SymPy, built once."""

    def __init__(self, problem):
        self.problem = problem
        self.symbols = {k: element_symbols(k, v.shape) for k, v in problem.point.items()}
        self.function = to_sympy(problem.function, self.symbols)[()]
        # derivatives[var] is an object array of the variable's shape
        self.derivatives = {
            var: np.vectorize(lambda s: self.function.diff(s), otypes=[object])(self.symbols[var])
            if self.symbols[var].ndim
            else _wrap(self.function.diff(self.symbols[var][()]))
            for var in problem.wrt
        }
        self._exact_point = {
            self.symbols[k][i]: exact(float(v[i])) for k, v in problem.point.items() for i in np.ndindex(v.shape)
        }

    def reference(self, var: str) -> tuple[np.ndarray, list[str]]:
        """High-precision values of ∂f/∂var (object array of mpf or None), and notes."""
        out = np.empty(self.derivatives[var].shape, dtype=object)
        notes: list[str] = []
        for index in np.ndindex(out.shape):
            value, note = self._evaluate_exact(self.derivatives[var][index])
            out[index] = value
            if note:
                notes.append(note)
        return out, notes

    def _evaluate_exact(self, expr) -> tuple[mpmath.mpf | None, str]:
        """Evaluate at two precisions and raise them until the two agree, so
        cancellation cannot fool the reference."""
        substituted = expr.xreplace(self._exact_point)
        low, high = REFERENCE_DIGITS
        while True:
            a, b = (_to_mpf(substituted, n) for n in (low, high))
            if a is None or b is None:
                return None, "the exact derivative is not a finite real number at this point"
            with mpmath.workdps(high + 10):
                if a == b or abs(a - b) <= abs(b) * mpmath.mpf(10) ** (-(low - 2)):
                    return b, ""
            if high >= MAX_REFERENCE_DIGITS:
                return b, f"the reference did not settle below {high} digits"
            low, high = high, 2 * high


def _to_mpf(expr, digits: int) -> mpmath.mpf | None:
    value = expr.evalf(digits)
    if not value.is_number or not value.is_real or not value.is_finite:
        return None
    if value.is_zero:
        return mpmath.mpf(0)
    with mpmath.workdps(digits + 10):
        return mpmath.mpf(value._to_mpmath(int(math.ceil(digits * 3.33)) + 10))


# --- float64 evaluation of SymPy expressions (the `sympy` backend) -------------


def _heaviside(x, h0=0.5):
    return np.heaviside(x, h0)


_NUMPY_FUNCS = {
    sympy.sin: np.sin,
    sympy.cos: np.cos,
    sympy.tan: np.tan,
    sympy.asin: np.arcsin,
    sympy.acos: np.arccos,
    sympy.atan: np.arctan,
    sympy.sinh: np.sinh,
    sympy.cosh: np.cosh,
    sympy.tanh: np.tanh,
    sympy.exp: np.exp,
    sympy.log: np.log,
    sympy.sqrt: np.sqrt,
    sympy.Abs: np.abs,
    sympy.sign: np.sign,
    sympy.Heaviside: _heaviside,
    sympy.erf: np.vectorize(math.erf, otypes=[np.float64]),
    sympy.Max: lambda *a: np.maximum.reduce(a),
    sympy.Min: lambda *a: np.minimum.reduce(a),
    sympy.sec: lambda x: 1 / np.cos(x),
    sympy.csc: lambda x: 1 / np.sin(x),
    sympy.cot: lambda x: 1 / np.tan(x),
    sympy.StrictLessThan: np.less,
    sympy.LessThan: np.less_equal,
    sympy.StrictGreaterThan: np.greater,
    sympy.GreaterThan: np.greater_equal,
    sympy.Equality: np.equal,
    sympy.Unequality: np.not_equal,
    sympy.And: lambda *a: np.logical_and.reduce(a),
    sympy.Or: lambda *a: np.logical_or.reduce(a),
    sympy.Not: np.logical_not,
}


class Float64Plan:
    """SymPy expressions compiled, after common-subexpression elimination, into
    a flat list of NumPy float64 steps that can be run many times."""

    def __init__(self, exprs: list, symbols: list[sympy.Symbol]):
        replacements, reduced = sympy.cse(exprs)
        self.inputs = {s: i for i, s in enumerate(symbols)}
        self.steps: list[tuple] = []  # (function, argument slots) ; slot = index into registers
        self.registers: list = [None] * len(symbols)
        self._slots: dict = dict(self.inputs)
        for sym, expr in replacements:
            self._slots[sym] = self._compile(expr)
        self.outputs = [self._compile(e) for e in reduced]

    def _const(self, value) -> int:
        self.registers.append(np.float64(value))
        return len(self.registers) - 1

    def _compile(self, expr) -> int:
        if expr in self._slots:
            return self._slots[expr]
        if expr.is_Number or expr.is_NumberSymbol:
            slot = self._const(float(expr))
        elif isinstance(expr, (sympy.logic.boolalg.BooleanTrue, sympy.logic.boolalg.BooleanFalse)):
            slot = self._const(bool(expr))
        elif isinstance(expr, sympy.Piecewise):
            pieces = [(self._compile(e), self._compile(c)) for e, c in expr.args]
            slot = self._emit(_piecewise, [s for pair in pieces for s in pair])
        elif expr.is_Add:
            slot = self._emit(lambda *a: np.sum(a, axis=0), [self._compile(a) for a in expr.args])
        elif expr.is_Mul:
            slot = self._emit(lambda *a: np.prod(a, axis=0), [self._compile(a) for a in expr.args])
        elif expr.is_Pow:
            slot = self._emit(np.power, [self._compile(a) for a in expr.args])
        elif expr.func in _NUMPY_FUNCS:
            slot = self._emit(_NUMPY_FUNCS[expr.func], [self._compile(a) for a in expr.args])
        else:
            raise NotImplementedError(f"no float64 evaluation for SymPy's {expr.func.__name__}")
        self._slots[expr] = slot
        return slot

    def _emit(self, fn, arg_slots: list[int]) -> int:
        self.registers.append(None)
        slot = len(self.registers) - 1
        self.steps.append((fn, arg_slots, slot))
        return slot

    def __call__(self, inputs: list[float]) -> list[np.float64]:
        regs = list(self.registers)
        regs[: len(inputs)] = [np.float64(v) for v in inputs]
        with np.errstate(all="ignore"):
            for fn, args, slot in self.steps:
                regs[slot] = fn(*(regs[a] for a in args))
        return [np.float64(regs[s]) for s in self.outputs]


def _piecewise(*values_and_conditions):
    for value, condition in zip(values_and_conditions[::2], values_and_conditions[1::2]):
        if condition:
            return value
    return np.nan
