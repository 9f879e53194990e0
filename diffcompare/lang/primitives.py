"""The one primitive table.

Each primitive is declared once: its name, arity, how its shape follows from its
operands, its forward rule in NumPy and one local derivative (VJP) rule per
operand, in the spirit of HIPS autograd's
``defvjp(anp.sin, lambda ans, x: lambda g: g * anp.cos(x))``. A VJP rule here is
``vjp(g, ans, *args)``: the upstream adjoint g times the local derivative, before
it is summed back to the operand's shape (the engine does that for broadcasting).

The chain-rule engine runs these rules. The other backends map the same names
to their own native functions in one lookup dict each (torch.sin, jnp.sin,
sympy.sin), so adding a primitive touches one table per backend.

A `hazard` estimates how much a primitive's forward or local-derivative rule
amplifies rounding error at a point; the report uses it to explain a lost
digit (sigmoid's σ(1-σ) at large arguments, cancellation in a - b).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

VJP = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Primitive:
    name: str
    arity: int
    kind: str  # elementwise | reduction | matmul | compare
    forward: Callable[..., np.ndarray]
    vjps: tuple[VJP | None, ...]  # None: not differentiable in that operand
    smooth: bool = True  # False: has kinks (relu, abs, min, max, clamp, where)
    hazard: Callable[..., tuple[float, str] | None] | None = field(default=None, repr=False)
    kink: Callable[..., np.ndarray] | None = field(default=None, repr=False)  # where not differentiable
    hazard_in: str = "value"  # the hazard is in the forward "value" or in the local "derivative" rule

    def shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        if self.kind in ("elementwise", "compare"):
            return tuple(np.broadcast_shapes(*shapes))
        if self.kind == "reduction":
            if self.name == "dot" and not (len(shapes[0]) == len(shapes[1]) == 1 and shapes[0] == shapes[1]):
                raise ValueError("dot takes two vectors of the same length; use @ for matrices")
            return ()
        if self.kind == "matmul":
            return matmul_shape(*shapes)
        raise AssertionError(self.kind)


def matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy's matmul shape rule, without computing anything."""
    if not a or not b:
        raise ValueError("@ needs arrays, not scalars")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ValueError(f"inner dimensions {a2[-1]} and {b2[-2]} differ")
    batch = tuple(np.broadcast_shapes(a2[:-2], b2[:-2]))
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


# --- forward rules that NumPy lacks as one native function -------------------


def _sigmoid(x):
    # exp(-|x|) never overflows; both branches are exact rewrites of 1/(1+e^-x).
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _erf(x):
    x = np.asarray(x)
    return np.asarray(np.vectorize(math.erf, otypes=[np.float64])(x), dtype=x.dtype)


def _logsumexp(x):
    m = np.max(x)
    if not np.isfinite(m):
        return np.log(np.sum(np.exp(x)))
    return m + np.log(np.sum(np.exp(x - m)))


def _norm(x):
    return np.linalg.norm(np.ravel(x))


# --- local derivative helpers ---------------------------------------------------


def _matmul_vjp_a(g, ans, a, b):
    if b.ndim == 1:  # (..., n, k) @ (k,) -> (..., n): d/da = g[..., None] * b
        return np.multiply.outer(g, b) if a.ndim == 1 else np.expand_dims(g, -1) * b
    if a.ndim == 1:  # (k,) @ (..., k, m) -> (..., m)
        return np.squeeze(b @ np.expand_dims(g, -1), -1)
    return g @ np.swapaxes(b, -1, -2)


def _matmul_vjp_b(g, ans, a, b):
    if a.ndim == 1:  # (k,) @ (..., k, m): d/db = a[:, None] * g[..., None, :]
        return np.expand_dims(a, -1) * np.expand_dims(g, -2) if b.ndim > 1 else g * a
    if b.ndim == 1:  # (..., n, k) @ (k,)
        return np.squeeze(np.swapaxes(a, -1, -2) @ np.expand_dims(g, -1), -1)
    return np.swapaxes(a, -1, -2) @ g


def _prod_vjp(g, ans, x):
    # The product of all the other elements, without dividing by x (which may be 0).
    flat = np.ravel(x)
    ones = np.ones(1, dtype=flat.dtype)
    left = np.concatenate([ones, np.cumprod(flat[:-1])])
    right = np.concatenate([np.cumprod(flat[::-1][:-1])[::-1], ones])
    return g * (left * right).reshape(np.shape(x))


