"""The IR's own chain rule in mpmath: an exact reference that needs no SymPy.

The function is run as written, node by node, on NumPy object arrays of mpmath
numbers, and differentiated in reverse mode. Each primitive's forward rule and local
derivatives come from its one declaration (diffcompare.lang.primitives): its SymPy
meaning, differentiated once by SymPy per primitive (d/du sin(u) = cos(u)), compiled
into a Plan over mpmath (diffcompare.exact.numeric) at the working precision. No
expression of the problem ever goes through SymPy, so the cost is the DAG's, not the
tree's: a let step used twice is computed once, and a 10⁴-element vector costs 10⁴
elements, not 10⁴ derivatives of a 10⁴-term sum.

Arithmetic on whole arrays goes through the object arrays' own operators; the six
reductions are written here in mpmath's exact-rounding sums and products (fsum, fprod,
fdot) with their local derivatives beside them, since a reduction has no per-element
SymPy meaning; a test checks that every primitive is covered.

Constants and the point are the exact binary values of their float64s, so the only
rounding is mpmath's own, at `digits` significant digits; the reference (exact.reference)
runs this at rising precision until two precisions agree.
"""

from __future__ import annotations

import math
import operator
from functools import cache

import mpmath
import numpy as np
import sympy

from diffcompare.engine.chainrule import kink_steps, unbroadcast
from diffcompare.exact.numeric import MPMATH, Plan, object_array
from diffcompare.lang.ir import Node, axis_keyword, topo_order
from diffcompare.lang.primitives import PRIMITIVES, native

CHUNK = 4096  # elements between deadline checks in one elementwise step
NAN = mpmath.mpf("nan")


def _real(value):
    """A result as a real mpf: a non-real one (sqrt(-1), log(-2)) is not a number here,
    as in every float backend; an error value (Plan's float nan) likewise."""
    if isinstance(value, mpmath.mpf):
        return value
    if isinstance(value, mpmath.mpc):
        return value.real if value.imag == 0 else NAN
    if isinstance(value, (bool, np.bool_)):
        return value
    try:
        return mpmath.mpf(value)
    except (TypeError, ValueError):
        return NAN


def _symbols(arity: int) -> list[sympy.Symbol]:
    return list(sympy.symbols(f"u0:{arity}", real=True))


@cache
def _meaning(name: str):
    """(symbols, SymPy expression of the primitive, [∂/∂operand]) for an elementwise primitive."""
    p = PRIMITIVES[name]
    u = _symbols(p.arity)
    expr = native(p, "sympy", module=sympy)(*u)  # its SymPy name, else Python's operator
    # powsimp: d/dx x**k is k*x**(k-1), not SymPy's k*x**k/x, which is 0/0 at x = 0.
    return u, expr, [sympy.powsimp(sympy.diff(expr, v)) for v in u]


@cache
def _compiled(name: str, which: int, digits: int):
    """The primitive's forward rule (which = -1) or its derivative in operand `which`, as a
    function of mpmath numbers at `digits` (a Plan's constants are rounded when it is built)."""
    u, expr, partials = _meaning(name)
    target = expr if which < 0 else partials[which]
    with mpmath.workdps(digits):
        plan = Plan(([], [target]), u, MPMATH)
    out = plan.outputs[0]

    def element(*args):
        return _real(plan.run(list(args))[out])

    return element


def _apply(fn, arrays, deadline) -> np.ndarray:
    """fn on every element of the broadcast operands, an object array of their shape."""
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=object) for a in arrays])
    shape = arrays[0].shape
    flats = [a.ravel() for a in arrays]
    out = np.empty(len(flats[0]) if shape else 1, dtype=object)
    for start in range(0, out.size, CHUNK):
        if deadline is not None:
            deadline.check()
        for k in range(start, min(start + CHUNK, out.size)):
            out[k] = fn(*[f[k] for f in flats])
    return out.reshape(shape)


