"""The reductions: sum, mean, prod, norm, logsumexp, max and min of one array (amax, amin)
to a scalar, or along axes (axis=, Primitive.axis), and dot of two vectors.

A reduction's rules take axis=None (every element) or a tuple of distinct non-negative axes
(core.normalize_axes): its result has those axes removed (no keepdims), and a VJP rule is
given the adjoint in that shape and puts the axes back (rules._kept) to broadcast it."""

from __future__ import annotations

import numpy as np

from diffcompare.lang.primitives.core import reduction
from diffcompare.lang.primitives.rules import (
    _complex_logsumexp,
    _extreme_kink,
    _extreme_vjp,
    _kept,
    _logsumexp,
    _logsumexp_rows,
    _norm,
    _prod_vjp,
)


def _count(x, axis) -> int:
    shape = np.shape(x)
    return int(np.prod([shape[a] for a in axis])) if axis is not None else int(np.size(x))


def _along(torch_name: str, full=None):
    """torch's function of a reduction: torch.<name>(x) over every element (or `full`),
    torch.<name>(x, dim=axes) along axes."""

    def factory(torch):
        fn = getattr(torch, torch_name) if "." not in torch_name else torch.linalg.vector_norm

        def reduce(x, axis=None):
            if axis is None:
                return full(torch)(x) if full is not None else fn(x)
            return fn(x, dim=axis)

        return reduce

    return factory


def _torch_prod(torch):
    # torch.prod takes one dim at a time: along several, one after the other (last first).
    def prod(x, axis=None):
        if axis is None:
            return torch.prod(x)
        for a in sorted(axis, reverse=True):
            x = torch.prod(x, dim=a)
        return x

    return prod


def _extreme(name: str, largest: bool):
    """max(x) (amax) or min(x) (amin) of one array, to a scalar or along axes."""
    word = "max" if largest else "min"
    return reduction(
        name,
        _extreme_vjp,
        forward=lambda x, axis=None: (np.max if largest else np.min)(x, axis=axis),
        kink=_extreme_kink(largest=largest),
        kink_words=f"a tie of its {'largest' if largest else 'smallest'} elements",
        axis=True,
        torch=_along(name),
        jax=word,
        sympy=lambda sympy: lambda items: (sympy.Max if largest else sympy.Min)(*items),
        mpmath=None,
        latex=rf"\{word}",
    )


# In SymPy each is a function of the list of one fiber's elements (exact.symbolic applies it
# fiber by fiber along axes).
REDUCTIONS = (
    reduction(
        "sum",
        lambda g, ans, x, axis=None: np.broadcast_to(_kept(g, axis), np.shape(x)),
        rows=lambda x: x.sum(axis=1),
        partial_sums=True,
        axis=True,
        torch=_along("sum"),
        sympy=lambda sympy: lambda items: sympy.Add(*items),
        latex=r"\sum",
    ),
    reduction(
        "mean",
        lambda g, ans, x, axis=None: np.broadcast_to(_kept(g, axis) / _count(x, axis), np.shape(x)),
        rows=lambda x: x.mean(axis=1),
        partial_sums=True,
        axis=True,
        torch=_along("mean"),
        sympy=lambda sympy: lambda items: sympy.Add(*items) / len(items),
    ),
    reduction(
        "prod",
        _prod_vjp,
        rows=lambda x: x.prod(axis=1),
        axis=True,
        torch=_torch_prod,
        sympy=lambda sympy: lambda items: sympy.Mul(*items),
    ),
    reduction(
        "dot",
        lambda g, ans, a, b: g * b,
        lambda g, ans, a, b: g * a,
        rows=lambda a, b: np.sum(a * b, axis=-1),
        partial_sums=True,
        sympy=lambda sympy: lambda a, b: sympy.Add(*[u * v for u, v in zip(a, b)]),
    ),
    reduction(
        "norm",
        lambda g, ans, x, axis=None: _kept(g, axis) * x / _kept(ans, axis),
        forward=_norm,
        complex_forward=lambda z, axis=None: np.sqrt(np.sum(z * z, axis=axis)),
        rows=lambda x: np.sqrt(np.sum(x * x, axis=1)),
        axis=True,
        numpy=lambda np: _norm,
        torch=_along("linalg.vector_norm"),
        jax=lambda jnp: lambda x, axis=None: jnp.linalg.vector_norm(x if axis is not None else x.ravel(), axis=axis),
        sympy=lambda sympy: lambda items: sympy.sqrt(sympy.Add(*[v**2 for v in items])),
    ),
    reduction(
        "logsumexp",
        lambda g, ans, x, axis=None: _kept(g, axis) * np.exp(x - _kept(ans, axis)),
        forward=_logsumexp,
        complex_forward=_complex_logsumexp,
        rows=_logsumexp_rows,
        axis=True,
        numpy=None,
        torch=_along("logsumexp", full=lambda torch: lambda x: torch.logsumexp(x.reshape(-1), 0)),
        jax="jax.scipy.special.logsumexp",
        sympy=lambda sympy: lambda items: sympy.log(sympy.Add(*[sympy.exp(v) for v in items])),
    ),
    # max(x) and min(x) of one array (the parser's names for them; max(a, b) is elementwise).
    # Ties split the adjoint evenly, as torch.amax and jnp.max do; a tie is a kink of f.
    _extreme("amax", largest=True),
    _extreme("amin", largest=False),
)
