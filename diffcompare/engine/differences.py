"""Difference formulas shared by the finite-difference backends and the sweep.

Each works on f as a function of one element of one variable, the others held
at the point, in the row's dtype. Steps are taken as represented: the formulas
divide by the distance between the points actually evaluated.
"""

from __future__ import annotations

import numpy as np

from diffcompare.lang.program import Program


class OneElement:
    """f(x) with element `index` of variable `var` replaced."""

    def __init__(self, program: Program, inputs: dict[str, np.ndarray]):
        self.program, self.inputs = program, inputs

    def __call__(self, var: str, index: tuple, x):
        env = dict(self.inputs)
        env[var] = np.array(self.inputs[var], dtype=np.result_type(self.inputs[var], x), copy=True)
        env[var][index] = x
        with np.errstate(all="ignore"):
            return self.program(env)


def central(f: OneElement, var: str, index: tuple, h: float, scalar) -> tuple[float, float]:
    """(f(x+h) - f(x-h)) / (x₊ - x₋), and the step x₊ - x₋ actually taken."""
    x = f.inputs[var][index]
    up, down = scalar(x + h), scalar(x - h)
    with np.errstate(all="ignore"):
        return float((f(var, index, up) - f(var, index, down)) / (up - down)), float(up - down)


def forward(f: OneElement, var: str, index: tuple, h: float, scalar) -> float:
    x = f.inputs[var][index]
    up = scalar(x + h)
    with np.errstate(all="ignore"):
        return float((f(var, index, up) - f(var, index, x)) / (up - x))


def complex_step(f: OneElement, var: str, index: tuple, h: float, complex_dtype) -> float:
    """Im f(x + ih) / h: no subtraction, so no cancellation, whatever the h."""
    x = np.asarray(f.inputs[var][index]).astype(complex_dtype) + np.asarray(1j * h, dtype=complex_dtype)
    with np.errstate(all="ignore"):
        return float(np.imag(f(var, index, x)) / h)