def _unbroadcast(g, shape: tuple[int, ...]) -> np.ndarray:
    """engine.chainrule.unbroadcast on an object array: summed to an operand's shape. The
    leading axes it drops are kept as 1s and reshaped away, since the sum of a whole 1-d
    object array is a bare mpf, not an array (numeric.object_array)."""
    g = object_array(g)
    ones = (1,) * max(0, g.ndim - len(shape))
    return unbroadcast(g, ones + tuple(shape)).reshape(shape)


def _div(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        return NAN if a == 0 or not mpmath.isfinite(a) else mpmath.inf * mpmath.sign(a)


_DIRECT = {  # arithmetic that cannot fail, on whole object arrays
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "neg": operator.neg,
}
_EXP, _LOG, _SQRT = MPMATH.functions[sympy.exp], MPMATH.functions[sympy.log], mpmath.sqrt


def _flat(x) -> list:
    return list(np.asarray(x, dtype=object).ravel())


def _scalar(value) -> np.ndarray:
    return object_array(_real(value))


def _constant(value) -> np.ndarray:
    """A folded constant (a float64, or an array of them: [0, 1, 0]) as exact mpf."""
    if np.ndim(value) == 0:
        return _scalar(mpmath.mpf(value))
    return np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])(value)


# Reductions: (forward on the list of elements, local VJP rules (g, ans, *args) -> array).
def _prod_vjp(g, ans, x):
    flat = _flat(x)
    left, right = [mpmath.mpf(1)], [mpmath.mpf(1)]
    for v in flat[:-1]:
        left.append(left[-1] * v)
    for v in reversed(flat[1:]):
        right.append(right[-1] * v)
    others = [a * b for a, b in zip(left, reversed(right))]
    return np.asarray([g * o for o in others], dtype=object).reshape(np.shape(x))


def _norm_vjp(g, ans, x):
    return np.vectorize(lambda v: _div(g * v, ans), otypes=[object])(x)


def _logsumexp_vjp(g, ans, x):
    return np.vectorize(lambda v: g * _EXP(v - ans), otypes=[object])(x)


def _extreme(pick):
    """max(x)/min(x) of a list; NaN where an element is NaN (as NumPy, torch and jax)."""

    def value(items):
        return NAN if any(mpmath.isnan(v) for v in items) else pick(items)

    return value


def _extreme_vjp(g, ans, x):
    """The adjoint split evenly among the elements tied at the extreme (rules._extreme_vjp)."""
    flat = _flat(x)
    hits = [v == ans[()] if isinstance(ans, np.ndarray) else v == ans for v in flat]
    share = sum(hits)
    return np.asarray([g * mpmath.mpf(1) / share if h else g * 0 for h in hits], dtype=object).reshape(np.shape(x))


_FULL = {
    "sum": (lambda x: mpmath.fsum(_flat(x)), (lambda g, ans, x: np.broadcast_to(g, np.shape(x)),)),
    "mean": (
        lambda x: mpmath.fsum(_flat(x)) / np.size(x),
        (lambda g, ans, x: np.broadcast_to(g / np.size(x), np.shape(x)),),
    ),
    "prod": (lambda x: mpmath.fprod(_flat(x)), (_prod_vjp,)),
    "dot": (lambda a, b: mpmath.fdot(_flat(a), _flat(b)), PRIMITIVES["dot"].vjps),
    "norm": (lambda x: _SQRT(mpmath.fsum(v * v for v in _flat(x))), (_norm_vjp,)),
    "logsumexp": (lambda x: _LOG(mpmath.fsum(_EXP(v) for v in _flat(x))), (_logsumexp_vjp,)),
    "amax": (lambda x: _extreme(max)(_flat(x)), (_extreme_vjp,)),
    "amin": (lambda x: _extreme(min)(_flat(x)), (_extreme_vjp,)),
}


