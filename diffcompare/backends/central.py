"""`central`: the textbook central difference, with its own error bound.

For each element, h = ε^(1/3)·max(1, |xᵢ|) in the row's dtype, the rule that
balances truncation (∝ h²) against rounding (∝ ε/h). The step actually taken is
(xᵢ+h) - (xᵢ-h) as represented in the dtype, so the division uses the true
distance between the two points. The 2n points of a variable are evaluated in
vectorised batches (diffcompare.engine.batched), up to a size cap (backends.finite).

The bound that judges the row is the method's own error estimate, reported in
the `tolerance` column:
- rounding: (δf(x₊) + δf(x₋)) / (x₊ - x₋), where δf is the rounding error of one
  evaluation of f, estimated as the chain-rule engine does, ε·Σ|v·v̄| over its
  operations (at least ε·|f|), with the values v of the points actually evaluated
  and never less than at x itself (FiniteDifferences.central_with_rounding). Plain
  ε·|f| would be too optimistic where f itself cancels, as log(1 - p) does at
  p ≈ 1; the point's values alone can be exactly 0, as x / y is at x = 0, where
  f(x ± h) still carry rounding;
- truncation: estimated from a second difference with step 2h, |D(2h) - D(h)|
  (three times the Richardson estimate of the h² term, a deliberate margin).

Every operator past the gradient (backends.finite_operators) is judged the same way: its
rounding at the step h, plus |D(2h) - D(h)|, entry by entry. First differences (jacobian,
jvp, vjp) take h = ε^(1/3)·max(1, |x|); second ones (hessian, hvp, second_derivative)
h = ε^(1/4)·max(1, |x|), where truncation ∝ h² meets rounding ∝ ε/h².
"""

from __future__ import annotations

import numpy as np

from diffcompare.backends import BaseBackend, Gradient, Method
from diffcompare.backends.finite import FiniteDifferences, textbook_step
from diffcompare.backends.finite_operators import OperatorDifferences
from diffcompare.backends.timing import median_time
from diffcompare.spec.operators import OPERATORS

MODE = "finite-difference"


class CentralBackend(BaseBackend):
    name = "central"
    library = "numpy"
    method = Method.FINITE_DIFFERENCE
    description = "central differences in NumPy, h = ε^(1/3)·max(1, |x|), all points of a variable at once"

    def modes(self, problem):
        return (MODE,)

    def compute(self, problem, dtype, mode):
        if problem.operator == "gradient":
            return self.gradient(problem, dtype)
        fd = FiniteDifferences(problem, dtype, "central differences")
        differences = OperatorDifferences(fd)
        factor = fd.eps ** (1 / 3 if OPERATORS[problem.operator].order == 1 else 1 / 4)
        first, second = differences.at(factor, rounding=True), differences.at(2 * factor, rounding=False)
        values, bounds = {}, {}
        with np.errstate(all="ignore"):
            for name, (value, rounding) in first.items():
                values[name], bounds[name] = value, rounding + np.abs(second[name][0] - value)
        setup_s = fd.setup_s()
        time_s = median_time(lambda: differences.at(factor, rounding=False))
        return Gradient(values, time_s, bounds=bounds, setup_s=setup_s, f_time_s=fd.f_time_s())

    def gradient(self, problem, dtype):
        fd = FiniteDifferences(problem, dtype, "central differences")
        steps = {var: textbook_step(fd.inputs[var].ravel(), dtype) for var in problem.wrt}
        values, bounds = {}, {}
        for var in problem.wrt:
            shape = fd.inputs[var].shape
            d1, _, rounding = fd.central_with_rounding(var, steps[var])
            d2, _ = fd.central(var, (2 * steps[var]).astype(dtype))
            with np.errstate(all="ignore"):
                values[var] = d1.reshape(shape)
                bounds[var] = (rounding + np.abs(d2 - d1)).reshape(shape)
        setup_s = fd.setup_s()
        time_s = median_time(lambda: [fd.central(var, steps[var]) for var in problem.wrt])
        return Gradient(values, time_s, bounds=bounds, setup_s=setup_s, f_time_s=fd.f_time_s())
