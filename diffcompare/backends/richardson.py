"""`richardson`: central differences extrapolated over a ladder of steps.

Steps hₖ = h₀·2⁻ᵏ, k = 0 … 15, with h₀ = 2⁻³·max(1, |xᵢ|). The central difference
D(h) = f' + c₁h² + c₂h⁴ + …, so the Richardson tableau
    T[k][0] = D(hₖ),  T[k][j] = T[k][j-1] + (T[k][j-1] - T[k-1][j-1]) / (4ʲ - 1)
removes one power of h² per column (up to j = 4). An entry is a candidate only
where its column is visibly converging: its change from the step before,
|T[k][j] - T[k-1][j]|, is no larger than the change before that. (At steps far
beyond the function's own scale D(h) drifts slowly towards a wrong value, and
small differences there mean nothing; logsumexp at x = 1000 with h = 125 is
such a case.) Each candidate gets an error estimate, and the smallest wins:
- truncation: the larger of that change and the entry's last correction
  |T[k][j] - T[k][j-1]|: each estimates the error of a coarser entry, and so,
  while the column converges, bounds this one's;
- rounding: δf/hₖ·Aⱼ, with δf the rounding error of one evaluation of f (the
  chain-rule engine's ε·Σ|v·v̄|) and Aⱼ = Π (4ⁱ + 1)/(4ⁱ - 1) how much the
  extrapolation can amplify independent errors in its inputs.
The estimate is reported in `error_estimate` and is the bound the row is judged by.
"""

from __future__ import annotations

import math

import numpy as np

from diffcompare.backends import BaseBackend, Gradient
from diffcompare.differences import OneElement, central
from diffcompare.engine import ChainRule, point_in
from diffcompare.timing import median_time

LEVELS = 16
MAX_ORDER = 4
FIRST_STEP = 2.0**-3


def extrapolate(f: OneElement, var: str, index: tuple, noise: float, scalar) -> tuple[float, float]:
    """(best value, its error estimate) for one element."""
    x = float(f.inputs[var][index])
    h0 = FIRST_STEP * max(1.0, abs(x))
    table: list[list[float]] = []
    best, best_error = math.nan, math.inf
    fallback, fallback_error = math.nan, math.inf
    for k in range(LEVELS):
        d, taken = central(f, var, index, scalar(h0 * 2.0**-k), scalar)
        row = [d]
        for j in range(1, min(k, MAX_ORDER) + 1):
            row.append(row[j - 1] + (row[j - 1] - table[k - 1][j - 1]) / (4**j - 1))
        table.append(row)
        amplification = 1.0
        for j, value in enumerate(row[: k - 1]):  # entries with two same-order predecessors
            if j:
                amplification *= (4**j + 1) / (4**j - 1)
            change = abs(value - table[k - 1][j])
            rounding = noise / (taken / 2) * amplification
            truncation = max(change, abs(value - row[j - 1])) if j else change
            estimate = truncation + rounding
            # Converging: no larger a change than the one before, up to rounding noise.
            if change <= abs(table[k - 1][j] - table[k - 2][j]) + 2 * rounding:
                if estimate < best_error:  # NaN estimates (a step left the domain) never win
                    best, best_error = value, estimate
            elif estimate < fallback_error:
                fallback, fallback_error = value, estimate
    return (best, best_error) if best_error < math.inf else (fallback, fallback_error)


class RichardsonBackend(BaseBackend):
    name = "richardson"
    method = "finite-difference"
    description = "central differences with Richardson extrapolation over 16 steps halving from max(1,|x|)/8"

    def gradient(self, problem, dtype):
        engine = ChainRule(problem.function, dtype)
        inputs = point_in(problem.point, dtype)
        f = OneElement(engine.program, inputs)
        noise = engine.rounding_estimate(inputs)
        scalar = np.dtype(dtype).type

        def run():
            values, estimates = {}, {}
            for var in problem.wrt:
                shape = inputs[var].shape
                values[var], estimates[var] = np.empty(shape), np.empty(shape)
                for index in np.ndindex(shape):
                    values[var][index], estimates[var][index] = extrapolate(f, var, index, noise, scalar)
            return values, estimates

        values, estimates = run()
        return Gradient(values, median_time(run), bounds=estimates)
