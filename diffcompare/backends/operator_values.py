"""The AD backends' operator outputs arranged as the rows' results (spec.operators.results).

torch.func and JAX return an operator's values in the same nesting: one array for a JVP, a
tuple over the wrt variables for a Jacobian, VJP, HVP or gradient, a tuple of tuples (the
block in a, then b) for a Hessian or second derivative. One function reads that nesting,
so that both backends name and copy their results alike.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from diffcompare.spec.operators import results

# The operators whose values come as a tuple of tuples: ∂/∂b of ∂f/∂a.
SECOND_ORDER_BLOCKS = ("hessian", "second_derivative")


def arrange(problem, raw, to_numpy: Callable[[object], np.ndarray]) -> dict[str, np.ndarray]:
    """{result name: float64 copy} from the library's nested output (its shape as the library
    gave it: the runner checks it against the result's, so that a misplaced axis is an error)."""
    index = {v: i for i, v in enumerate(problem.wrt)}
    values = {}
    for name, result in results(problem).items():
        if problem.operator == "jvp":
            value = raw
        elif problem.operator in SECOND_ORDER_BLOCKS:
            a, b = (result.over * 2)[:2]  # second_derivative: the one block in x alone
            value = raw[index[a]][index[b]]
        else:
            value = raw[index[result.over[0]]]
        values[name] = np.array(to_numpy(value), dtype=np.float64)
    return values
