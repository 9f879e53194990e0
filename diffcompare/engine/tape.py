"""The chain-rule tape: its steps, as the engine records them, and as text, in one table
that every view shows (the terminal's `explain`, report.html), with the one way a float is
written for people.

A step knows its node and its operands' names (what the analyses that speak of steps use:
"the derivative of log(t1) in t1 is infinite"); its text is derived from them, never read
back. A step where digits were lost is marked with the hazard that explains it (tape_marks:
σ rounds to exactly 1 in float32, so ∂σ is 0), from the blame analysis of the same engine
(engine.blame; running.blame.Explainer keeps it per problem). A number is written to its last digit, as the shortest text that reads back as
the same float: σ(32) is 0.9999999999999873, and printing it as 1 would hide the
very saturation the tape is read for; a backend's value and the reference in a
report are compared digit by digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TAPE_COLUMNS = ("step", "name", "operation", "value", "local derivatives", "adjoint ∂f/∂·")
TAPE_MARK_COLUMN = "digits lost"
TAPE_HOW_TO_READ = (
    "Read bottom-up: each adjoint is the sum, over the steps that use this one, of their "
    "adjoint × their local derivative. The inputs' adjoints are the gradient."
)
# Forward mode's tape: the tangent in place of the adjoint, read the other way.
FORWARD_TAPE_COLUMNS = ("step", "name", "operation", "value", "local derivatives", "tangent ∂·/∂v")
FORWARD_TAPE_HOW_TO_READ = (
    "Read top-down: each tangent is the sum, over this step's operands, of its local "
    "derivative in the operand × the operand's tangent. The inputs' tangents are the "
    "direction v; the last step's tangent is J·v."
)


@dataclass
class TapeStep:
    step: int
    name: str
    operation: str
    value: np.ndarray
    operands: tuple[str, ...]  # each operand's name on the tape (a constant as written)
    derivatives: tuple[np.ndarray | None, ...]  # ∂step/∂operand, None for a constant or where it has none
    adjoint: np.ndarray | None  # ∂f/∂step; None where f does not depend on it
    node: int  # its node's position in ChainRule.order
    tangent: np.ndarray | None = None  # ∂step/∂v along a direction v (forward mode); None: none given or reached

    @property
    def local(self) -> list[tuple[str, np.ndarray]]:
        """(operand name, ∂step/∂operand) for each operand that has one."""
        return [(name, d) for name, d in zip(self.operands, self.derivatives) if d is not None]


def record(engine, values: list, adjoints: list, wrt: list[str], tangents: list | None = None) -> list[TapeStep]:
    """One step per node of engine.order that is not a constant, from the node values and
    adjoints of one pass of `engine` (a ChainRule), and the tangents of a forward-mode pass
    where given (engine.forward.tangents). Steps are named by their let name, a variable's
    own name or t1, t2 …, and each operand is shown by its step's name."""
    names: dict[int, str] = {}
    steps: list[TapeStep] = []
    for i, node in enumerate(engine.order):
        if node.is_constant:
            names[i] = node.text
            continue
        number = len(steps) + 1
        names[i] = node.attr if node.op == "var" else node.label or f"t{number}"
        operands = tuple(names[engine.slot[id(a)]] for a in node.args)
        derivatives: list[np.ndarray | None] = [None] * len(node.args)
        if node.op == "var":
            operation = "input" + (" (held constant)" if node.attr not in wrt else "")
        elif node.op == "index":
            operation = f"{operands[0]}{node.text[node.text.rindex('[') :]}"
        else:
            operation = f"{node.op}({', '.join(operands)})"
        if node.op != "var":
            args = [values[engine.slot[id(a)]] for a in node.args]
            ones = np.ones_like(values[i], dtype=engine.dtype)
            with np.errstate(all="ignore"):
                for k, arg in enumerate(node.args):
                    if arg.is_constant:
                        continue
                    d = engine.local_vjp(node, k, ones, values[i], args)
                    derivatives[k] = None if d is None else np.asarray(d)
        tangent = None if tangents is None or tangents[i] is None else np.asarray(tangents[i])
        steps.append(
            TapeStep(
                number,
                names[i],
                operation,
                np.asarray(values[i]),
                operands,
                tuple(derivatives),
                adjoints[i],
                i,
                tangent,
            )
        )
    return steps


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


def forward_tape_table(steps) -> list[tuple[str, str, str, str, list[str], str]]:
    """tape_table's rows with each step's tangent (FORWARD_TAPE_COLUMNS) in place of its
    adjoint: the forward-mode pass, '—' where no tangent reaches the step."""
    return [(*row[:5], "—" if s.tangent is None else value_text(s.tangent)) for row, s in zip(tape_table(steps), steps)]


@dataclass(frozen=True)
class TapeMark:
    """A hazard at a tape step: what its rounding does (Primitive.hazard's words), how much of
    the step's digits it can take (relative error, 1 = all), and whether the hazard is in the
    step's value (a ± b cancels, exp overflows) or in its local derivative (σ(1-σ))."""

    why: str
    relative: float
    hazard_in: str  # "value" or "derivative"

    @property
    def all_lost(self) -> bool:
        return self.relative >= 1

    @property
    def text(self) -> str:
        size = "all digits lost" if self.all_lost else f"up to ≈{self.relative:.0e} relative error"
        where = "local derivative" if self.hazard_in == "derivative" else "value"
        return f"{where}: {self.why} ({size})"


def tape_marks(steps, blames) -> dict[int, TapeMark]:
    """Tape step number -> the hazard that loses its digits, from the blames of the same
    engine and dtype (ChainRule.blame, running.blame.Explainer.analysis): a Blame's node is
    a TapeStep's node. A step blamed more than once (one Blame per order of magnitude of its
    elements) keeps the largest."""
    step_of = {s.node: s.step for s in steps}
    marks: dict[int, TapeMark] = {}
    for b in blames:
        step = step_of.get(b.node)
        if step is None:
            continue
        if step not in marks or b.relative > marks[step].relative:
            marks[step] = TapeMark(b.why, float(b.relative), b.hazard_in)
    return marks


def marked_tape_table(steps, marks: dict[int, TapeMark]) -> list[tuple[str, str, str, str, list[str], str, str]]:
    """tape_table's rows with a seventh column, TAPE_MARK_COLUMN: the mark's text, or ''."""
    return [(*row, marks[s.step].text if s.step in marks else "") for row, s in zip(tape_table(steps), steps)]
