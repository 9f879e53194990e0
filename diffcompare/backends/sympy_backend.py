"""`sympy`: the exact symbolic derivative, evaluated in float64.

The derivative is the one the reference uses (Problem.symbolic, built once);
here it is compiled, after common-subexpression elimination, into float64
NumPy steps. No text is ever parsed by SymPy.
"""

from __future__ import annotations

import numpy as np

from diffcompare.backends import BaseBackend, Gradient
from diffcompare.numeric import FLOAT64, Plan
from diffcompare.timing import median_time


class SympyBackend(BaseBackend):
    name = "sympy"
    description = "exact symbolic derivative (SymPy), evaluated in float64"
    supported_dtypes = ("float64",)

    def gradient(self, problem, dtype):
        form = problem.symbolic
        plan = Plan(form.cse, form.inputs, FLOAT64)
        inputs = [np.float64(v) for var in problem.point for v in problem.point[var].ravel()]
        flat = plan(inputs)[1:]  # output 0 is f itself
        values, start = {}, 0
        for var in problem.wrt:
            shape = form.derivatives[var].shape
            size = int(np.prod(shape))
            values[var] = np.array(flat[start : start + size], dtype=np.float64).reshape(shape)
            start += size
        return Gradient(values, median_time(lambda: plan(inputs)))
