"""The chain-rule tape as text: one table that every view shows (the terminal's
`explain`, report.html), and the one way a float is written for people.

A number is written to its last digit, as the shortest text that reads back as
the same float: σ(32) is 0.9999999999999873, and printing it as 1 would hide the
very saturation the tape is read for; a backend's value and the reference in a
report are compared digit by digit.
"""

from __future__ import annotations

import math

import numpy as np

TAPE_COLUMNS = ("step", "name", "operation", "value", "local derivatives", "adjoint ∂f/∂·")
TAPE_HOW_TO_READ = (
    "Read bottom-up: each adjoint is the sum, over the steps that use this one, of their "
    "adjoint × their local derivative. The inputs' adjoints are the gradient."
)


def exact_text(value, nan: str = "nan") -> str:
    """A float as the shortest text that reads back as the same float64 (repr);
    nan: what to write for NaN (a report's empty cell writes ""). Anything that is
    not a number is written as str()."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (float, np.floating)):
        return nan if math.isnan(value) else repr(float(value))
    if isinstance(value, (int, np.integer, bool, np.bool_)):
        return str(value.item() if isinstance(value, np.generic) else value)
    return str(value)


def value_text(value) -> str:
    """A tape entry: a scalar to its last digit, an abbreviated array otherwise."""
    value = np.asarray(value)
    if value.ndim == 0:
        return exact_text(value)
    return np.array2string(value, precision=6, separator=", ", threshold=8)


def tape_table(steps) -> list[tuple[str, str, str, str, list[str], str]]:
    """One row of text per tape step, in TAPE_COLUMNS' order; the local derivatives
    are a list (one '∂/∂operand = value' per operand), joined as each view likes."""
    rows = []
    for s in steps:
        local = [f"∂/∂{name} = {value_text(d)}" for name, d in s.local]
        adjoint = "—" if s.adjoint is None else value_text(s.adjoint)
        rows.append((str(s.step), s.name, s.operation, value_text(s.value), local, adjoint))
    return rows
