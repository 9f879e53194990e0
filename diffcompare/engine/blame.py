"""Blame: what the rounding at each hazardous step can do to each element of the gradient.

The hazardous steps and the rounding each amplifies are diffcompare.engine.rounding's; here
each is carried to the gradient in a wider dtype (long double), where the steps that lose
digits in the engine's dtype keep them. running.blame turns the estimates into the words of
a disagreeing row.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from diffcompare.engine.rounding import Hazard, hazards_of, measured_rounding, structural_rounding
from diffcompare.lang.primitives import PRIMITIVES


@dataclass
class Blame:
    """What the rounding at one hazardous step can do to each element of the gradient
    (ChainRule.blame). A step whose elements amplify by different orders of magnitude is
    one Blame per order of magnitude, each for its own elements of the step."""

    node: int  # the step's position in ChainRule.order
    step: str  # the step as written: its let name, or its text
    amplification: float  # the worst amplification of relative error among those elements
    relative: float  # the step's worst relative error: amplification × the rounding that reaches it, at most 1
    why: str  # the primitive's words for it (Primitive.hazard)
    hazard_in: str  # "value" or "derivative" (Primitive.hazard_in)
    error: dict[str, np.ndarray]  # per wrt variable, its shape, float64: estimated absolute error


def blame(
    engine,
    paths,
    inputs: dict[str, np.ndarray],
    wide_inputs: dict[str, np.ndarray],
    wrt: list[str],
    floor: float = 0.0,
    limit: int = 16,
    work: float = 5e7,
    seconds: float | None = None,
) -> list[Blame]:
    """For each hazardous step of `engine` (a ChainRule) that a rounding reaches, the absolute
    error that rounding, amplified, can put in each gradient element.

    inputs: the point in engine's dtype; paths: the same function in a wider dtype, and
    wide_inputs the point in it (paths is engine itself where nothing is wider). The step's
    relative error is ρ = min(amplification × rounding, 1) (engine.rounding: one ε of its own
    for σ(1-σ), what its operands carry for a ± b and sin(x): nothing for an exact input),
    carried to the gradient two ways:
    - a hazard in the local derivative (σ(1-σ), cos(x) at a rounded x): every path through the
      step is scaled by it, so the element's error is ρ × the part of ∂f/∂x that flows through
      the step, a reverse pass begun at its operand, seeded with the step's adjoint × ρ × its
      local derivative; for a hazard of the operands' rounding, by the local derivative's
      actual error, if that is more (cos'(x) at float32's π is 8.7e-8, at π -1.2e-16: the
      derivative is off by far more than itself);
    - a hazard in the value (a - b cancels, exp overflows): the value v is off by up to
      δ = amplification × rounding × |v| in this dtype (for a - b: (|a| + |b|) × rounding,
      which can be far more than v itself), or by what it is off here against the wide pass,
      if that is more (an a - b that is exactly 0 here: its amplification is infinite, its
      error the wide value). That moves every local derivative computed from v, whether or not
      x's adjoint path crosses the step (∂(x·(y-1))/∂x is y - 1): the element's error is how
      far the wide gradient moves when v is set to v ± δ, the larger of the two; a gradient
      made not finite by it (exp overflowed here) is an error of inf.
    The amplification is per element of the step, so a step only one element of which lost
    its digits blames only the gradient elements that element reaches; an exactly-0 step
    with nothing reaching an element puts 0 there, never NaN.

    floor: steps whose amplification × ε is below it are left out (a bound on the work, as
    engine.rounding.hazards_of says); limit: the most steps (by ρ, then
    amplification) analysed; work: a bound on the element-passes spent (every node's
    elements, once per pass): past it, and past `seconds`, no more steps are analysed
    (a problem too large for the three passes alone gets none). Sorted by ρ, largest first."""
    wrt = list(wrt)
    deadline = None if seconds is None else time.monotonic() + seconds
    cost = float(sum(max(1, math.prod(n.shape)) for n in engine.order))
    spent = 3 * cost  # this forward pass, and the wide one forward and backward
    if spent + cost > work:  # not even one step could be analysed
        return []
    values = engine.forward(inputs)
    wide: list = []  # the wide forward pass, once something needs it

    def base() -> list:
        if not wide:
            wide.extend(paths.forward(wide_inputs))
        return wide

    if paths is engine:
        carried = structural_rounding(engine)
    else:
        measured: list = []

        def carried(j: int):
            if not measured:
                measured.append(measured_rounding(engine, values, base()))
            return measured[0](j)

    found = hazards_of(engine, values, carried, floor, needs=engine.needs_grad(wrt))
    if not found:
        return []
    found.sort(key=lambda h: (-h.relative, -h.amplification))
    adjoints = paths.backward(base(), wrt)
    grads = paths.grads_of(adjoints, wide_inputs, wrt)
    known = {var: np.isfinite(g) for var, g in grads.items()}
    blames = []
    for hazard in found[:limit]:
        node = engine.order[hazard.node]
        prim = PRIMITIVES[node.op]
        spent += cost if prim.hazard_in == "derivative" else 4 * cost
        if spent > work or (deadline is not None and time.monotonic() > deadline):
            break
        with np.errstate(all="ignore"):
            if prim.hazard_in == "derivative":
                if adjoints[hazard.node] is None:
                    continue
                error = _through_derivative(engine, paths, values, base(), adjoints, grads, hazard, wide_inputs, wrt)
            else:
                error = _through_value(paths, values, base(), grads, hazard, wide_inputs, wrt)
        error = {
            var: np.where(known[var], np.asarray(e, dtype=np.float64), 0.0).reshape(np.shape(grads[var]))
            for var, e in error.items()
        }
        step = node.label or node.text
        blames.append(
            Blame(hazard.node, step, hazard.amplification, hazard.relative, hazard.why, prim.hazard_in, error)
        )
    return blames


def _through_derivative(engine, paths, values, base, adjoints, grads, hazard: Hazard, inputs, wrt) -> dict:
    """The error a hazard in a local derivative puts in each element: a reverse pass begun at
    each operand, seeded with the step's adjoint × (the derivative's error)."""
    i = hazard.node
    node = engine.order[i]
    needs = paths.needs_grad(wrt)
    weight = np.asarray(hazard.relatives(), dtype=paths.dtype)
    adjoint = adjoints[i]
    group = np.where(weight != 0, adjoint, 0)  # 0, not inf × 0, outside the group
    scaled = np.where(weight != 0, adjoint * weight, 0)
    wide_args = [base[engine.slot[id(a)]] for a in node.args]
    operands_rounding = PRIMITIVES[node.op].hazard_of == "operands"
    if operands_rounding:
        # The local derivative at the dtype's own operands (cos(x) at the float32 x), in the wide dtype.
        here_args = [np.asarray(values[engine.slot[id(a)]]).astype(paths.dtype) for a in node.args]
        here_ans = np.asarray(values[i]).astype(paths.dtype)
    error = {var: np.zeros(np.shape(g)) for var, g in grads.items()}
    for k, arg in enumerate(node.args):
        j = engine.slot[id(arg)]
        if arg.is_constant or not needs[j]:
            continue
        seed = paths.local_vjp(node, k, scaled, base[i], wide_args)
        if seed is None:
            continue
        if operands_rounding:
            seen = paths.local_vjp(node, k, group, here_ans, here_args) - paths.local_vjp(
                node, k, group, base[i], wide_args
            )
            seed = np.where(np.abs(seen) > np.abs(seed), seen, seed)
        moved = paths.grads_of(paths.backward(base, wrt, start=j, seed=seed), inputs, wrt)
        for var in wrt:
            e = np.abs(moved[var])
            error[var] = error[var] + np.where(np.isfinite(e), e, 0)
    return error


def _through_value(paths, values, base, grads, hazard: Hazard, inputs, wrt) -> dict:
    """The error a hazard in a value puts in each element: how far the wide gradient moves
    when the step's value is set to v ± its error."""
    i = hazard.node
    amps = np.asarray(hazard.amps, dtype=np.float64)
    v = np.asarray(base[i], dtype=paths.dtype)
    here = np.asarray(values[i], dtype=paths.dtype)
    bound = np.nan_to_num(amps * hazard.rounding * np.abs(here.astype(np.float64)), nan=0.0, posinf=np.inf)
    seen = np.nan_to_num(np.abs(here - v), nan=0.0, posinf=np.inf)
    off = np.where(amps > 0, np.maximum(np.asarray(bound, paths.dtype), seen), 0)
    error = {var: np.zeros(np.shape(g)) for var, g in grads.items()}
    for sign in (1, -1):
        moved_value = np.asarray(v + sign * off, dtype=paths.dtype)
        moved_value = moved_value[()] if moved_value.ndim == 0 else moved_value
        moved_values = paths.forward_with(base, i, moved_value)
        moved = paths.grads_of(paths.backward(moved_values, wrt), inputs, wrt)
        for var in wrt:
            e = np.abs(moved[var] - grads[var])
            error[var] = np.maximum(error[var], np.where(np.isfinite(e), e, np.inf))
    return error
