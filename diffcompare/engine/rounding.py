"""Rounding on the tape: the first-order estimate of f's own rounding error, the rounding
each step's value carries, and the steps that amplify it (the primitives' hazards).

A hazard amplifies one of two roundings (Primitive.hazard_of):
- the step's own ("result"): σ(u) is rounded, then σ(1-σ) cancels in 1-σ; that rounding is
  there in every dtype, one ε (twice the unit roundoff);
- its operands' ("operands"): a ± b and sin(x) are correctly rounded, and amplify only the
  rounding their operands bring with them. A variable or constant is the exact reference's
  own number (the reference is computed at the exact binary value of the float64 point, with
  the float64 constants): exact in float64, rounded in float32 unless float32 holds it, by
  its own rounding error. Past the inputs, a step carries one rounding (ε) where its value
  in the dtype is not the value a wider pass gives at the same point, and none where it is
  (x[0], -x, 2·x of exact operands).
So cos(x) at x = π has an amplification of 2.6e16 in float64 and amplifies nothing: x is the
point itself; in float32 the point's rounding to float32 is worth all the digits of -sin(x).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from diffcompare.lang.ir import axis_keyword
from diffcompare.lang.primitives import PRIMITIVES

# The hazard rules give the worst amplification of a whole array; an element's own is found
# by bisection, at most this many calls per step (past it, a chunk keeps its chunk's worst).
BISECTIONS = 256
# Where no wider pass is had (the engine is itself long double), operations that only select,
# or negate, an operand's value carry its rounding and add none.
SELECTIONS = {"index", "neg"}


@dataclass
class Hazard:
    """The elements of one hazardous step whose amplification is of one order of magnitude."""

    node: int  # the step's position in the engine's order
    amplification: float  # the worst amplification among these elements
    relative: float  # the worst relative error it gives them: amplification × rounding, at most 1
    why: str  # the primitive's words for it (Primitive.hazard)
    amps: object  # each element's amplification, 0 outside the group; one number for a scalar step
    rounding: object  # the relative rounding it amplifies, per element or one number

    def relatives(self):
        """Each element's relative error, amplification × rounding, at most 1; 0 outside the group."""
        return _relative(self.amps, self.rounding)


def measured_rounding(engine, values: list, wide: list) -> Callable[[int], np.ndarray]:
    """node position -> the relative rounding its value carries in engine's dtype, per element,
    told by `wide`, the same pass in a wider dtype at the same point: an input's or constant's
    own rounding to the dtype, exactly (the wide pass holds the float64 point itself); one ε
    for a computed step whose value is not the wide one (it was rounded, or an operand's
    rounding reached it: each step is charged one rounding, an earlier step's amplification
    being that step's to explain); none where the two are equal."""
    eps = float(np.finfo(engine.dtype).eps)

    def carried(j: int) -> np.ndarray:
        node = engine.order[j]
        w = np.asarray(wide[j])
        h = np.asarray(values[j]).astype(w.dtype)
        differs = ~(h == w)  # NaN differs
        if node.op != "var" and not node.is_constant:
            return np.where(differs, eps, 0.0)
        with np.errstate(all="ignore"):
            rel = (np.abs(h - w) / np.abs(w)).astype(np.float64)
        return np.where(differs, np.nan_to_num(rel, nan=1.0, posinf=np.inf), 0.0)

    return carried


def structural_rounding(engine) -> Callable[[int], np.ndarray]:
    """node position -> the relative rounding its value carries, where nothing wider measures
    it: none in the inputs and constants (taken as exact: the long-double engine's are the
    float64 point and constants themselves), an operand's through a selection, else one ε."""
    eps = float(np.finfo(engine.dtype).eps)
    memo: dict[int, float] = {}

    def carried(j: int) -> float:
        if j not in memo:
            node = engine.order[j]
            if node.op == "var" or node.is_constant:
                memo[j] = 0.0
            elif node.op in SELECTIONS:
                memo[j] = carried(engine.slot[id(node.args[0])])
            else:
                memo[j] = eps
        return memo[j]

    return carried


def hazards_of(
    engine,
    values: list,
    carried: Callable[[int], object],
    floor: float = 0.0,
    needs: list[bool] | None = None,
    derivative_only: bool = False,
) -> list[Hazard]:
    """Every hazardous step of engine's order (a primitive whose `hazard` is not None at
    `values`) that some rounding reaches, grouped by the order of magnitude of each element's
    amplification. The relative error of an element is amplification × the rounding the
    hazard amplifies: one ε of the step's own, or what its operands carry (`carried`, per
    node). floor: elements whose amplification of one rounding (× ε) is below it are left
    out, whatever rounding reaches them: a cost bound on the steps analysed, not a judgement
    (a step that amplifies the point's rounding to float32, half an ε, by 80 still explains
    what a later cancellation makes of it). needs: which nodes depend on a
    differentiated variable (a local-derivative hazard off every path is nobody's);
    derivative_only: only the hazards in a local-derivative rule."""
    eps = float(np.finfo(engine.dtype).eps)
    found = []
    with np.errstate(all="ignore"):
        for i, node in enumerate(engine.order):
            prim = PRIMITIVES.get(node.op)
            if node.is_constant or prim is None or prim.hazard is None:
                continue
            if prim.hazard_in != "derivative" and derivative_only:
                continue
            if prim.hazard_in == "derivative" and needs is not None and not needs[i]:
                continue  # its local derivative is on no path to a wrt variable
            args = [values[engine.slot[id(a)]] for a in node.args]
            whole = prim.hazard(values[i], *args)
            if whole is None or float(whole[0]) < floor / eps:  # NaN goes on: an element that is
                continue  # NaN hides the others' amplification
            if prim.hazard_of == "operands":
                shape = np.shape(values[i])
                rounding = np.zeros(shape)
                for a in node.args:
                    rounding = np.maximum(rounding, np.broadcast_to(carried(engine.slot[id(a)]), shape))
            else:
                rounding = np.asarray(eps)
            for amp, relative, why, amps in _groups(prim, whole, values[i], args, rounding, floor / eps):
                found.append(Hazard(i, amp, relative, why, amps, rounding))
    return found


