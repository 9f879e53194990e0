"""The finite-difference step sweep: error against h, the V every numerical-methods course draws.

For one gradient element, forward (f(x+h) - f(x))/h, central
(f(x+h) - f(x-h))/2h and complex-step Im f(x+ih)/h differences are taken at
h = 1e-1 … 1e-16 in float32 and float64, and each is measured against the exact
reference. Forward and central errors fall with h (truncation, ∝ h and h²) until
rounding, ∝ ε/h, takes over: the bottom of the V sits near ε^(1/2) for forward
and ε^(1/3) for central differences. Complex step has no subtraction and stays
at rounding level down to any h.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from diffcompare.engine.chainrule import numpy_constant, numpy_program, point_in
from diffcompare.engine.complex import COMPLEX, COMPLEX_OPS, non_analytic_step
from diffcompare.engine.differences import OneElement, central, complex_step, forward
from diffcompare.exact.truth import truth_of
from diffcompare.lang.ir import element_label
from diffcompare.lang.program import Program
from diffcompare.running.verdicts import errors
from diffcompare.spec.problem import DTYPES
from diffcompare.views.files import atomic_write, inside, safe_name
from diffcompare.views.plots import sweep_figure

STEPS = [10.0**-k for k in range(1, 17)]


def sweep(problem, variable: str, index: tuple) -> pd.DataFrame:
    reference = truth_of(problem).reference.value(variable, index)
    if reference is None:
        raise ValueError(f"∂f/∂{element_label(variable, index)} is not defined at the point: nothing to sweep")
    methods = ["forward", "central"] + (["complex_step"] if non_analytic_step(problem) is None else [])
    rows = []
    for dtype in DTYPES:
        scalar = np.dtype(dtype).type
        inputs = point_in(problem.point, dtype)
        real = OneElement(numpy_program(problem.function, dtype), inputs)
        cplx = OneElement(Program(problem.function, COMPLEX_OPS, constant=numpy_constant(dtype)), inputs)
        for h in STEPS:
            values = {
                "forward": lambda: forward(real, variable, index, scalar(h), scalar),
                "central": lambda: central(real, variable, index, scalar(h), scalar)[0],
                "complex_step": lambda: complex_step(cplx, variable, index, h, COMPLEX[dtype]),
            }
            for method in methods:
                value = values[method]()
                rel = errors(value, reference)[1] if math.isfinite(value) else math.inf
                rows.append(
                    {
                        "problem": problem.name,
                        "element": element_label(variable, index),
                        "method": method,
                        "dtype": dtype,
                        "h": h,
                        "value": value,
                        "reference": float(reference),
                        "rel_error": rel,
                    }
                )
    return pd.DataFrame(rows)


def plot(frame: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig = sweep_figure(frame)
    try:
        atomic_write(path, writer=lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)


def sweep_paths(problem, variable: str, out: Path) -> tuple[Path, Path]:
    """The CSV and PNG of a sweep: named from the problem's and the variable's names made
    safe as file names (a name is text from a problem file), and always directly in out."""
    stem = f"sweep-{safe_name(problem.name)}-{safe_name(variable)}"
    return inside(out, f"{stem}.csv"), inside(out, f"{stem}.png")


def write_sweep(problem, variable: str, index: tuple, out: Path) -> tuple[Path, Path]:
    csv_path, png_path = sweep_paths(problem, variable, out)
    frame = sweep(problem, variable, index)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(csv_path, frame.to_csv(index=False, float_format="%.17g"))
    plot(frame, png_path)
    return csv_path, png_path
