"""The IR lowered into SymEngine, and SymEngine's derivatives of it: what the symengine backend
compiles.

f is lowered from the IR into SymEngine expressions with SymEngine's own functions (the
primitives' SymPy declarations, whose factories are given the symengine module, and a few
adapters below), element by element on NumPy object arrays as the SymPy side does, with every
constant its exact binary value. Nothing is ever parsed from text. An integer exponent past
MAX_INTEGER_EXPONENT is a named symbol whose value is given beside the point (`exponent_values`).

SymEngine's `diff` differentiates it (`differentiate`): the gradient, and the operators past it
(jacobian, hessian, jvp, vjp, hvp, second_derivative): f's entries differentiated once (twice
for second order), combined with the direction's or cotangent's exact values. Where `diff` has
no rule (abs, max, min, floor, ceiling, sign: relu, clamp, amax, cbrt and % are written with
them) it leaves a Derivative unevaluated, and `refuse_unevaluated` says so as a SkipCell;
SymEngine has no round-half-even or trunc (`Unavailable` entries of SYMENGINE_OPS).
"""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import symengine as se

from diffcompare.backends import SkipCell
from diffcompare.exact.numeric import object_array
from diffcompare.exact.symbolic import OBJECT_ARITHMETIC, elementwise, fiber_reduction
from diffcompare.lang.ir import element_label
from diffcompare.lang.primitives import PRIMITIVES, Unavailable, library_ops
from diffcompare.lang.program import Program
from diffcompare.spec.operators import OPERATORS, results

MAX_INTEGER_EXPONENT = 2**16  # past it SymEngine computes c**n as a big integer at once (3/10**10**7: 6 s)


# --- lowering -----------------------------------------------------------------------------


def _number(value) -> se.Basic:
    """A float64, int or bool as the SymEngine number it is exactly (0.1 is 3602879701896397/2^55)."""
    if isinstance(value, se.Basic):
        return value
    if isinstance(value, (bool, np.bool_)):
        return se.true if value else se.false
    if isinstance(value, (int, np.integer)):
        return se.Integer(int(value))
    fraction = Fraction(float(value))
    return se.Rational(fraction.numerator, fraction.denominator)


_numbers = np.vectorize(_number, otypes=[object])


def exact_constant(value) -> np.ndarray:
    """A constant or a point's held data (a scalar or an array) as the SymEngine numbers it is exactly."""
    return object_array(_numbers(np.asarray(value))) if np.ndim(value) else object_array(_number(value))


def _structural(forward):
    """An array-building step: its NumPy rule on object arrays, the numbers it fills in made SymEngine's."""
    return lambda *args, **params: object_array(_numbers(np.asarray(forward(*args, **params), dtype=object)))


_EXPONENTS: dict = {}  # named exponent symbol -> its exact value (Fraction), for every one made here
_EXPONENTS_LOCK = threading.Lock()


def _exponent(value):
    """An integer exponent past MAX_INTEGER_EXPONENT as a named symbol, its value given to
    Lambdify beside the point: as a number, SymEngine raises a rational base to it at once
    in big integers ((0.3·x)**1e12 never returns). Others stay the numbers they are."""
    if isinstance(value, se.Integer) and abs(int(value)) > MAX_INTEGER_EXPONENT:
        exact = Fraction(int(value))
        symbol = se.Symbol(f"⟨{int(value)}⟩")
        with _EXPONENTS_LOCK:
            _EXPONENTS[symbol] = exact
        return symbol
    return value


def exponent_values(exprs) -> dict:
    """The named exponents (`_exponent`) that exprs use, by name, with their exact values."""
    with _EXPONENTS_LOCK:
        named = set().union(*[e.free_symbols for e in exprs]) & _EXPONENTS.keys()
        return {s: _EXPONENTS[s] for s in sorted(named, key=str)}


def _power(a, b):
    return object_array(np.asarray(a, dtype=object) ** object_array(np.vectorize(_exponent, otypes=[object])(b)))


def _truth(c):
    """A condition folded to a constant (a number, True or False): its truth; else None."""
    if not isinstance(c, se.Basic):
        return bool(c)
    if c == se.true or c == se.false:
        return c == se.true
    return (c != 0) if c.is_Number else None


def _where(c, a, b):
    """Piecewise((a, c), (b, True)); a condition folded to a constant is the branch it takes."""
    truth = _truth(c)
    if truth is not None:
        return a if truth else b
    return se.Piecewise((a, c), (b, se.true))


def _normalizer(log: bool):
    """softmax / log_softmax along an axis, exactly: exp(x - lse) and x - lse, lse = log Σ exp(x)."""

    def normalize(x, axis=-1):
        x = np.asarray(x, dtype=object)
        lse = np.vectorize(se.log, otypes=[object])(
            np.sum(np.vectorize(se.exp, otypes=[object])(x), axis=axis, keepdims=True)
        )
        z = x - lse
        return object_array(z if log else np.vectorize(se.exp, otypes=[object])(z))

    return normalize


def _missing(name: str, reason: str) -> Unavailable:
    return Unavailable("symengine", name, reason)