def _tie_share(x, y):
    """Share of the adjoint that min/max pass to x: 1 where x wins, ½ at a tie
    (torch.minimum/maximum and jnp split ties evenly)."""
    return np.where(x == y, 0.5, 1.0).astype(np.result_type(x, y))


# --- hazards: (amplification of relative error, why) or None -------------------


def _cancellation_hazard(ans, a, b):
    scale = np.abs(a) + np.abs(b)
    with np.errstate(all="ignore"):
        amp = np.where(ans != 0, scale / np.abs(ans), np.where(scale != 0, np.inf, 1.0))
    worst = float(np.max(amp)) if np.size(amp) else 1.0
    return worst, f"a ± b cancels: the operands are {worst:.2g}× larger than the result"


def _saturation_hazard(ans, x):
    # d/dx of sigmoid is σ(1-σ): where σ ≈ 1, 1-σ keeps only the digits σ has below 1.
    s = np.asarray(ans, dtype=np.float64)
    tail = 1 - s
    with np.errstate(all="ignore"):
        amp = np.where(tail > 0, s / tail, np.inf)
    if np.any(tail == 0):
        return math.inf, "σ(u) rounds to exactly 1, so σ(1-σ) is 0"
    return float(np.max(amp)), f"σ(u) is within {float(np.min(tail)):.2g} of 1, so σ(1-σ) cancels in 1-σ"


def _tanh_hazard(ans, x):
    t = np.abs(np.asarray(ans, dtype=np.float64))
    tail = 1 - t
    if np.any(tail == 0):
        return math.inf, "|tanh(u)| rounds to exactly 1, so 1-tanh² is 0"
    with np.errstate(all="ignore"):
        amp = np.where(tail > 0, 1 / tail, np.inf)
    return float(np.max(amp)), f"|tanh(u)| is within {float(np.min(tail)):.2g} of 1, so 1-tanh² cancels"


def _expm1_hazard(ans, x):
    # d/dx expm1 is written ans + 1 (torch and jax too): where expm1(x) ≈ -1, that cancels.
    s = np.asarray(ans, dtype=np.float64)
    tail = np.abs(s + 1)
    if np.any(tail == 0):
        return math.inf, "expm1(u) rounds to exactly -1, so its derivative expm1(u) + 1 is 0"
    with np.errstate(all="ignore"):
        amp = np.abs(s) / tail
    return float(np.max(amp)), f"expm1(u) is within {float(np.min(tail)):.2g} of -1, so expm1(u) + 1 cancels"


def _overflow_hazard(ans, x):
    if not np.all(np.isfinite(ans)):
        return math.inf, "exp overflows in this dtype"
    return None


def _elementwise(name, forward, *vjps, hazard=None, kink=None, hazard_in="value"):
    return Primitive(name, len(vjps), "elementwise", forward, vjps, kink is None, hazard, kink, hazard_in)


def _at_zero(x):
    return np.asarray(x) == 0


def _tie(a, b):
    return np.asarray(a) == np.asarray(b)


def _at_bound(x, lo, hi):
    return (np.asarray(x) == lo) | (np.asarray(x) == hi)


def _table(*prims: Primitive) -> dict[str, Primitive]:
    return {p.name: p for p in prims}


_SQRT_PI = math.sqrt(math.pi)

