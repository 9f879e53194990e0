"""`sympy`: the exact symbolic derivative, evaluated in float64.

The derivative is the one the reference uses (diffcompare.exact.truth, built once per problem);
here it is compiled, after common-subexpression elimination, into float64
NumPy steps. No text is ever parsed by SymPy. Rows carry expr_ops, the
derivative's operation count as differentiated, and expr_ops_cse, after CSE.
Past SymPy's size or time limit (diffcompare.exact.symbolic) the rows are skipped.
"""

from __future__ import annotations

import time

import numpy as np
import sympy

from diffcompare.backends import BaseBackend, Gradient, SkipCell
from diffcompare.backends.timing import median_time
from diffcompare.exact.numeric import FLOAT64, Plan
from diffcompare.exact.symbolic import SymbolicLimit
from diffcompare.exact.truth import truth_of


class SympyBackend(BaseBackend):
    name = "sympy"
    library = "sympy"
    description = "exact symbolic derivative (SymPy), evaluated in float64"
    supported_dtypes = ("float64",)

    def gradient(self, problem, dtype):
        try:
            form = truth_of(problem).symbolic
        except SymbolicLimit as exc:
            raise SkipCell(f"SymPy is not given this problem: {exc}") from None
        start = time.perf_counter()
        plan = Plan(form.gradient_cse, form.inputs, FLOAT64)
        inputs = [np.float64(v) for var in problem.point for v in problem.point[var].ravel()]
        flat = plan(inputs)
        setup_s = form.build_s + time.perf_counter() - start  # differentiate, eliminate, compile, first call
        values, offset = {}, 0
        for var in problem.wrt:
            shape = form.derivatives[var].shape
            size = int(np.prod(shape))
            values[var] = np.array(flat[offset : offset + size], dtype=np.float64).reshape(shape)
            offset += size
        function = Plan(sympy.cse([form.function]), form.inputs, FLOAT64)
        return Gradient(
            values,
            median_time(lambda: plan(inputs)),
            setup_s=setup_s,
            f_time_s=median_time(lambda: function(inputs)),
            extras={"expr_ops": form.expr_ops, "expr_ops_cse": form.expr_ops_cse},
        )