def hazards(engine, inputs: dict[str, np.ndarray], derivative_only: bool = False) -> list[tuple[float, str]]:
    """(amplification, why) for each step that amplifies a rounding that reaches it, the
    largest first, without a wider pass (the inputs taken as exact); derivative_only: just
    the steps whose local derivative rule loses digits."""
    values = engine.forward(inputs)
    found = hazards_of(engine, values, structural_rounding(engine), derivative_only=derivative_only)
    return sorted(((h.amplification, f"'{_step_text(engine, h.node)}': {h.why}") for h in found), reverse=True)


def rounding_estimate(engine, inputs: dict[str, np.ndarray]) -> float:
    """First-order estimate of the rounding error in f itself (Linnainmaa 1976,
    the first use of reverse mode): every operation's result v carries a
    relative error up to ε, which reaches f multiplied by its adjoint, so
    |δf| ≲ ε·Σ|v·v̄|, with |v| replaced by the primitive's own bound where its forward rule is
    worse than an ulp (Primitive.forward_error: math.lgamma). Never less than ε·|f|."""
    values = engine.forward(inputs)
    adjoints = engine.backward(values, list(inputs))
    total = abs(float(np.asarray(values[-1], dtype=np.float64)))
    with np.errstate(all="ignore"):
        for node, value, adjoint in zip(engine.order, values, adjoints):
            if adjoint is None or node.op == "var" or node.is_constant:
                continue
            prim = PRIMITIVES.get(node.op)
            if prim is not None:  # an ulp of its result, or its own bound (lgamma, a sum that cancels)
                args = [values[engine.slot[id(a)]] for a in node.args]
                value = prim.rounding_scale(value, *args, **axis_keyword(node))
            terms = np.abs(np.asarray(value, np.float64) * np.asarray(adjoint, np.float64))
            # Where the chain rule breaks (sqrt'(0) = inf), the tape says nothing of f's rounding.
            total += float(np.sum(terms[np.isfinite(terms)]))
    return float(np.finfo(engine.dtype).eps) * total


def _step_text(engine, i: int) -> str:
    node = engine.order[i]
    return node.label or node.text


def _relative(amps, rounding):
    """amplification × rounding, at most 1 (all digits lost); 0 where no rounding reaches."""
    amps = np.asarray(amps, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.where((rounding > 0) & (amps > 0), np.minimum(amps * rounding, 1.0), 0.0)


def _groups(prim, whole, ans, args: list, rounding, least: float) -> list[tuple[float, float, str, object]]:
    """A hazardous step's elements (whole: its hazard over all of them), grouped by the order of magnitude of their amplification:
    (the group's worst amplification, its worst relative error, its words, amps): amps is
    each element's amplification, 0 outside the group (one number for a scalar step, or for
    a step that is not elementwise). rounding: the relative rounding the hazard amplifies,
    per element or one number. Elements whose relative error, amplification × rounding, is
    0, or whose amplification is below least, are left out."""
    amp, why = float(whole[0]), whole[1]
    if not np.any(rounding > 0):
        return []
    size = int(np.size(ans))
    if size == 1 or prim.kind != "elementwise":
        if math.isnan(amp):
            return []
        relative = float(np.max(_relative(amp, rounding)))
        return [(amp, relative, why, amp)] if relative > 0 else []
    shape = np.shape(ans)
    flat_ans = np.asarray(ans).ravel()
    flat_args = [np.broadcast_to(np.asarray(a), shape).ravel() for a in args]
    amps = np.zeros(size)
    stack, calls = [(0, size, amp)], 0
    while stack:
        lo, hi, a = stack.pop()
        if hi - lo == 1 or calls >= BISECTIONS or a < least:
            amps[lo:hi] = 0.0 if math.isnan(a) else a
            continue
        mid = (lo + hi) // 2
        for part in (slice(lo, mid), slice(mid, hi)):
            found = prim.hazard(flat_ans[part], *[f[part] for f in flat_args])
            calls += 1
            stack.append((part.start, part.stop, 0.0 if found is None else float(found[0])))
    relatives = _relative(amps, np.broadcast_to(rounding, shape).ravel())
    keep = (amps >= least) & (relatives > 0)
    decade = np.where(np.isinf(amps), np.inf, np.floor(np.log10(np.where(keep, amps, 1.0))))
    groups = []
    for d in sorted(set(decade[keep].tolist()), reverse=True):
        mask = keep & (decade == d)
        found = prim.hazard(flat_ans[mask], *[f[mask] for f in flat_args])
        if found is None:
            continue
        worst = float(np.max(relatives[mask]))
        groups.append((float(found[0]), worst, found[1], np.where(mask, amps, 0.0).reshape(shape)))
    return groups
