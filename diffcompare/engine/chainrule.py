"""The chain-rule engine: reverse mode over the IR, in NumPy, micrograd-sized.

Forward: every node's value in topological order. Backward: walk the order in
reverse, hand each node's adjoint to its operands through the primitive's VJP
rule, and accumulate with +=. The tape records every step so that a person can
follow the chain rule as the seed notebooks do by hand (σ(x) = s(c(b(a(x))))).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffcompare.lang.ir import Node
from diffcompare.lang.primitives import PRIMITIVES
from diffcompare.lang.program import Program

NUMPY_OPS = {name: p.forward for name, p in PRIMITIVES.items()}


def numpy_constant(dtype):
    """Floats become scalars of the row's dtype, as a NumPy user would write
    np.float32(1e-8); integers stay Python ints, so x**2 is an integer power."""
    scalar = np.dtype(dtype).type
    return lambda v: v if isinstance(v, int) else scalar(v)


def numpy_program(root: Node, dtype) -> Program:
    return Program(root, NUMPY_OPS, constant=numpy_constant(dtype))


def point_in(point: dict[str, np.ndarray], dtype) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=dtype) for k, v in point.items()}


def unbroadcast(g, shape: tuple[int, ...]) -> np.ndarray:
    """Sum an adjoint back to an operand's shape (undo NumPy broadcasting)."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return np.broadcast_to(g, shape) if g.shape != shape else g


@dataclass
class TapeStep:
    step: int
    name: str
    operation: str
    value: np.ndarray
    local: list[tuple[str, np.ndarray]]  # (operand name, ∂step/∂operand)
    adjoint: np.ndarray | None  # ∂f/∂step; None where f does not depend on it

    # How a step reads as text: diffcompare.engine.tape (value_text, tape_table).