def _fiber_rows(x, axis):
    """x (an object array) with the reduced axes moved last and merged, and the way back."""
    x = np.asarray(x, dtype=object)
    last = tuple(range(x.ndim - len(axis), x.ndim))
    moved = np.moveaxis(x, axis, last)
    lead = moved.shape[: x.ndim - len(axis)]

    def back(rows):
        return np.moveaxis(np.asarray(rows, dtype=object).reshape(moved.shape), last, axis)

    return moved.reshape(lead + (-1,)), back


def _along(forward):
    """A reduction of every element, taken fiber by fiber along axis= (None: every element)."""

    def reduce(*args, axis=None):
        if axis is None:
            return forward(*args)
        rows, _ = _fiber_rows(args[0], axis)
        out = np.empty(rows.shape[:-1], dtype=object)
        for index in np.ndindex(out.shape):
            out[index] = _real(forward(rows[index]))
        return out

    return reduce


def _along_vjp(rule):
    """A reduction's VJP rule, fiber by fiber along axis=: each fiber's adjoint and result."""

    def vjp(g, ans, *args, axis=None):
        if axis is None or rule is None:
            return rule(g, ans, *args)
        rows, back = _fiber_rows(args[0], axis)
        g = np.broadcast_to(np.asarray(g, dtype=object), rows.shape[:-1])
        ans = np.asarray(ans, dtype=object)
        out = np.empty(rows.shape, dtype=object)
        for index in np.ndindex(rows.shape[:-1]):
            out[index] = np.asarray(rule(g[index], ans[index], rows[index]), dtype=object).ravel()
        return back(out)

    return vjp


# Reductions: (forward on an array, local VJP rules (g, ans, *args) -> array), each taking
# axis= (None: every element; else a tuple of axes, one fiber at a time).
REDUCTIONS = {
    name: (_along(forward), tuple(_along_vjp(rule) for rule in rules)) for name, (forward, rules) in _FULL.items()
}


class _StrongZero:
    """An adjoint that is 0 by structure, not by value: what where passes to the branch it does
    not take, and indexing to the elements it does not select. Times anything, NaN and ∞
    included, it stays itself, so a branch or element that f does not read adds nothing to the
    gradient even where its own local derivative is not a number (sqrt(0.1 - x) not taken at
    x = 0.5): the exact derivative of f, which SymPy's Piecewise gives too. A product of a
    numeric 0 and ∞ stays NaN: there the chain rule breaks, and f's one-sided derivatives decide."""

    __slots__ = ()

    def __mul__(self, other):
        return self

    __rmul__ = __truediv__ = __mul__

    def __add__(self, other):
        return _unwrapped(other)

    __radd__ = __rsub__ = __add__

    def __sub__(self, other):
        return -_unwrapped(other)

    def __neg__(self):
        return self

    def __repr__(self):
        return "STRONG_ZERO"


STRONG_ZERO = _StrongZero()


def _unwrapped(value):
    """A 0-d object array's element (numpy unwraps them in its own arithmetic, not in ours)."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def _numeric(value):
    return mpmath.mpf(0) if value is STRONG_ZERO else value


def _where(c, a, b):
    return np.where(np.asarray(c, dtype=bool), np.asarray(a, dtype=object), np.asarray(b, dtype=object))


def _where_vjps():
    zero = STRONG_ZERO
    return (
        None,
        lambda g, ans, c, a, b: np.where(np.asarray(c, dtype=bool), g, zero),
        lambda g, ans, c, a, b: np.where(np.asarray(c, dtype=bool), zero, g),
    )


def exact_inputs(point: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The point as object arrays of mpf: each float64's exact binary value."""
    out = {}
    for name, value in point.items():
        value = np.asarray(value, dtype=np.float64)
        arr = np.empty(value.shape, dtype=object)
        for index in np.ndindex(value.shape):
            arr[index] = mpmath.mpf(float(value[index]))
        out[name] = arr
    return out


