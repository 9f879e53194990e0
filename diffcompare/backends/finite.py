"""What the finite-difference backends share: the size cap, the point in the
row's dtype, f's rounding estimate, and f at all perturbed points at once."""

from __future__ import annotations

import time

import numpy as np

from diffcompare.backends import SkipCell
from diffcompare.backends.timing import median_time
from diffcompare.engine.batched import AllElements
from diffcompare.engine.chainrule import NUMPY_OPS, ChainRule, numpy_constant, point_in

MAX_SIZE = 5_000  # elements differentiated: differences cost n evaluations of f, so n² in all


class FiniteDifferences:
    def __init__(self, problem, dtype: str, what: str, forward: dict = NUMPY_OPS):
        if problem.size > MAX_SIZE:
            raise SkipCell(
                f"{what} need f at every perturbed point, {problem.size} elements here: past the cap of {MAX_SIZE}"
            )
        self.started = time.perf_counter()
        self.problem, self.dtype = problem, dtype
        self.engine = ChainRule(problem.function, dtype)
        self.inputs = point_in(problem.point, dtype)
        self.every = AllElements(problem.function, self.inputs, forward, numpy_constant(dtype))
        self.eps = float(np.finfo(dtype).eps)

    def noise(self) -> float:
        """The rounding error of one evaluation of f (ε·Σ|v·v̄| over the tape)."""
        return self.engine.rounding_estimate(self.inputs)

    def central(self, var: str, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(f(x+h) - f(x-h)) / (x₊ - x₋) for every element of var at once, and x₊ - x₋."""
        x = self.inputs[var].ravel()
        up, down = (x + h).astype(self.dtype), (x - h).astype(self.dtype)
        with np.errstate(all="ignore"):
            taken = (up - down).astype(np.float64)
            return (self.every.at(var, up) - self.every.at(var, down)) / taken, taken

    def setup_s(self) -> float:
        return time.perf_counter() - self.started

    def f_time_s(self) -> float:
        return median_time(lambda: self.engine.forward(self.inputs))


def textbook_step(x: np.ndarray, dtype: str) -> np.ndarray:
    """ε^(1/3)·max(1, |x|), in the row's dtype."""
    eps = float(np.finfo(dtype).eps)
    return (eps ** (1 / 3) * np.maximum(1.0, np.abs(x.astype(np.float64)))).astype(dtype)