class ChainRule:
    """One problem's function, ready to differentiate in one dtype."""

    def __init__(self, root: Node, dtype):
        self.dtype = np.dtype(dtype)
        self.program = numpy_program(root, self.dtype)
        self.order = self.program.order
        self.slot = {id(n): i for i, n in enumerate(self.order)}  # node -> its position in order
        self._needs: dict[tuple[str, ...], list[bool]] = {}

    def forward(self, inputs: dict[str, np.ndarray]) -> list:
        with np.errstate(all="ignore"):
            return self.program.run_all(inputs)

    def _needs_grad(self, wrt) -> list[bool]:
        """Which nodes depend on a wrt variable; computed once per wrt, not per gradient call."""
        key = tuple(wrt)
        if key in self._needs:
            return self._needs[key]
        slot = self.slot
        needs = [False] * len(self.order)
        for i, node in enumerate(self.order):
            if node.op == "var":
                needs[i] = node.attr in wrt
            elif not node.is_constant:
                needs[i] = any(needs[slot[id(a)]] for a in node.args)
        self._needs[key] = needs
        return needs

    def backward(self, values: list, wrt: list[str]) -> list:
        """Adjoints of every node (None where f does not depend on it)."""
        slot = self.slot
        needs = self._needs_grad(wrt)
        adjoints: list = [None] * len(self.order)
        adjoints[-1] = np.ones_like(values[-1], dtype=self.dtype)
        with np.errstate(all="ignore"):
            for i in range(len(self.order) - 1, -1, -1):
                node, g = self.order[i], adjoints[i]
                if g is None or node.op in ("var", "const"):
                    continue
                for k, arg in enumerate(node.args):
                    j = slot[id(arg)]
                    if not needs[j]:
                        continue
                    contribution = self._local_vjp(node, k, g, values[i], [values[slot[id(a)]] for a in node.args])
                    if contribution is None:
                        continue
                    if adjoints[j] is None:
                        adjoints[j] = np.array(contribution, dtype=self.dtype)
                    else:
                        adjoints[j] += contribution  # a node used twice collects both paths
        return adjoints

    @staticmethod
    def _local_vjp(node: Node, k: int, g, ans, args: list):
        if node.op == "index":
            # Scatter the adjoint back into the indexed positions; basic indexing
            # never repeats a position, so plain assignment-add is exact.
            out = np.zeros(np.shape(args[0]), dtype=np.result_type(g))
            out[node.attr] += g
            return out
        rule = PRIMITIVES[node.op].vjps[k]
        if rule is None:
            return None
        return unbroadcast(rule(g, ans, *args), node.args[k].shape)

    def gradient(self, inputs: dict[str, np.ndarray], wrt: list[str]) -> dict[str, np.ndarray]:
        values = self.forward(inputs)
        adjoints = self.backward(values, wrt)
        grads = {var: np.zeros(np.shape(inputs[var]), dtype=self.dtype) for var in wrt}
        for i, node in enumerate(self.order):
            if node.op == "var" and node.attr in grads and adjoints[i] is not None:
                grads[node.attr] = np.asarray(adjoints[i])
        return grads

    def tape(self, inputs: dict[str, np.ndarray], wrt: list[str]) -> list[TapeStep]:
        values = self.forward(inputs)
        adjoints = self.backward(values, wrt)
        slot = self.slot
        names: dict[int, str] = {}
        steps: list[TapeStep] = []
        for i, node in enumerate(self.order):
            if node.is_constant:
                names[i] = node.text
                continue
            number = len(steps) + 1
            names[i] = node.attr if node.op == "var" else node.label or f"t{number}"
            operands = [names[slot[id(a)]] for a in node.args]
            local = []
            if node.op == "var":
                operation = "input" + (" (held constant)" if node.attr not in wrt else "")
            elif node.op == "index":
                operation = f"{operands[0]}{node.text[node.text.rindex('[') :]}"
            else:
                operation = f"{node.op}({', '.join(operands)})"
            if node.op != "var":
                args = [values[slot[id(a)]] for a in node.args]
                ones = np.ones_like(values[i], dtype=self.dtype)
                with np.errstate(all="ignore"):
                    for k, arg in enumerate(node.args):
                        if arg.is_constant:
                            continue
                        d = self._local_vjp(node, k, ones, values[i], args)
                        if d is not None:
                            local.append((operands[k], np.asarray(d)))
            steps.append(TapeStep(number, names[i], operation, np.asarray(values[i]), local, adjoints[i]))
        return steps

    def rounding_estimate(self, inputs: dict[str, np.ndarray]) -> float:
        """First-order estimate of the rounding error in f itself (Linnainmaa 1976,
        the first use of reverse mode): every operation's result v carries a
        relative error up to ε, which reaches f multiplied by its adjoint, so
        |δf| ≲ ε·Σ|v·v̄|. Never less than ε·|f|."""
        values = self.forward(inputs)
        adjoints = self.backward(values, list(inputs))
        total = abs(float(np.asarray(values[-1], dtype=np.float64)))
        with np.errstate(all="ignore"):
            for node, value, adjoint in zip(self.order, values, adjoints):
                if adjoint is None or node.op == "var" or node.is_constant:
                    continue
                total += float(np.sum(np.abs(np.asarray(value, np.float64) * np.asarray(adjoint, np.float64))))
        return float(np.finfo(self.dtype).eps) * total

    def kinks(self, inputs: dict[str, np.ndarray], wrt: list[str]) -> list[str]:
        """Non-smooth steps sitting exactly at a point where they are not
        differentiable (relu or abs at 0, min/max of equal arguments, clamp at a
        bound, where at the boundary of its condition), in operands that depend
        on a wrt variable. Judged in float64 values at the point."""
        values = self.forward(inputs)
        needs = self._needs_grad(wrt)
        slot = self.slot
        found = []
        for node in self.order:
            if node.op not in PRIMITIVES or PRIMITIVES[node.op].smooth or node.is_constant:
                continue
            args = node.args
            if node.op == "where":  # the boundary of where(a < b, ...) is a == b
                cond = args[0]
                if PRIMITIVES.get(cond.op) is None or PRIMITIVES[cond.op].kind != "compare":
                    continue
                args = cond.args
            if not any(needs[slot[id(a)]] for a in args):
                continue
            at_kink = PRIMITIVES[node.op].kink(*[values[slot[id(a)]] for a in args])
            if np.any(at_kink):
                words = PRIMITIVES[node.op].kink_words
                found.append(f"'{node.text}' is at {words}, where it is not differentiable")
        return found

    def undefined_at(self, inputs: dict[str, np.ndarray]) -> str:
        """The first step whose value or local derivative is not finite, in words."""
        for step in self.tape(inputs, [n.attr for n in self.order if n.op == "var"]):
            if step.operation.startswith("input"):
                continue
            what = f"{step.name} = {step.operation}" if step.name != f"t{step.step}" else step.operation
            if not np.all(np.isfinite(step.value)):
                return f"{what} is {_describe(step.value)}"
            for operand, d in step.local:
                if not np.all(np.isfinite(d)):
                    return f"the derivative of {what} in {operand} is {_describe(d)}"
        return ""

    def hazards(self, inputs: dict[str, np.ndarray], derivative_only: bool = False) -> list[tuple[float, str]]:
        """(relative-error amplification, why) for each step that amplifies rounding;
        derivative_only: just the steps whose local derivative rule loses digits."""
        values = self.forward(inputs)
        slot = self.slot
        found = []
        with np.errstate(all="ignore"):
            for i, node in enumerate(self.order):
                prim = PRIMITIVES.get(node.op)
                if node.is_constant or prim is None or prim.hazard is None:
                    continue
                if derivative_only and prim.hazard_in != "derivative":
                    continue
                result = prim.hazard(values[i], *[values[slot[id(a)]] for a in node.args])
                if result is not None:
                    amp, why = result
                    found.append((amp, f"'{node.label or node.text}': {why}"))
        return sorted(found, reverse=True)


def _describe(value) -> str:
    value = np.asarray(value, dtype=np.float64)
    bad = value[~np.isfinite(value)] if value.ndim else value.reshape(1)
    return "not a number" if np.isnan(bad).any() else "infinite"