class MpChainRule:
    """One problem's function, run and differentiated in mpmath at a chosen precision."""

    def __init__(self, root: Node, wrt: list[str]):
        self.order = topo_order(root)
        self.slot = {id(n): i for i, n in enumerate(self.order)}
        self.wrt = list(wrt)
        needs = [False] * len(self.order)
        for i, node in enumerate(self.order):
            if node.op == "var":
                needs[i] = node.attr in self.wrt
            elif not node.is_constant:
                needs[i] = any(needs[self.slot[id(a)]] for a in node.args)
        self.needs = needs

    # -- forward ---------------------------------------------------------------------
    def _step(self, node: Node, args: list, digits: int, deadline):
        op = node.op
        if op == "index":
            return np.asarray(args[0][node.attr], dtype=object)
        if op in _DIRECT:
            return np.asarray(_DIRECT[op](*args), dtype=object)
        if op == "div":
            return _apply(_div, args, deadline)
        if op == "matmul":
            return np.asarray(np.matmul(*args), dtype=object)
        if PRIMITIVES[op].kind == "array":  # array building: its NumPy rule on object arrays
            return np.asarray(PRIMITIVES[op].forward(*args, **axis_keyword(node)), dtype=object)
        if op == "where":
            return _where(*args)
        p = PRIMITIVES[op]
        if p.kind == "compare":
            return _apply(p.operator, args, deadline)
        if op in REDUCTIONS:
            if node.attr is not None:
                return np.asarray(REDUCTIONS[op][0](*args, axis=node.attr), dtype=object)
            return _scalar(REDUCTIONS[op][0](*args))
        return _apply(_compiled(op, -1, digits), args, deadline)

    def forward(self, inputs: dict[str, np.ndarray], digits: int, deadline=None) -> list:
        """Every node's value (object arrays of mpf; bool arrays for comparisons) at `digits`."""
        values: list = [None] * len(self.order)
        with mpmath.workdps(digits):
            for i, node in enumerate(self.order):
                if deadline is not None:
                    deadline.check()
                if node.is_constant:
                    values[i] = _constant(node.const_value)
                elif node.op == "var":
                    values[i] = inputs[node.attr]
                else:
                    values[i] = self._step(node, [values[self.slot[id(a)]] for a in node.args], digits, deadline)
        return values

    def value(self, inputs: dict[str, np.ndarray], digits: int, deadline=None):
        """f at the inputs (an mpf, NaN where it is not a finite real number)."""
        return self.forward(inputs, digits, deadline)[-1][()]

    # -- reverse ---------------------------------------------------------------------
    def _vjp(self, node: Node, k: int, g, ans, args: list, digits: int, deadline):
        op = node.op
        if op == "index":
            out = np.empty(np.shape(args[0]), dtype=object)
            out.fill(STRONG_ZERO)  # the elements not selected: f does not read them here
            out[node.attr] += g
            return out
        if op in REDUCTIONS:
            return np.asarray(REDUCTIONS[op][1][k](g, ans, *args, **axis_keyword(node)), dtype=object)
        if op == "where":
            return _where_vjps()[k](g, ans, *args)
        if op == "matmul":
            return np.asarray(PRIMITIVES[op].vjps[k](g, ans, *args), dtype=object)
        if PRIMITIVES[op].kind == "array":
            return np.asarray(PRIMITIVES[op].vjp(k)(g, ans, *args, **axis_keyword(node)), dtype=object)
        local = _apply(_compiled(op, k, digits), args, deadline)
        return _apply(operator.mul, [g, local], deadline)

    def gradient(self, inputs: dict[str, np.ndarray], digits: int, deadline=None) -> tuple[list, dict, object]:
        """(node values, {wrt var: object array of ∂f/∂var}, the largest finite magnitude met
        in any value or adjoint: the scale that rounding errors are relative to)."""
        values = self.forward(inputs, digits, deadline)
        adjoints: list = [None] * len(self.order)
        with mpmath.workdps(digits):
            adjoints[-1] = _scalar(mpmath.mpf(1))
            for i in range(len(self.order) - 1, -1, -1):
                node, g = self.order[i], adjoints[i]
                if g is None or node.op == "var" or node.is_constant:
                    continue
                if deadline is not None:
                    deadline.check()
                args = [values[self.slot[id(a)]] for a in node.args]
                for k, arg in enumerate(node.args):
                    j = self.slot[id(arg)]
                    if not self.needs[j] or PRIMITIVES.get(node.op, None) and PRIMITIVES[node.op].kind == "compare":
                        continue
                    if node.op == "where" and k == 0:
                        continue
                    part = _unbroadcast(self._vjp(node, k, g, values[i], args, digits, deadline), arg.shape)
                    part = np.asarray(part, dtype=object)
                    adjoints[j] = part.copy() if adjoints[j] is None else adjoints[j] + part
            grads = {}
            for var in self.wrt:
                shape = inputs[var].shape
                grad = np.empty(shape, dtype=object)
                grad.fill(mpmath.mpf(0))
                grads[var] = grad
            for i, node in enumerate(self.order):
                if node.op == "var" and node.attr in grads and adjoints[i] is not None:
                    grads[node.attr] = np.vectorize(_numeric, otypes=[object])(np.asarray(adjoints[i], dtype=object))
            scale = _largest(values, adjoints)
        return values, grads, scale

    # -- exact kinks -------------------------------------------------------------------
    def kinks(self, values: list) -> list[tuple[Node, np.ndarray, list]]:
        """(node, mask, operand values) for each non-smooth step exactly on its kink in
        `values` (exact ones from forward, or float64 ones in the same order)."""
        return kink_steps(self.order, self.slot, self.needs, values)


