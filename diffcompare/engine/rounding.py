"""Rounding on the tape: the first-order estimate of f's own rounding error, and the steps
that amplify rounding (the primitives' hazards), found in one walk for the blame and for
the long-double reference's note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from diffcompare.lang.primitives import PRIMITIVES

# The hazard rules give the worst amplification of a whole array; an element's own is found
# by bisection, at most this many calls per step (past it, a chunk keeps its chunk's worst).
BISECTIONS = 256


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


def hazards_of(
    engine,
    values: list,
    floor: float = 0.0,
    needs: list[bool] | None = None,
    derivative_only: bool = False,
) -> list[Hazard]:
    """Every hazardous step of engine's order (a primitive whose `hazard` is not None at
    `values`), grouped by the order of magnitude of each element's amplification; an
    element's relative error is its amplification × one rounding (ε). floor: elements whose
    relative error is below it are left out. needs: which nodes depend on a differentiated
    variable (a local-derivative hazard off every path is nobody's); derivative_only: only
    the hazards in a local-derivative rule."""
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
            rounding = np.asarray(eps)
            for amp, relative, why, amps in _groups(prim, whole, values[i], args, rounding, floor / eps):
                found.append(Hazard(i, amp, relative, why, amps, rounding))
    return found


def hazards(engine, inputs: dict[str, np.ndarray], derivative_only: bool = False) -> list[tuple[float, str]]:
    """(relative-error amplification, why) for each step that amplifies rounding, the largest
    first; derivative_only: just the steps whose local derivative rule loses digits."""
    values = engine.forward(inputs)
    found = hazards_of(engine, values, derivative_only=derivative_only)
    return sorted(((h.amplification, f"'{_step_text(engine, h.node)}': {h.why}") for h in found), reverse=True)


def rounding_estimate(engine, inputs: dict[str, np.ndarray]) -> float:
    """First-order estimate of the rounding error in f itself (Linnainmaa 1976,
    the first use of reverse mode): every operation's result v carries a
    relative error up to ε, which reaches f multiplied by its adjoint, so
    |δf| ≲ ε·Σ|v·v̄|. Never less than ε·|f|."""
    values = engine.forward(inputs)
    adjoints = engine.backward(values, list(inputs))
    total = abs(float(np.asarray(values[-1], dtype=np.float64)))
    with np.errstate(all="ignore"):
        for node, value, adjoint in zip(engine.order, values, adjoints):
            if adjoint is None or node.op == "var" or node.is_constant:
                continue
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
