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
- rounding: (δf(x₊) + δf(x₋))/(x₊ - x₋)·Aⱼ, with δf the rounding error of one
  evaluation of f (the chain-rule engine's ε·Σ|v·v̄|, with the values of the points
  actually evaluated at that step and never less than at x itself: at x alone it
  is exactly 0 for x / y at x = 0; FiniteDifferences.central_with_rounding) and
  Aⱼ = Π (4ⁱ + 1)/(4ⁱ - 1) how much the extrapolation can amplify independent
  errors in its inputs. The rounding at each step is found once, outside the
  timed calls, which take the same steps.
The estimate is reported in `error_estimate` and is the bound the row is judged by.

Every operator past the gradient (backends.finite_operators) runs the same ladder, with all
its steps h₀·2⁻ᵏ: each difference it takes (first differences of f or of <u, f>, the second
differences of a Hessian, the nested ones of an HVP) is even in h, so the same tableau
removes its h², h⁴ … terms, entry by entry, with that entry's own rounding at each step.
"""

from __future__ import annotations

import numpy as np

from diffcompare.backends import BaseBackend, Gradient, Method
from diffcompare.backends.finite import FiniteDifferences
from diffcompare.backends.finite_operators import OperatorDifferences
from diffcompare.backends.timing import median_time

LEVELS = 16
MAX_ORDER = 4
FIRST_STEP = 2.0**-3


def ladder(fd: FiniteDifferences, var: str) -> list[np.ndarray]:
    """The steps h₀·2⁻ᵏ of every element of var, in the row's dtype."""
    h0 = FIRST_STEP * np.maximum(1.0, np.abs(fd.inputs[var].ravel().astype(np.float64)))
    return [(h0 * 2.0**-k).astype(fd.dtype) for k in range(LEVELS)]


def extrapolate(differences: list[np.ndarray], roundings: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(best value, its error estimate) for every element, the tableau built on whole
    arrays from the central difference at each step of the ladder and the rounding
    error each carries (FiniteDifferences.central_with_rounding)."""
    shape = differences[0].shape
    table: list[list[np.ndarray]] = []
    best, best_error = np.full(shape, np.nan), np.full(shape, np.inf)
    fallback, fallback_error = np.full(shape, np.nan), np.full(shape, np.inf)
    with np.errstate(all="ignore"):
        for k, (d, level_rounding) in enumerate(zip(differences, roundings)):
            row = [d]
            for j in range(1, min(k, MAX_ORDER) + 1):
                row.append(row[j - 1] + (row[j - 1] - table[k - 1][j - 1]) / (4**j - 1))
            table.append(row)
            amplification = 1.0
            for j, value in enumerate(row[: k - 1]):  # entries with two same-order predecessors
                if j:
                    amplification *= (4**j + 1) / (4**j - 1)
                change = np.abs(value - table[k - 1][j])
                rounding = level_rounding * amplification
                truncation = np.maximum(change, np.abs(value - row[j - 1])) if j else change
                estimate = truncation + rounding
                # Converging: no larger a change than the one before, up to rounding noise.
                converging = change <= np.abs(table[k - 1][j] - table[k - 2][j]) + 2 * rounding
                better = converging & (estimate < best_error)  # NaN estimates (a step left the domain) never win
                best, best_error = np.where(better, value, best), np.where(better, estimate, best_error)
                other = ~converging & (estimate < fallback_error)
                fallback = np.where(other, value, fallback)
                fallback_error = np.where(other, estimate, fallback_error)
    found = np.isfinite(best_error)
    return np.where(found, best, fallback), np.where(found, best_error, fallback_error)


class RichardsonBackend(BaseBackend):
    name = "richardson"
    library = "numpy"
    method = Method.FINITE_DIFFERENCE
    description = "central differences with Richardson extrapolation over 16 steps halving from max(1,|x|)/8"

    def modes(self, problem):
        return ("finite-difference",)

    def compute(self, problem, dtype, mode):
        if problem.operator == "gradient":
            return self.gradient(problem, dtype)
        fd = FiniteDifferences(problem, dtype, "Richardson differences")
        differences = OperatorDifferences(fd)
        factors = [FIRST_STEP * 2.0**-k for k in range(LEVELS)]
        levels = [differences.at(factor, rounding=True) for factor in factors]
        roundings = {name: [level[name][1] for level in levels] for name in levels[0]}
        values, estimates = {}, {}
        for name in levels[0]:
            values[name], estimates[name] = extrapolate([level[name][0] for level in levels], roundings[name])
        setup_s = fd.setup_s()

        def run():
            found = [differences.at(factor, rounding=False) for factor in factors]
            return {name: extrapolate([level[name][0] for level in found], roundings[name]) for name in roundings}

        return Gradient(values, median_time(run), bounds=estimates, setup_s=setup_s, f_time_s=fd.f_time_s())

    def gradient(self, problem, dtype):
        fd = FiniteDifferences(problem, dtype, "Richardson differences")
        steps = {var: ladder(fd, var) for var in problem.wrt}
        values, estimates, roundings = {}, {}, {}
        for var in problem.wrt:
            first = [fd.central_with_rounding(var, h) for h in steps[var]]
            roundings[var] = [rounding for _, _, rounding in first]
            value, estimate = extrapolate([d for d, _, _ in first], roundings[var])
            shape = fd.inputs[var].shape
            values[var], estimates[var] = value.reshape(shape), estimate.reshape(shape)
        setup_s = fd.setup_s()

        def run():
            return {
                var: extrapolate([fd.central(var, h)[0] for h in steps[var]], roundings[var]) for var in problem.wrt
            }

        return Gradient(values, median_time(run), bounds=estimates, setup_s=setup_s, f_time_s=fd.f_time_s())