def kink_distance(node: Node, operands: list, mask: np.ndarray):
    """How far (exactly) the operands of a non-smooth step are from its kink, the smallest
    over the elements `mask` selects: |u| for abs and relu, |a - b| for a tie or where's
    boundary, the distance to the nearer bound for clamp."""
    if PRIMITIVES[node.op].kind == "reduction":  # max(x)/min(x): the gap between tied elements
        values = [v for v, m in zip(_flat(operands[0]), np.ravel(mask)) if m]
        return max(values) - min(values) if values else None
    arrays = np.broadcast_arrays(*[np.asarray(o, dtype=object) for o in operands])
    mask = np.broadcast_to(mask, arrays[0].shape)
    best = None
    for index in zip(*np.nonzero(mask)) if mask.ndim else [()]:
        vals = [a[index] for a in arrays]
        gap = PRIMITIVES[node.op].kink_gap
        if gap is not None:  # floor, sign, a % b, atan2 …: their declared distance
            d = gap(*vals)
        elif node.op in ("abs", "relu"):
            d = abs(vals[0])
        elif node.op == "clamp":
            d = min(abs(vals[0] - vals[1]), abs(vals[0] - vals[2]))
        else:
            d = abs(vals[0] - vals[1])
        best = d if best is None else min(best, d)
    return best


def _largest(*groups) -> mpmath.mpf:
    best = mpmath.mpf(0)
    for group in groups:
        for value in group:
            if value is None:
                continue
            arr = np.asarray(value, dtype=object)
            if arr.dtype == bool:
                continue
            for v in arr.ravel():
                if isinstance(v, mpmath.mpf) and mpmath.isfinite(v):
                    a = abs(v)
                    if a > best:
                        best = a
    return best


def is_finite(value) -> bool:
    return isinstance(value, mpmath.mpf) and bool(mpmath.isfinite(value))


def magnitude(value) -> float:
    """|value| as a float (inf past float's range), for messages."""
    with mpmath.workdps(20):
        try:
            return float(abs(value))
        except (OverflowError, TypeError):
            return math.inf
