"""softmax(x, axis=-1) and log_softmax(x, axis=-1): shape-preserving normalisations along one
axis of a vector or matrix (not reductions: the result has the operand's shape).

Each is kind "array" (lang.primitives.arrays): its axis is a parameter in the node's `attr`
({"axis": a}, made non-negative by `infer`), passed to every rule as a keyword. On floats
and complex numbers the forward rule is the stable one every library runs: exp(x - m) / Σ
and (x - m) - log Σ exp(x - m), with m the fiber's largest (real part); on object arrays
(exact mpmath numbers, SymPy expressions) it is exp(x - lse) and x - lse, lse = log Σ exp(x)
along the axis, exactly. Both are analytic (complex step) and smooth everywhere: their
one-sided slope is the JVP (`jvp`), as neither is linear.
"""

from __future__ import annotations

import numpy as np

from diffcompare.lang.primitives.arrays import structural
from diffcompare.lang.primitives.core import normalize_axes


def _exact(name: str):
    """exp or log of each element of an object array: SymPy's on SymPy expressions, else
    mpmath's (imported here: the table imports no library but NumPy)."""
    import mpmath
    import sympy

    def one(v):
        return getattr(sympy, name)(v) if isinstance(v, sympy.Basic) else getattr(mpmath, name)(v)

    return np.vectorize(one, otypes=[object])


def _exp(x):
    x = np.asarray(x)
    return _exact("exp")(x) if x.dtype == object else np.exp(x)


def _shifted(x, axis: int):
    """(x - m, log Σ exp(x - m)) along axis, m the fiber's largest real part (0 where that
    is not finite, as torch and jax do), both with the axis kept."""
    m = np.max(np.real(x), axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, np.zeros_like(m))
    z = x - m
    return z, np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _lse(x, axis: int):
    """Exact log Σ exp(x) along axis, kept, on an object array."""
    return _exact("log")(np.sum(_exp(x), axis=axis, keepdims=True))


def _softmax(x, axis=-1):
    x = np.asarray(x)
    if x.dtype == object:
        return _exp(x - _lse(x, axis))
    z, _ = _shifted(x, axis)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    x = np.asarray(x)
    if x.dtype == object:
        return x - _lse(x, axis)
    z, log_total = _shifted(x, axis)
    return z - log_total


def _infer(name: str):
    def infer(shapes, axis=-1):
        shape = shapes[0]
        if len(shape) == 0:
            raise ValueError(f"{name} takes a vector or a matrix, not a scalar")
        (a,) = normalize_axes(axis, len(shape))
        return shape, {"axis": a}

    return infer


def _softmax_vjp(k, g, ans, x, axis):
    # s · (g − Σ g·s along the axis)
    return ans * (g - np.sum(g * ans, axis=axis, keepdims=True))


def _log_softmax_vjp(k, g, ans, x, axis):
    # g − softmax · Σ g along the axis (softmax = exp(log_softmax))
    return g - _exp(ans) * np.sum(g, axis=axis, keepdims=True)


def _softmax_jvp(t, ans, x, axis):
    return ans * (t - np.sum(ans * t, axis=axis, keepdims=True))


def _log_softmax_jvp(t, ans, x, axis):
    return t - np.sum(_exp(ans) * t, axis=axis, keepdims=True)


def _in_library(forward, log: bool):
    """The NumPy form for a library that follows NumPy's names (autograd.numpy: `like="numpy"`),
    written with that library's own functions so that it traces them; NumPy's is `forward`."""

    def make(np_):
        if np_ is np:
            return forward

        def normalized(x, axis=-1):
            m = np_.max(x, axis=axis, keepdims=True)
            z = x - np_.where(np_.isfinite(m), m, np_.zeros_like(m))
            log_total = np_.log(np_.sum(np_.exp(z), axis=axis, keepdims=True))
            return z - log_total if log else np_.exp(z - log_total)

        return normalized

    return make


def _normalizer(name: str, forward, vjp, jvp, torch_name: str):
    return structural(
        name,
        _infer(name),
        vjp,
        lambda args, flags, axis: forward(args[0], axis=axis + 1),  # the batch axis in front
        forward,
        linear=False,
        jvp=jvp,
        numpy=_in_library(forward, log=name == "log_softmax"),
        torch=lambda torch: lambda x, axis: getattr(torch, torch_name)(x, dim=axis),
        jax=f"jax.nn.{name}",
        mpmath=lambda mpmath: forward,
        sympy=lambda sympy: forward,
    )


SOFTMAX = _normalizer("softmax", _softmax, _softmax_vjp, _softmax_jvp, "softmax")
LOG_SOFTMAX = _normalizer("log_softmax", _log_softmax, _log_softmax_vjp, _log_softmax_jvp, "log_softmax")

NORMALIZERS = (SOFTMAX, LOG_SOFTMAX)
