"""Where the chain rule itself breaks at a point: the steps that sit exactly on a kink, and
the first step whose value or local derivative is not finite, in words that name the step
as the tape shows it.

Both are judged on the values of one engine's forward pass (float64 for the messages, exact
mpmath numbers in exact.mpchain, which walks its own order with `kink_steps`).
"""

from __future__ import annotations

import numpy as np

from diffcompare.lang.ir import Node, axis_keyword
from diffcompare.lang.primitives import PRIMITIVES


def kink_steps(order: list[Node], slot: dict, needs: list[bool], values: list) -> list[tuple[Node, np.ndarray, list]]:
    """(node, mask, operand values) for each non-smooth step that sits exactly where it is not
    differentiable (relu or abs at 0, min/max of equal arguments, clamp at a bound, where at
    the boundary of its condition: a == b for where(a < b, ...)), in operands that depend on
    a differentiated variable (needs), judged in whatever numbers `values` holds (float64
    here, exact mpmath numbers in exact.mpchain)."""
    found = []
    for node in order:
        p = PRIMITIVES.get(node.op)
        if p is None or p.smooth or node.is_constant:
            continue
        args = node.args
        if node.op == "where":
            cond = args[0]
            if PRIMITIVES.get(cond.op) is None or PRIMITIVES[cond.op].kind != "compare":
                continue
            args = cond.args
        if not any(needs[slot[id(a)]] for a in args):
            continue
        operands = [values[slot[id(a)]] for a in args]
        mask = np.asarray(p.kink(*operands, **axis_keyword(node)), dtype=bool)
        if mask.any():
            found.append((node, mask, operands))
    return found


def kinks(engine, inputs: dict[str, np.ndarray], wrt: list[str]) -> list[str]:
    """Non-smooth steps of `engine` (a ChainRule) sitting exactly at a point where they are
    not differentiable, in operands that depend on a wrt variable, in words."""
    values = engine.forward(inputs)
    found = []
    for node, _, _ in kink_steps(engine.order, engine.slot, engine.needs_grad(wrt), values):
        found.append(f"'{node.text}' is at {PRIMITIVES[node.op].kink_words}, where it is not differentiable")
    return found


def undefined_at(engine, inputs: dict[str, np.ndarray], wrt: list[str] | None = None) -> str:
    """The first step of `engine`'s tape whose value, or local derivative in an operand that
    depends on a wrt variable (all variables when None), is not finite, in words. A
    derivative in data (d/dk of x**k, k not differentiated) is asked by nobody and never named."""
    wrt = [n.attr for n in engine.order if n.op == "var"] if wrt is None else list(wrt)
    needs = engine.needs_grad(wrt)
    for step in engine.tape(inputs, wrt):
        node = engine.order[step.node]
        if node.op == "var":
            continue
        what = f"{step.name} = {step.operation}" if node.label else step.operation
        if not np.all(np.isfinite(step.value)):
            return f"{what} is {_describe(step.value)}"
        for k, (arg, d) in enumerate(zip(node.args, step.derivatives)):
            if d is not None and needs[engine.slot[id(arg)]] and not np.all(np.isfinite(d)):
                return f"the derivative of {what} in {step.operands[k]} is {_describe(d)}"
    return ""


def _describe(value) -> str:
    value = np.asarray(value, dtype=np.float64)
    bad = value[~np.isfinite(value)] if value.ndim else value.reshape(1)
    return "not a number" if np.isnan(bad).any() else "infinite"
