"""The rules the declarations share: forward rules NumPy lacks as one function, local
derivative helpers, hazards, kink predicates and complex-safe forward rules."""

from __future__ import annotations

import math

import numpy as np

# --- forward rules that NumPy lacks as one native function -------------------


def _sigmoid(x):
    # exp(-|x|) never overflows; both branches are exact rewrites of 1/(1+e^-x).
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _erf(x):
    x = np.asarray(x)
    return np.asarray(np.vectorize(math.erf, otypes=[np.float64])(x), dtype=x.dtype)


def _logsumexp(x, axis=None):
    if axis is None:
        m = np.max(x)
        if not np.isfinite(m):
            return np.log(np.sum(np.exp(x)))
        return m + np.log(np.sum(np.exp(x - m)))
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def _norm(x, axis=None):
    if axis is None:
        return np.linalg.norm(np.ravel(x))
    return np.sqrt(np.sum(x * x, axis=axis))


def _kept(value, axis):
    """A reduction's result (or its adjoint) with the reduced axes put back as length 1, so
    that it broadcasts against the operand: keepdims after the fact. axis None: a scalar."""
    return value if axis is None else np.expand_dims(value, axis)


def _fibers(x, axis):
    """x with the reduced axes moved last and merged: (kept shape..., n); and a function
    taking an array of that layout back to x's shape."""
    x = np.asarray(x)
    axis = tuple(range(x.ndim)) if axis is None else axis
    last = tuple(range(x.ndim - len(axis), x.ndim))
    moved = np.moveaxis(x, axis, last)
    lead = moved.shape[: x.ndim - len(axis)]

    def back(rows):
        return np.moveaxis(np.reshape(rows, moved.shape), last, axis)

    return moved.reshape(lead + (-1,)), back


def _extreme_vjp(g, ans, x, axis=None):
    """max(x)/min(x) of one array: the adjoint split evenly among the elements tied at the
    extreme, as torch.amax/amin (and torch.max(x) without dim) and jnp.max/min do (measured;
    torch.max(x, dim) instead gives it all to one index)."""
    hit = np.asarray(x == _kept(ans, axis))
    count = np.sum(hit, axis=axis, keepdims=axis is not None)
    return _kept(g, axis) * hit / count


def _extreme_kink(largest: bool):
    """max(x) (largest) or min(x) of one array: the elements tied at their fiber's extreme,
    where two or more are; on floats or exact mpmath numbers (object arrays)."""

    def kink(x, axis=None):
        x = np.asarray(x)
        if x.dtype == object:
            rows, back = _fibers(x, axis)
            out = np.zeros(rows.shape, dtype=bool)
            for index in np.ndindex(rows.shape[:-1]):
                row = list(rows[index])
                top = max(row) if largest else min(row)
                hits = [v == top for v in row]
                if sum(hits) > 1:
                    out[index] = hits
            return back(out)
        top = (np.max if largest else np.min)(x, axis=axis, keepdims=True)
        hit = x == top
        return hit & (np.sum(hit, axis=axis, keepdims=True) > 1)

    return kink


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


def _prod_vjp(g, ans, x, axis=None):
    # The product of all the other elements of each fiber, without dividing by x (which may be 0).
    rows, back = _fibers(x, axis)
    ones = np.ones(rows.shape[:-1] + (1,), dtype=rows.dtype)
    left = np.concatenate([ones, np.cumprod(rows[..., :-1], axis=-1)], axis=-1)
    right = np.concatenate([np.cumprod(rows[..., ::-1][..., :-1], axis=-1)[..., ::-1], ones], axis=-1)
    return _kept(g, axis) * back(left * right)


def _tie_share(x, y):
    """Share of the adjoint that min/max pass to x: 1 where x wins, ½ at a tie
    (torch.minimum/maximum and jnp split ties evenly)."""
    return np.where(x == y, 0.5, 1.0).astype(np.result_type(x, y))


# --- hazards: (amplification of relative error, why) or None -------------------


def _cancellation_hazard(ans, a, b):
    """a ± b: relative errors δ in the operands are (|a| + |b|)/|a ± b|·δ in the result;
    a ± b of exact operands is correctly rounded, whatever it cancels (hazard_of="operands")."""
    scale = np.abs(a) + np.abs(b)
    with np.errstate(all="ignore"):
        amp = np.where(ans != 0, scale / np.abs(ans), np.where(scale != 0, np.inf, 1.0))
    worst = float(np.max(amp)) if np.size(amp) else 1.0
    if np.isinf(worst):  # the operands are equal: nothing of them is left
        return worst, "a ± b cancels to exactly 0"
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


def _argument_hazard(ans, x):
    """sin and cos: a rounding of x (relative ε) moves sin(x) by ε·|x·cos x| and the local
    derivative cos(x) by ε·|x·sin x|: relative ε·|x|/min(|sin x|, |cos x|) at most, past 1
    where the argument is past 1/ε (sin(1e16): the argument's last bit is worth more than
    the result) and large near a root of either. Only a rounding the argument carries is
    amplified (hazard_of="operands"): sin and cos of an exact argument are correctly
    rounded however large this is (cos(π) in float64, π being the point itself)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        low = np.minimum(np.abs(np.sin(x)), np.abs(np.cos(x)))
        amp = np.where(low > 0, np.abs(x) / low, np.where(x != 0, np.inf, 1.0))
    worst = float(np.max(amp)) if np.size(amp) else 1.0
    if not worst > 10:
        return None
    at = float(np.max(np.abs(x)))
    return (
        worst,
        f"at an argument of {at:.3g}, one rounding of the argument moves the result and its derivative {worst:.2g}× as much",
    )


def _overflow_hazard(ans, x):
    if not np.all(np.isfinite(ans)):
        return math.inf, "exp overflows in this dtype"
    return None


def _at_zero(x):
    return np.asarray(x) == 0


def _tie(a, b):
    return np.asarray(a) == np.asarray(b)


def _at_bound(x, lo, hi):
    return (np.asarray(x) == lo) | (np.asarray(x) == hi)


# --- complex-safe forward rules, for complex steps ---------------------------------


def _complex_sigmoid(z):
    # The branch whose exponential cannot overflow, chosen by the real part.
    return np.where(np.real(z) >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


def _complex_softplus(z):
    return np.where(np.real(z) > 0, z + np.log1p(np.exp(-z)), np.log1p(np.exp(z)))


def _complex_erf(z):
    # NumPy has no complex erf: the first-order extension erf(a + ib) = erf(a) + ib·erf'(a),
    # exact to rounding while |b| is of the order of the complex step.
    z = np.asarray(z)
    a, b = np.real(z), np.imag(z)
    real = np.vectorize(math.erf, otypes=[np.float64])(a)
    return (real + 1j * b * (2 / math.sqrt(math.pi)) * np.exp(-a * a)).astype(z.dtype)


def _complex_logsumexp(z, axis=None):
    m = np.max(np.real(z), axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out.reshape(()) if axis is None else np.squeeze(out, axis=axis)


def _logsumexp_rows(x):
    m = np.max(np.real(x), axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return m[:, 0] + np.log(np.sum(np.exp(x - m), axis=1))
