"""`casadi`: CasADi's AD, forward and reverse, on an SX graph built from the IR with CasADi's functions.

The function as written is lowered (lang.program.Program) to CasADi's own functions on symbolic
SX matrices (`casadi.tanh`, `casadi.fmax`, `casadi.if_else`, `casadi.sum1`, `casadi.mtimes`, …),
and differentiated by CasADi's AD: `casadi.reverse` (adjoint directional derivatives,
Function.reverse) and `casadi.forward` (forward directional derivatives, Function.forward, one
direction per input element). The derivative graph is compiled into a casadi.Function, which is
what the rows time. CasADi computes in double: float64 rows only.

CasADi matrices are 2-D: a scalar is 1×1, a vector (n,) a column n×1, a matrix (m, n) an m×n
matrix; a value of 3 or more axes is `skipped`, saying so. Each value carries the NumPy shape it
stands for (casadi_operators.CasadiValue), so that NumPy's broadcasting and indexing keep their meaning: (n,)
against (m, n) broadcasts along rows, as in NumPy; indexing, transposes, reshapes (NumPy's row-major
order, where casadi.reshape is column-major), rolls, triangles and stacks are gathers of elements
by their NumPy positions (no arithmetic, so no 0·inf appears where NumPy moves elements).

Where CasADi has no function of a primitive (sigmoid, softplus, relu, logaddexp, log2, exp2,
softmax), the table writes the formula a CasADi user writes with CasADi's functions, and says so
below; where a formula would change what is computed (gamma, lgamma, digamma, erfc, cbrt, round,
trunc), the primitive is Unavailable and its cells are `skipped` with the reason.

MX (CasADi's graphs of matrix operations) is not a mode of its own: the same table runs on MX
symbols (casadi_operators.build(..., kind=casadi.MX)), and on every construct case its gradient
equals SX's to 6e-15 relative, so its rows would repeat SX's verdicts; what differs is the size
and the build of matrix-heavy graphs (sum((A @ B)**2) at n = 60: 871,200 SX instructions, 9 MX),
which is the swell benchmark's to show.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator

import casadi
import numpy as np

from diffcompare.backends import BaseBackend, casadi_operators
from diffcompare.backends.casadi_operators import CasadiValue, gather, linear, moved, storage
from diffcompare.lang.primitives import PRIMITIVES, Unavailable, library_ops


def _matrix(v):
    """The CasADi matrix of a value or a number."""
    return v.x if isinstance(v, CasadiValue) else casadi.DM(v)


def _shape(v) -> tuple[int, ...]:
    return v.shape if isinstance(v, CasadiValue) else np.shape(v)


def broadcast(v, shape: tuple[int, ...]):
    """v's matrix broadcast to `shape` by NumPy's rule; a number stays a number (CasADi takes it)."""
    if not isinstance(v, CasadiValue):
        return v
    if v.shape == tuple(shape):
        return v.x
    return gather(v.x, np.broadcast_to(linear(v.shape), shape), shape)


def elementwise(fn):
    """fn on CasADi matrices of one shape, the operands broadcast as NumPy broadcasts them."""

    def apply(*args):
        shape = np.broadcast_shapes(*(_shape(a) for a in args))
        return CasadiValue(fn(*(broadcast(a, shape) for a in args)), shape)

    return apply


def _where(cond, a, b):
    """casadi.if_else; a condition that is a number (a comparison of constants, folded) selects."""
    if not isinstance(cond, CasadiValue):
        return a if cond else b
    shape = np.broadcast_shapes(*(_shape(v) for v in (cond, a, b)))
    a, b = (casadi.repmat(casadi.DM(v), *storage(shape)) if not isinstance(v, CasadiValue) else v for v in (a, b))
    return CasadiValue(casadi.if_else(*(broadcast(v, shape) for v in (cond, a, b))), shape)


# --- reductions (axis=None: every element; else a tuple of axes) -------------------------------


def _column(v):
    """v's elements as one column, in CasADi order (a reduction over all of them)."""
    return casadi.vec(_matrix(v))


def _product(column):
    """The product of a column's elements, multiplied in turn (CasADi has no prod)."""
    return functools.reduce(operator.mul, [column[i] for i in range(column.numel())])