PRIMITIVES: dict[str, Primitive] = _table(
    # arithmetic
    _elementwise("add", np.add, lambda g, ans, a, b: g, lambda g, ans, a, b: g, hazard=_cancellation_hazard),
    _elementwise("sub", np.subtract, lambda g, ans, a, b: g, lambda g, ans, a, b: -g, hazard=_cancellation_hazard),
    _elementwise("mul", np.multiply, lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a),
    _elementwise("div", np.divide, lambda g, ans, a, b: g / b, lambda g, ans, a, b: -g * a / (b * b)),
    _elementwise(
        "pow",
        np.power,
        lambda g, ans, a, b: g * b * a ** (b - 1),
        lambda g, ans, a, b: g * np.log(a) * ans,
    ),
    _elementwise("neg", np.negative, lambda g, ans, x: -g),
    Primitive("matmul", 2, "matmul", np.matmul, (_matmul_vjp_a, _matmul_vjp_b)),
    # elementary functions
    _elementwise("sin", np.sin, lambda g, ans, x: g * np.cos(x)),
    _elementwise("cos", np.cos, lambda g, ans, x: -g * np.sin(x)),
    _elementwise("tan", np.tan, lambda g, ans, x: g * (1 + ans * ans)),
    _elementwise("asin", np.arcsin, lambda g, ans, x: g / np.sqrt(1 - x * x)),
    _elementwise("acos", np.arccos, lambda g, ans, x: -g / np.sqrt(1 - x * x)),
    _elementwise("atan", np.arctan, lambda g, ans, x: g / (1 + x * x)),
    _elementwise("sinh", np.sinh, lambda g, ans, x: g * np.cosh(x)),
    _elementwise("cosh", np.cosh, lambda g, ans, x: g * np.sinh(x)),
    _elementwise("tanh", np.tanh, lambda g, ans, x: g * (1 - ans * ans), hazard=_tanh_hazard, hazard_in="derivative"),
    _elementwise("exp", np.exp, lambda g, ans, x: g * ans, hazard=_overflow_hazard),
    _elementwise("expm1", np.expm1, lambda g, ans, x: g * (ans + 1), hazard=_expm1_hazard, hazard_in="derivative"),
    _elementwise("log", np.log, lambda g, ans, x: g / x),
    _elementwise("log1p", np.log1p, lambda g, ans, x: g / (1 + x)),
    _elementwise("log2", np.log2, lambda g, ans, x: g / (x * math.log(2))),
    _elementwise("log10", np.log10, lambda g, ans, x: g / (x * math.log(10))),
    _elementwise("sqrt", np.sqrt, lambda g, ans, x: g / (2 * ans)),
    _elementwise("abs", np.abs, lambda g, ans, x: g * np.sign(x), kink=_at_zero),
    _elementwise(
        "sigmoid", _sigmoid, lambda g, ans, x: g * ans * (1 - ans), hazard=_saturation_hazard, hazard_in="derivative"
    ),
    _elementwise("relu", lambda x: np.maximum(x, 0), lambda g, ans, x: g * (x > 0), kink=_at_zero),
    _elementwise("softplus", lambda x: np.logaddexp(0, x), lambda g, ans, x: g * _sigmoid(x)),
    _elementwise("erf", _erf, lambda g, ans, x: g * (2 / _SQRT_PI) * np.exp(-x * x)),
    # piecewise
    _elementwise(
        "min",
        np.minimum,
        lambda g, ans, a, b: g * (a <= b) * _tie_share(a, b),
        lambda g, ans, a, b: g * (b <= a) * _tie_share(a, b),
        kink=_tie,
    ),
    _elementwise(
        "max",
        np.maximum,
        lambda g, ans, a, b: g * (a >= b) * _tie_share(a, b),
        lambda g, ans, a, b: g * (b >= a) * _tie_share(a, b),
        kink=_tie,
    ),
    _elementwise(
        "clamp",
        lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
        # torch.clamp's convention: the gradient passes on the closed interval.
        lambda g, ans, x, lo, hi: g * ((x >= lo) & (x <= hi)),
        lambda g, ans, x, lo, hi: g * (x < lo),
        lambda g, ans, x, lo, hi: g * (x > hi),
        kink=_at_bound,
    ),
    _elementwise(
        "where",
        np.where,
        None,
        lambda g, ans, c, a, b: np.where(c, g, 0 * g),
        lambda g, ans, c, a, b: np.where(c, 0 * g, g),
        kink=_tie,  # applied to the condition's operands: its boundary is a == b
    ),
    # comparisons: only inside where(); no derivative
    *(
        Primitive(name, 2, "compare", fn, (None, None), kink=_tie)
        for name, fn in [
            ("lt", np.less),
            ("le", np.less_equal),
            ("gt", np.greater),
            ("ge", np.greater_equal),
            ("eq", np.equal),
            ("ne", np.not_equal),
        ]
    ),
    # reductions to a scalar
    Primitive("sum", 1, "reduction", np.sum, (lambda g, ans, x: np.broadcast_to(g, np.shape(x)),)),
    Primitive("mean", 1, "reduction", np.mean, (lambda g, ans, x: np.broadcast_to(g / np.size(x), np.shape(x)),)),
    Primitive("prod", 1, "reduction", np.prod, (_prod_vjp,)),
    Primitive("dot", 2, "reduction", np.dot, (lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a)),
    Primitive("norm", 1, "reduction", _norm, (lambda g, ans, x: g * x / ans,)),
    Primitive("logsumexp", 1, "reduction", _logsumexp, (lambda g, ans, x: g * np.exp(x - ans),)),
)

# The names a problem may call, with their arity; operators map to the rest.
FUNCTIONS: dict[str, int] = {
    name: p.arity
    for name, p in PRIMITIVES.items()
    if p.kind != "compare" and name not in ("add", "sub", "mul", "div", "pow", "neg", "matmul")
}

COMPARISONS = ("lt", "le", "gt", "ge", "eq", "ne")