# SymEngine's own functions where the SymPy declaration's name or factory does not fit it
# (the step functions are SymPy subclasses there); every other primitive is the SymPy
# declaration given the symengine module, or symengine.<name> by the convention.
OWN_SCALAR = {
    "floor": se.floor,
    "ceil": se.ceiling,
    "sign": se.sign,
    "mod": lambda a, b: a - b * se.floor(a / b),
    "cbrt": lambda u: se.sign(u) * se.Abs(u) ** se.Rational(1, 3),
    "round": _missing("round", "SymEngine has no round-half-to-even function"),
    "trunc": _missing("trunc", "SymEngine has no trunc function"),
}
_SCALAR = library_ops("symengine", like="sympy", own=OWN_SCALAR)

_ARITHMETIC = {
    **OBJECT_ARITHMETIC,
    "pow": _power,
    "where": elementwise(_where),
    "softmax": _normalizer(log=False),
    "log_softmax": _normalizer(log=True),
}


def _entry(name, p):
    if name in _ARITHMETIC:
        return _ARITHMETIC[name]
    if p.kind == "array":  # NumPy's rule on object arrays: nothing of SymEngine's but its numbers
        return _structural(p.forward)
    scalar = _SCALAR[name]
    if isinstance(scalar, Unavailable):
        return scalar
    return (fiber_reduction if p.kind == "reduction" else elementwise)(scalar)


SYMENGINE_OPS = {name: _entry(name, p) for name, p in PRIMITIVES.items()}


def element_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        out[index] = se.Symbol(element_label(name, index))
    return out


def to_symengine(root, values: dict) -> np.ndarray:
    """f in SymEngine, an object array of f's shape, from the IR (never from text)."""
    program = Program(root, SYMENGINE_OPS, constant=exact_constant, index=lambda x, ix: object_array(x[ix]))
    return object_array(program(values))


# --- differentiation ----------------------------------------------------------------------


def differentiate(problem, function: np.ndarray, symbols: dict) -> dict[str, np.ndarray]:
    """The operator's results in SymEngine, each an object array of its result's shape."""
    operator = problem.operator
    shapes = results(problem)
    wrt = list(problem.wrt)

    def data(name: str) -> np.ndarray:
        return exact_constant(np.asarray(problem.point[name], dtype=np.float64))

    def gradient(f) -> dict:
        return {v: object_array(np.vectorize(lambda s: f.diff(s), otypes=[object])(symbols[v])) for v in wrt}

    if OPERATORS[operator].scalar_function or operator == "gradient":
        f = function[()]
        first = gradient(f)
        if operator == "gradient":
            return first
        out = {}
        for name, result in shapes.items():
            entries = np.empty(result.shape, dtype=object)
            if operator == "hessian":
                a, b = result.over if len(result.over) == 2 else result.over * 2
                for i in np.ndindex(symbols[a].shape):
                    for j in np.ndindex(symbols[b].shape):
                        entries[i + j] = first[a][i].diff(symbols[b][j])
            elif operator == "hvp":
                along = se.Add(
                    *[g * v for y in wrt for g, v in zip(first[y].ravel(), data(problem.direction[y]).ravel())]
                )
                (x,) = result.over
                for i in np.ndindex(symbols[x].shape):
                    entries[i] = along.diff(symbols[x][i])
            elif operator == "second_derivative":
                (x,) = result.over
                entries[()] = first[x][()].diff(symbols[x][()])
            else:
                raise SkipCell(f"the symengine backend does not compute {operator}")
            out[name] = entries
        return out
    # f array-valued: jacobian, jvp, vjp
    entries_of = {v: np.empty(function.shape + symbols[v].shape, dtype=object) for v in wrt}
    for i in np.ndindex(function.shape):
        for v in wrt:
            for j in np.ndindex(symbols[v].shape):
                entries_of[v][i + j] = function[i].diff(symbols[v][j])
    if operator == "jacobian":
        return entries_of
    if operator == "jvp":
        (name,) = shapes
        out = np.empty(function.shape, dtype=object)
        for i in np.ndindex(function.shape):
            out[i] = se.Add(
                *[d * t for v in wrt for d, t in zip(entries_of[v][i].ravel(), data(problem.direction[v]).ravel())]
            )
        return {name: out}
    if operator == "vjp":
        u = data(problem.cotangent)
        out = {}
        for v in wrt:
            entries = np.empty(symbols[v].shape, dtype=object)
            for j in np.ndindex(symbols[v].shape):
                entries[j] = se.Add(*[u[i] * entries_of[v][i + j] for i in np.ndindex(function.shape)])
            out[v] = entries
        return out
    raise SkipCell(f"the symengine backend does not compute {operator}")


def _unevaluated_derivatives(exprs: list) -> list:
    """The unevaluated Derivatives in exprs, each distinct subexpression visited once (SymEngine's
    atoms() walks the tree: 1.6 s on the logistic map's derivative at depth 14, a DAG of 100 nodes)."""
    seen, found, stack = set(), [], list(exprs)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, se.Derivative):
            found.append(node)
        else:
            stack.extend(node.args)
    return found


def refuse_unevaluated(exprs: list) -> None:
    """SymEngine's diff returns Derivative(abs(x), x) unevaluated where it has no rule: skipped, saying which."""
    found = _unevaluated_derivatives(exprs)
    if found:
        first = min(found, key=str)
        name = type(first.args[0]).__name__ if first.args else "?"
        text = str(first)
        text = text if len(text) <= 80 else text[:77] + "..."
        raise SkipCell(f"SymEngine's diff has no rule for {name.lower()}: it leaves {text} unevaluated")