def _reduction(whole, sum_like=None):
    """A reduction by `whole` (a column to 1×1); along one axis of a matrix, one per column or row.
    sum_like(x, axis) does the axis case at once where CasADi has it (sum1, sum2)."""

    def reduce(v, axis=None):
        shape = _shape(v)
        if axis is None or len(axis) == len(shape):
            return CasadiValue(whole(_column(v)), ())
        (a,) = axis
        x = _matrix(v)
        m, n = shape
        if sum_like is not None:
            return CasadiValue(casadi.vec(sum_like(x, a)), (n,) if a == 0 else (m,))
        parts = [whole(x[:, j]) for j in range(n)] if a == 0 else [whole(x[i, :].T) for i in range(m)]
        return CasadiValue(casadi.vertcat(*parts), (n,) if a == 0 else (m,))

    return reduce


def _sum_along(x, a):
    return casadi.sum1(x) if a == 0 else casadi.sum2(x)


def _mean_along(x, a):
    return _sum_along(x, a) / x.shape[a]


def _dot(a, b):
    return CasadiValue(casadi.dot(_matrix(a), _matrix(b)), ())


def _matmul(a, b):
    sa, sb = _shape(a), _shape(b)
    x, y = _matrix(a), _matrix(b)
    if len(sa) == 1 and len(sb) == 1:
        return CasadiValue(casadi.dot(x, y), ())
    if len(sa) == 1:  # (n,) @ (n, k): a row times B, a column again
        return CasadiValue(casadi.mtimes(x.T, y).T, (sb[1],))
    if len(sb) == 1:
        return CasadiValue(casadi.mtimes(x, y), (sa[0],))
    return CasadiValue(casadi.mtimes(x, y), (sa[0], sb[1]))


# --- array building: gathers of elements by their NumPy positions -----------------------------


def _joined(join):
    """stack / concatenate: the operands' elements in one column, gathered by NumPy's join of their positions."""

    def apply(*xs, axis):
        column = casadi.vertcat(*(_column(v) for v in xs))
        maps, offset = [], 0
        for v in xs:
            maps.append(linear(_shape(v)) + offset)
            offset += int(np.prod(_shape(v), dtype=np.int64))
        index = join(maps, axis=axis)
        storage(index.shape)
        return CasadiValue(gather(column, index, index.shape), index.shape)

    return apply


def _triangle(lower: bool):
    def apply(x, k=0):
        index = linear(x.shape)
        keep = (np.tril if lower else np.triu)(np.ones(x.shape, dtype=bool), k)
        return moved(x, np.where(keep, index, -1))

    return apply


def _diag(x):
    index = linear(x.shape)
    if len(x.shape) == 2:
        return moved(x, np.diagonal(index).copy())
    n = x.shape[0]
    return moved(x, np.where(np.eye(n, dtype=bool), index[:, None] + np.zeros(n, dtype=int), -1))


def _outer(a, b):
    x = gather(_matrix(a), linear(_shape(a)).ravel(), (int(np.prod(_shape(a))),))
    y = gather(_matrix(b), linear(_shape(b)).ravel(), (int(np.prod(_shape(b))),))
    return CasadiValue(casadi.mtimes(x, y.T), (x.numel(), y.numel()))


def _along(v, axis, fn):
    """fn (a column to a column) along one axis: the vector itself, or each column / row of a matrix."""
    shape = _shape(v)
    x = _matrix(v)
    if len(shape) == 1:
        return CasadiValue(fn(x), shape)
    a = axis % 2
    if a == 0:
        return CasadiValue(casadi.horzcat(*(fn(x[:, j]) for j in range(shape[1]))), shape)
    return CasadiValue(casadi.vertcat(*(fn(x[i, :].T).T for i in range(shape[0]))), shape)


def _softmax_column(c):
    e = casadi.exp(c - casadi.mmax(c))
    return e / casadi.sum1(e)


def _cumsum(x, axis=None):
    return _along(x, 0 if axis is None else axis, casadi.cumsum)


def _take(x, indices, source=None):
    return moved(x, linear(x.shape)[tuple(indices)])


# --- the table --------------------------------------------------------------------------------


def _stable_sigmoid(x):
    """1/(1+exp(-x)) for x ≥ 0, exp(x)/(1+exp(x)) below: CasADi has no sigmoid (the two branches
    keep exp from overflowing; if_else gives the untaken branch's value and derivative no part)."""
    e = casadi.exp(-casadi.fabs(x))
    return casadi.if_else(x >= 0, 1 / (1 + e), e / (1 + e))


def _stable_softplus(x):
    """log(1+exp(x)) as max(x, 0) + log1p(exp(-|x|)): CasADi has no softplus."""
    return casadi.fmax(x, 0) + casadi.log1p(casadi.exp(-casadi.fabs(x)))


