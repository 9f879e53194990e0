"""`central`: the textbook central difference, with its own error bound.

For each element, h = ε^(1/3)·max(1, |xᵢ|) in the row's dtype, the rule that
balances truncation (∝ h²) against rounding (∝ ε/h). The step actually taken is
(xᵢ+h) - (xᵢ-h) as represented in the dtype, so the division uses the true
distance between the two points.

The bound that judges the row is the method's own error estimate, reported in
the `tolerance` column:
- rounding: 2·δf / (x₊ - x₋), where δf is the rounding error of one evaluation
  of f, estimated by the chain-rule engine as ε·Σ|v·v̄| over its operations
  (at least ε·|f|). Plain ε·|f| would be too optimistic where f itself cancels,
  as log(1 - p) does at p ≈ 1;
- truncation: estimated from a second difference with step 2h, |D(2h) - D(h)|
  (three times the Richardson estimate of the h² term, a deliberate margin).
"""

from __future__ import annotations

import numpy as np

from diffcompare.backends import BaseBackend, Gradient
from diffcompare.differences import OneElement, central
from diffcompare.engine import ChainRule, point_in
from diffcompare.timing import median_time


class CentralBackend(BaseBackend):
    name = "central"
    method = "finite-difference"
    description = "central differences in NumPy, h = ε^(1/3)·max(1, |x|)"

    def gradient(self, problem, dtype):
        engine = ChainRule(problem.function, dtype)
        inputs = point_in(problem.point, dtype)
        f = OneElement(engine.program, inputs)
        noise = engine.rounding_estimate(inputs)
        eps = float(np.finfo(dtype).eps)
        scalar = np.dtype(dtype).type

        def gradient_only():
            return {
                var: [
                    central(f, var, index, step(inputs[var][index], eps, scalar), scalar)[0]
                    for index in np.ndindex(inputs[var].shape)
                ]
                for var in problem.wrt
            }

        values, bounds = {}, {}
        for var in problem.wrt:
            shape = inputs[var].shape
            values[var], bounds[var] = np.empty(shape), np.empty(shape)
            for index in np.ndindex(shape):
                h = step(inputs[var][index], eps, scalar)
                d1, taken = central(f, var, index, h, scalar)
                d2, _ = central(f, var, index, scalar(2 * h), scalar)
                with np.errstate(all="ignore"):
                    values[var][index] = d1
                    bounds[var][index] = 2 * noise / taken + abs(d2 - d1)
        return Gradient(values, median_time(gradient_only), bounds=bounds)


def step(x, eps: float, scalar):
    """The textbook step ε^(1/3)·max(1, |x|), in the row's dtype."""
    return scalar(eps ** (1 / 3) * max(1.0, abs(float(x))))
