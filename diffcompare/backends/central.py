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
from diffcompare.engine import ChainRule, point_in
from diffcompare.timing import median_time


class CentralBackend(BaseBackend):
    name = "central"
    method = "finite-difference"
    description = "central differences in NumPy, h = ε^(1/3)·max(1, |x|)"

    def gradient(self, problem, dtype):
        engine = ChainRule(problem.function, dtype)
        program = engine.program
        inputs = point_in(problem.point, dtype)
        noise = engine.rounding_estimate(inputs)
        eps = np.finfo(dtype).eps
        scalar = np.dtype(dtype).type

        def f(var, index, x):
            env = dict(inputs)
            env[var] = inputs[var].copy()
            env[var][index] = x
            with np.errstate(all="ignore"):
                return program(env)

        def difference(var, index, h):
            x = inputs[var][index]
            up, down = scalar(x + h), scalar(x - h)
            f_up, f_down = f(var, index, up), f(var, index, down)
            with np.errstate(all="ignore"):
                return (f_up - f_down) / (up - down), up - down

        def gradient_only():
            out = {}
            for var in problem.wrt:
                grad = np.empty(inputs[var].shape, dtype=dtype)
                for index in np.ndindex(grad.shape):
                    grad[index] = difference(var, index, _step(inputs[var][index], eps, scalar))[0]
                out[var] = grad
            return out

        values, bounds = {}, {}
        for var in problem.wrt:
            shape = inputs[var].shape
            values[var], bounds[var] = np.empty(shape), np.empty(shape)
            for index in np.ndindex(shape):
                h = _step(inputs[var][index], eps, scalar)
                d1, step = difference(var, index, h)
                d2, _ = difference(var, index, scalar(2 * h))
                with np.errstate(all="ignore"):
                    rounding = 2 * noise / float(step)
                    truncation = abs(float(d2) - float(d1))
                values[var][index] = float(d1)
                bounds[var][index] = rounding + truncation
        return Gradient(values, median_time(gradient_only), bounds=bounds)


def _step(x, eps, scalar):
    return scalar(eps ** (1 / 3) * max(1.0, abs(float(x))))
