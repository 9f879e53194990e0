"""The IR on complex numbers, for complex-step differentiation (backends/complex_step.py,
tools/sweep.py).

Every primitive runs on NumPy's complex ufuncs through its forward rule, or through its
declared complex-safe one (Primitive.complex_forward) where the real rule is not
complex-safe (sigmoid, softplus, erf, norm, logsumexp). Only analytic primitives can
take a complex step (Primitive.analytic): abs, relu, min, max, clamp, where and the
comparisons cannot.
"""

from __future__ import annotations

import numpy as np

from diffcompare.lang.ir import topo_order
from diffcompare.lang.primitives import PRIMITIVES

# h = 1e-200 in complex128 for float64 rows; in complex64, 1e-200 would underflow to 0,
# so h = 2⁻⁶⁶ ≈ 1.4e-20 for float32 rows (h² is still far below float32's ε).
STEP = {"float64": 1e-200, "float32": 2.0**-66}
COMPLEX = {"float64": np.complex128, "float32": np.complex64}

COMPLEX_OPS = {name: p.complex_safe for name, p in PRIMITIVES.items()}


def non_analytic_step(problem):
    """The first step complex arithmetic cannot take (abs, relu, min, max, clamp, where,
    a comparison), or None where the function is analytic."""
    for node in topo_order(problem.function):
        primitive = PRIMITIVES.get(node.op)
        if primitive is not None and not node.is_constant and not primitive.analytic:
            return node
    return None
