"""What the finite-difference backends share: the size cap, the point in the
row's dtype, f's rounding estimate, and f at all perturbed points at once."""

from __future__ import annotations

import time

import numpy as np

from diffcompare.backends import SkipCell
from diffcompare.backends.timing import median_time
from diffcompare.engine.batched import AllElements, Points, Seeded
from diffcompare.engine.chainrule import NUMPY_OPS, ChainRule, numpy_constant, point_in
from diffcompare.lang.ir import axis_keyword
from diffcompare.lang.primitives import PRIMITIVES

MAX_SIZE = 5_000  # elements differentiated: differences cost n evaluations of f, so n² in all
# Each output's own rounding estimate (a Jacobian's rows) takes a reverse pass per output and
# weights of (outputs × step elements): past this many, the cell is skipped.
MAX_SEED_WEIGHTS = 4_000_000


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
        self.points = Points(problem.function, self.inputs, forward, numpy_constant(dtype))
        self.eps = float(np.finfo(dtype).eps)
        self._noise, self._adjoints = None, None
        self._seeded: dict[str, tuple[Seeded, np.ndarray]] = {}

    def noise(self) -> float:
        """The rounding error of one evaluation of f at the point (ε·Σ|v·v̄| over the tape)."""
        if self._noise is None:
            self._noise = self.engine.rounding_estimate(self.inputs)
        return self._noise

    def central(self, var: str, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(f(x+h) - f(x-h)) / (x₊ - x₋) for every element of var at once, and x₊ - x₋."""
        up, down, taken = self._points(var, h)
        with np.errstate(all="ignore"):
            return (self.every.at(var, up) - self.every.at(var, down)) / taken, taken

    def central_with_rounding(self, var: str, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """central(var, h), and the rounding error it can carry: (δf(x₊) + δf(x₋)) / (x₊ - x₋).

        δf is the rounding of f where it was actually evaluated (BatchedProgram.rounding_sums),
        never taken below the rounding at the point: at the point alone it can be exactly 0
        (x / y at x = 0) while f(x ± h) carry rounding of their own."""
        up, down, taken = self._points(var, h)
        weights = self._weights()
        f_up, sums_up = self.every.at_with_rounding(var, up, weights)
        f_down, sums_down = self.every.at_with_rounding(var, down, weights)
        noise = self.noise()
        with np.errstate(all="ignore"):
            rounding = (np.maximum(noise, self.eps * sums_up) + np.maximum(noise, self.eps * sums_down)) / taken
            return (f_up - f_down) / taken, taken, rounding

    def _points(self, var: str, h: np.ndarray):
        x = self.inputs[var].ravel()
        up, down = (x + h).astype(self.dtype), (x - h).astype(self.dtype)
        with np.errstate(all="ignore"):
            return up, down, (up - down).astype(np.float64)

    def _weights(self) -> dict[int, np.ndarray]:
        """|v̄| of every step at the point, by id(node), as ChainRule.rounding_estimate weighs
        them (not the variables and constants, nor steps f does not depend on)."""
        if self._adjoints is None:
            values = self.engine.forward(self.inputs)
            adjoints = self.engine.backward(values, list(self.inputs))
            self._adjoints = {
                id(node): np.abs(np.asarray(adjoint, dtype=np.float64))
                for node, adjoint in zip(self.engine.order, adjoints)
                if adjoint is not None and node.op != "var" and not node.is_constant
            }
        return self._adjoints

    def seeded(self, key: str, seeds: np.ndarray) -> tuple[Seeded, np.ndarray]:
        """(weights, ε·Σ|v·v̄ₛ| at the point) for each seed s of seeds (S, *shape of f), kept
        under key: the rounding of each output of f (seeds e_i), or of <u, f> (seed u), as
        noise() is f's, with the primitives' own forward error where it is worse than an ulp."""
        if key in self._seeded:
            return self._seeded[key]
        seeds = np.asarray(seeds, dtype=np.float64).reshape(len(seeds), -1)
        steps = [n for n in self.engine.order if n.op != "var" and not n.is_constant]
        work = len(seeds) * sum(int(np.prod(n.shape)) for n in steps)
        if work > MAX_SEED_WEIGHTS:
            raise SkipCell(
                f"the rounding estimate of each of the {len(seeds)} outputs needs {work} weights, "
                f"past the cap of {MAX_SEED_WEIGHTS}"
            )
        values = self.engine.forward(self.inputs)
        shape = np.shape(values[-1])
        passes = [self.engine.backward(values, list(self.inputs), seed=s.reshape(shape)) for s in seeds]
        outputs = np.abs(seeds)
        weights: dict[int, np.ndarray] = {}
        f = np.abs(np.asarray(values[-1], dtype=np.float64)).ravel()
        noise = outputs @ np.where(np.isfinite(f), f, 0.0)
        with np.errstate(all="ignore"):
            for i, node in enumerate(self.engine.order):
                adjoints = [p[i] for p in passes]
                if node.op == "var" or node.is_constant or all(a is None for a in adjoints):
                    continue
                size = int(np.prod(np.shape(values[i])))
                w = np.stack(
                    [np.zeros(size) if a is None else np.abs(np.asarray(a, np.float64)).ravel() for a in adjoints]
                )
                weights[id(node)] = w
                value = values[i]
                prim = PRIMITIVES.get(node.op)
                if prim is not None:  # an ulp of its result, or its own bound (lgamma, a sum that cancels)
                    args = [values[self.engine.slot[id(a)]] for a in node.args]
                    value = prim.rounding_scale(value, *args, **axis_keyword(node))
                terms = w * np.abs(np.asarray(value, np.float64)).ravel()
                noise = noise + np.where(np.isfinite(terms), terms, 0.0).sum(axis=1)
        self._seeded[key] = Seeded(outputs, weights), self.eps * noise
        return self._seeded[key]

    def setup_s(self) -> float:
        return time.perf_counter() - self.started

    def f_time_s(self) -> float:
        return median_time(lambda: self.engine.forward(self.inputs))


def textbook_step(x: np.ndarray, dtype: str) -> np.ndarray:
    """ε^(1/3)·max(1, |x|), in the row's dtype."""
    eps = float(np.finfo(dtype).eps)
    return (eps ** (1 / 3) * np.maximum(1.0, np.abs(x.astype(np.float64)))).astype(dtype)
