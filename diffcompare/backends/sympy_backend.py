"""`sympy`: the exact symbolic derivative, evaluated in float64.

The derivative is the one the reference uses (Problem.symbolic, built once);
here it is compiled after common-subexpression elimination into float64 NumPy
steps. No text is ever parsed by SymPy.
"""

from __future__ import annotations

import numpy as np

from diffcompare.backends import BaseBackend, Gradient
from diffcompare.symbolic import Float64Plan
from diffcompare.timing import median_time


class SympyBackend(BaseBackend):
    name = "sympy"
    description = "exact symbolic derivative (SymPy), evaluated in float64"
    supported_dtypes = ("float64",)

    def gradient(self, problem, dtype):
        form = problem.symbolic
        symbols = [s for var in problem.point for s in form.symbols[var].ravel()]
        inputs = [float(v) for var in problem.point for v in problem.point[var].ravel()]
        exprs = [e for var in problem.wrt for e in form.derivatives[var].ravel()]
        plan = Float64Plan(exprs, symbols)
        flat = plan(inputs)
        values, start = {}, 0
        for var in problem.wrt:
            shape = form.derivatives[var].shape
            size = int(np.prod(shape))
            values[var] = np.array(flat[start : start + size], dtype=np.float64).reshape(shape)
            start += size
        return Gradient(values, median_time(lambda: plan(inputs)))