def _logaddexp(a, b):
    """log(exp(a)+exp(b)) as max(a, b) + log1p(exp(-|a-b|)): CasADi's logsumexp takes one vector."""
    return casadi.fmax(a, b) + casadi.log1p(casadi.exp(-casadi.fabs(a - b)))


def _missing(name: str, reason: str) -> Unavailable:
    return Unavailable("casadi", name, reason)


_ELEMENTWISE_OWN = {
    "abs": casadi.fabs,
    "min": casadi.fmin,
    "max": casadi.fmax,
    "clamp": lambda x, lo, hi: casadi.fmin(casadi.fmax(x, lo), hi),
    "relu": lambda x: casadi.fmax(x, 0),
    "sigmoid": _stable_sigmoid,
    "softplus": _stable_softplus,
    "logaddexp": _logaddexp,
    "log2": lambda x: casadi.log(x) / math.log(2),
    "exp2": lambda x: 2.0**x,
}

_ARRAY_OWN = {
    "where": _where,
    "matmul": _matmul,
    "dot": _dot,
    "sum": _reduction(casadi.sum1, _sum_along),
    "mean": _reduction(lambda c: casadi.sum1(c) / c.numel(), _mean_along),
    "prod": _reduction(_product),
    "norm": _reduction(casadi.norm_2),
    "logsumexp": _reduction(casadi.logsumexp),
    "amax": _reduction(casadi.mmax),
    "amin": _reduction(casadi.mmin),
    "stack": _joined(np.stack),
    "concatenate": _joined(np.concatenate),
    "transpose": lambda x: moved(x, linear(x.shape).T),
    "reshape": lambda x, shape: moved(x, linear(x.shape).reshape(shape)),
    "roll": lambda x, shift, axis=None: moved(x, np.roll(linear(x.shape), shift, axis)),
    "cumsum": _cumsum,
    "tril": _triangle(True),
    "triu": _triangle(False),
    "diag": _diag,
    "outer": _outer,
    "take": _take,
    "softmax": lambda x, axis=-1: _along(x, axis, _softmax_column),
    "log_softmax": lambda x, axis=-1: _along(x, axis, lambda c: c - casadi.logsumexp(c)),
}

_MISSING = {
    "cbrt": "CasADi has no cbrt (x**(1/3) is NaN for x < 0)",
    "erfc": "CasADi has no erfc (1 - erf(x) loses every digit past x ≈ 6)",
    "lgamma": "CasADi has no log-gamma function",
    "gamma": "CasADi has no gamma function",
    "digamma": "CasADi has no digamma function",
    "round": "CasADi has no round (only floor and ceil)",
    "trunc": "CasADi has no trunc (only floor and ceil)",
}


@functools.cache
def casadi_ops() -> dict:
    """CasADi's functions by the primitives' declarations (casadi.<name>, Python's operators), the
    ones CasADi spells differently or writes as a formula, each lifted to NumPy's broadcasting
    over CasadiValues; Unavailable where CasADi has none."""
    own = {**_ELEMENTWISE_OWN, **{name: _missing(name, why) for name, why in _MISSING.items()}}
    table = library_ops("casadi", own=own)
    for name, fn in table.items():
        if name in _ARRAY_OWN:
            table[name] = _ARRAY_OWN[name]
        elif PRIMITIVES[name].kind in ("elementwise", "compare") and not isinstance(fn, Unavailable):
            table[name] = elementwise(fn)
    return table


class CasadiBackend(BaseBackend):
    """CasADi's AD on SX graphs: the gradient in reverse mode (casadi.reverse, one adjoint sweep)
    and in forward mode (casadi.forward, one direction per input element), each compiled into a
    casadi.Function. expr_ops is that Function's n_instructions(): the instructions of CasADi's
    virtual machine that one evaluation executes (inputs, constants and outputs included, every
    operation of the common-subexpression-shared graph once), beside SymPy's operation count."""

    name = "casadi"
    library = "casadi"
    description = f"casadi.reverse / casadi.forward on an SX graph (casadi {casadi.__version__})"
    supported_dtypes = ("float64",)

    def modes(self, problem):
        """gradient: reverse, then forward; the other operators as casadi_operators.MODES says."""
        return casadi_operators.MODES[problem.operator]

    def compute(self, problem, dtype, mode):
        return casadi_operators.compute(problem, dtype, mode, casadi_ops())

    def gradient(self, problem, dtype):
        """The gradient by reverse mode, whatever operator the problem asks for (as torch's and jax's)."""
        if problem.operator != "gradient":
            problem = dataclasses.replace(problem, operator="gradient", direction={}, cotangent="")
        return casadi_operators.compute(problem, dtype, "reverse", casadi_ops())
