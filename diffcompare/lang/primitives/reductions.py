"""The reductions to a scalar: sum, mean, prod, dot, norm, logsumexp."""

from __future__ import annotations

import numpy as np

from diffcompare.lang.primitives.core import reduction
from diffcompare.lang.primitives.rules import _complex_logsumexp, _logsumexp, _logsumexp_rows, _norm, _prod_vjp

# Reductions to a scalar; in SymPy each is a function of the list of elements.
REDUCTIONS = (
    reduction(
        "sum",
        lambda g, ans, x: np.broadcast_to(g, np.shape(x)),
        rows=lambda x: x.sum(axis=1),
        sympy=lambda sympy: lambda items: sympy.Add(*items),
        latex=r"\sum",
    ),
    reduction(
        "mean",
        lambda g, ans, x: np.broadcast_to(g / np.size(x), np.shape(x)),
        rows=lambda x: x.mean(axis=1),
        sympy=lambda sympy: lambda items: sympy.Add(*items) / len(items),
    ),
    reduction(
        "prod",
        _prod_vjp,
        rows=lambda x: x.prod(axis=1),
        sympy=lambda sympy: lambda items: sympy.Mul(*items),
    ),
    reduction(
        "dot",
        lambda g, ans, a, b: g * b,
        lambda g, ans, a, b: g * a,
        rows=lambda a, b: np.sum(a * b, axis=-1),
        sympy=lambda sympy: lambda a, b: sympy.Add(*[u * v for u, v in zip(a, b)]),
    ),
    reduction(
        "norm",
        lambda g, ans, x: g * x / ans,
        forward=_norm,
        complex_forward=lambda z: np.sqrt(np.sum(z * z)),
        rows=lambda x: np.sqrt(np.sum(x * x, axis=1)),
        numpy=lambda np: lambda x: np.linalg.norm(np.ravel(x)),
        torch="torch.linalg.vector_norm",
        sympy=lambda sympy: lambda items: sympy.sqrt(sympy.Add(*[v**2 for v in items])),
    ),
    reduction(
        "logsumexp",
        lambda g, ans, x: g * np.exp(x - ans),
        forward=_logsumexp,
        complex_forward=_complex_logsumexp,
        rows=_logsumexp_rows,
        numpy=None,
        torch=lambda torch: lambda x: torch.logsumexp(x.reshape(-1), 0),
        jax="jax.scipy.special.logsumexp",
        sympy=lambda sympy: lambda items: sympy.log(sympy.Add(*[sympy.exp(v) for v in items])),
    ),
)
