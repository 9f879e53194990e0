"""The chain-rule engine: reverse mode over the IR, in NumPy, micrograd-sized.

Forward: every node's value in topological order. Backward: walk the order in
reverse, hand each node's adjoint to its operands through the primitive's VJP
rule, and accumulate with +=. The tape records every step so that a person can
follow the chain rule as the seed notebooks do by hand (σ(x) = s(c(b(a(x))))).
"""

from __future__ import annotations

import math
import time
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
        mask = np.asarray(p.kink(*operands), dtype=bool)
        if mask.any():
            found.append((node, mask, operands))
    return found


@dataclass
class TapeStep:
    step: int
    name: str
    operation: str
    value: np.ndarray
    local: list[tuple[str, np.ndarray]]  # (operand name, ∂step/∂operand)
    adjoint: np.ndarray | None  # ∂f/∂step; None where f does not depend on it

    # How a step reads as text: diffcompare.engine.tape (value_text, tape_table).


@dataclass
class Blame:
    """What the rounding at one hazardous step can do to each element of the gradient
    (ChainRule.blame). A step whose elements amplify by different orders of magnitude is
    one Blame per order of magnitude, each for its own elements of the step."""

    node: int  # the step's position in ChainRule.order
    step: str  # the step as written: its let name, or its text
    amplification: float  # the worst amplification of relative error among those elements
    why: str  # the primitive's words for it (Primitive.hazard)
    hazard_in: str  # "value" or "derivative" (Primitive.hazard_in)
    error: dict[str, np.ndarray]  # per wrt variable, its shape, float64: estimated absolute error

    def relative_error(self, eps: float) -> float:
        """The step's own relative error, amplification × ε, at most 1 (all digits lost)."""
        return min(self.amplification * eps, 1.0)


# The hazard rules give the worst amplification of a whole array; an element's own is found
# by bisection, at most this many calls per step (past it, a chunk keeps its chunk's worst).
BISECTIONS = 256


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

    def backward(self, values: list, wrt: list[str], start: int | None = None, seed=None) -> list:
        """Adjoints of every node (None where f does not depend on it).

        start, seed: a reverse pass begun at the node at position `start` of the order (by
        default the root) with `seed` as its adjoint (by default ones). Begun at a node with
        the adjoint the ordinary pass gives it, the adjoints are the parts of ∂f/∂node that
        flow through that node (`contributions`)."""
        slot = self.slot
        needs = self._needs_grad(wrt)
        start = len(self.order) - 1 if start is None else start
        adjoints: list = [None] * len(self.order)
        shape = np.shape(values[start])
        if seed is None:
            adjoints[start] = np.ones(shape, dtype=self.dtype)
        else:
            adjoints[start] = np.array(np.broadcast_to(np.asarray(seed, dtype=self.dtype), shape))
        with np.errstate(all="ignore"):
            for i in range(start, -1, -1):
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
        return self._grads(self.backward(values, wrt), inputs, wrt)

    def _grads(self, adjoints: list, inputs: dict[str, np.ndarray], wrt) -> dict[str, np.ndarray]:
        """The wrt variables' adjoints, zeros for a variable f does not depend on."""
        grads = {var: np.zeros(np.shape(inputs[var]), dtype=self.dtype) for var in wrt}
        for i, node in enumerate(self.order):
            if node.op == "var" and node.attr in grads and adjoints[i] is not None:
                grads[node.attr] = np.asarray(adjoints[i])
        return grads

    def contributions(
        self, inputs: dict[str, np.ndarray], wrt: list[str], node_index: int, seed=None
    ) -> dict[str, np.ndarray]:
        """The part of ∂f/∂var that flows through the node at node_index (its position in
        self.order), for each wrt var: a reverse pass begun at that node, seeded with the
        adjoint the ordinary backward pass gives it (or with `seed`, that adjoint weighted).
        Over a set of nodes that every path crosses once (a cut), they add up to the gradient."""
        values = self.forward(inputs)
        if seed is None:
            seed = self.backward(values, wrt)[node_index]
        if seed is None or not self._needs_grad(wrt)[node_index]:
            return self._grads([None] * len(self.order), inputs, wrt)
        return self._grads(self.backward(values, wrt, start=node_index, seed=seed), inputs, wrt)

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
                terms = np.abs(np.asarray(value, np.float64) * np.asarray(adjoint, np.float64))
                # Where the chain rule breaks (sqrt'(0) = inf), the tape says nothing of f's rounding.
                total += float(np.sum(terms[np.isfinite(terms)]))
        return float(np.finfo(self.dtype).eps) * total

    def kinks(self, inputs: dict[str, np.ndarray], wrt: list[str]) -> list[str]:
        """Non-smooth steps sitting exactly at a point where they are not
        differentiable (relu or abs at 0, min/max of equal arguments, clamp at a
        bound, where at the boundary of its condition), in operands that depend
        on a wrt variable. Judged in float64 values at the point."""
        values = self.forward(inputs)
        found = []
        for node, _, _ in kink_steps(self.order, self.slot, self._needs_grad(wrt), values):
            found.append(f"'{node.text}' is at {PRIMITIVES[node.op].kink_words}, where it is not differentiable")
        return found

    def undefined_at(self, inputs: dict[str, np.ndarray], wrt: list[str] | None = None) -> str:
        """The first step whose value, or local derivative in an operand that depends on a
        wrt variable (all variables when None), is not finite, in words. A derivative in
        data (d/dk of x**k, k not differentiated) is asked by nobody and never named."""
        wrt = [n.attr for n in self.order if n.op == "var"] if wrt is None else list(wrt)
        needs = self._needs_grad(wrt)
        values = self.forward(inputs)
        steps = iter(self.tape(inputs, wrt))  # one step per node that is not a constant, in order
        for i, node in enumerate(self.order):
            if node.is_constant:
                continue
            step = next(steps)
            if node.op == "var":
                continue
            what = f"{step.name} = {step.operation}" if step.name != f"t{step.step}" else step.operation
            if not np.all(np.isfinite(step.value)):
                return f"{what} is {_describe(step.value)}"
            args = [values[self.slot[id(a)]] for a in node.args]
            ones = np.ones_like(values[i], dtype=self.dtype)
            for k, arg in enumerate(node.args):
                if arg.is_constant or not needs[self.slot[id(arg)]]:
                    continue
                with np.errstate(all="ignore"):
                    d = self._local_vjp(node, k, ones, values[i], args)
                if d is not None and not np.all(np.isfinite(d)):
                    operand = (
                        step.operation[step.operation.index("(") + 1 : -1].split(", ")[k]
                        if "(" in step.operation
                        else arg.text
                    )
                    return f"the derivative of {what} in {operand} is {_describe(d)}"
        return ""

    def _forward_with(self, values: list, node_index: int, value) -> list:
        """The forward pass again with the node at node_index given `value`."""
        values = list(values)
        values[node_index] = value
        with np.errstate(all="ignore"):
            for i, fn, args in self.program.steps:
                if i > node_index:
                    values[i] = fn(*[values[a] for a in args])
        return values

    def blame(
        self,
        point: dict[str, np.ndarray],
        wrt: list[str],
        floor: float = 0.0,
        wide=np.longdouble,
        limit: int = 16,
        work: float = 5e7,
        seconds: float | None = None,
    ) -> list[Blame]:
        """For each hazardous step (a primitive whose `hazard` is not None at the point), the
        absolute error its rounding in this engine's dtype can put in each gradient element.

        point: the problem's point (float64); the hazards are judged at it in this dtype,
        the gradient's response in `wide` (long double), where the steps that lose digits
        here keep them: the element's error bound is ρ = min(amplification × ε, 1), the
        step's relative error, carried to the gradient two ways:
        - a hazard in the local derivative (σ(1-σ)): every path through the step is scaled
          by it, so the element's error is ρ × the part of ∂f/∂x that flows through the
          step, a reverse pass begun at the step (`contributions`), its adjoint weighted;
        - a hazard in the value (a - b cancels, exp overflows): the value v is off by up to
          δ = amplification × ε × |v| in this dtype (for a - b: ε(|a| + |b|), which can be far
          more than v itself), or by what it is off here against the wide pass, if that is
          more (an a - b that is exactly 0 here: its amplification is infinite, its error the
          wide value). That moves every local derivative computed from v, whether or not x's
          adjoint path crosses the step (∂(x·(y-1))/∂x is y - 1): the element's error is how far
          the wide gradient moves when v is set to v ± δ, the larger of the two; a gradient
          made not finite by it (exp overflowed here) is an error of inf.
        The amplification is per element of the step, so a step only one element of which lost
        its digits blames only the gradient elements that element reaches; an exactly-0 step
        with nothing reaching an element puts 0 there, never NaN.

        floor: steps whose ρ is below it are left out; limit: the most steps (by
        amplification) analysed; work: a bound on the element-passes spent (every node's
        elements, once per pass): past it, and past `seconds`, no more steps are analysed
        (a problem too large for the three passes alone gets none). Sorted by amplification,
        largest first."""
        wrt = list(wrt)
        deadline = None if seconds is None else time.monotonic() + seconds
        cost = float(sum(max(1, math.prod(n.shape)) for n in self.order))
        spent = 3 * cost  # this forward pass, and the wide one forward and backward
        if spent + cost > work:  # not even one step could be analysed
            return []
        eps = float(np.finfo(self.dtype).eps)
        values = self.forward(point_in(point, self.dtype))
        needs = self._needs_grad(wrt)
        slot = self.slot
        steps = []
        with np.errstate(all="ignore"):
            for i, node in enumerate(self.order):
                prim = PRIMITIVES.get(node.op)
                if node.is_constant or prim is None or prim.hazard is None:
                    continue
                if prim.hazard_in == "derivative" and not needs[i]:
                    continue  # its local derivative is on no path to a wrt variable
                args = [values[slot[id(a)]] for a in node.args]
                for amp, why, weight in _hazard_groups(prim, values[i], args, eps, floor):
                    steps.append((amp, i, why, weight, prim.hazard_in))
        if not steps:
            return []
        steps.sort(key=lambda s: -s[0])
        paths = self if np.dtype(wide) == self.dtype else ChainRule(self.program.root, wide)
        inputs = point_in(point, paths.dtype)
        base = paths.forward(inputs)
        adjoints = paths.backward(base, wrt)
        grads = paths._grads(adjoints, inputs, wrt)
        known = {var: np.isfinite(g) for var, g in grads.items()}
        blames = []
        for amp, i, why, amps, hazard_in in steps[:limit]:
            spent += cost if hazard_in == "derivative" else 4 * cost
            if spent > work or (deadline is not None and time.monotonic() > deadline):
                break
            with np.errstate(all="ignore"):
                if hazard_in == "derivative":
                    if adjoints[i] is None:
                        continue
                    weight = np.asarray(np.minimum(amps * eps, 1.0), dtype=paths.dtype)
                    seed = np.where(weight != 0, adjoints[i] * weight, 0)
                    moved = paths._grads(paths.backward(base, wrt, start=i, seed=seed), inputs, wrt)
                    error = {var: np.abs(moved[var]) for var in wrt}
                    error = {var: np.where(np.isfinite(e), e, 0) for var, e in error.items()}
                else:
                    v = np.asarray(base[i], dtype=paths.dtype)
                    here = np.asarray(values[i], dtype=paths.dtype)
                    bound = np.nan_to_num(amps * eps * np.abs(here.astype(np.float64)), nan=0.0, posinf=np.inf)
                    seen = np.nan_to_num(np.abs(here - v), nan=0.0, posinf=np.inf)
                    off = np.where(amps > 0, np.maximum(np.asarray(bound, paths.dtype), seen), 0)
                    error = {var: np.zeros(np.shape(g)) for var, g in grads.items()}
                    for sign in (1, -1):
                        moved_value = np.asarray(v + sign * off, dtype=paths.dtype)
                        moved_value = moved_value[()] if moved_value.ndim == 0 else moved_value
                        moved_values = paths._forward_with(base, i, moved_value)
                        moved = paths._grads(paths.backward(moved_values, wrt), inputs, wrt)
                        for var in wrt:
                            e = np.abs(moved[var] - grads[var])
                            error[var] = np.maximum(error[var], np.where(np.isfinite(e), e, np.inf))
            error = {
                var: np.where(known[var], np.asarray(e, dtype=np.float64), 0.0).reshape(np.shape(grads[var]))
                for var, e in error.items()
            }
            node = self.order[i]
            blames.append(Blame(i, node.label or node.text, amp, why, hazard_in, error))
        return blames

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


def _hazard_groups(prim, ans, args: list, eps: float, floor: float) -> list[tuple[float, str, object]]:
    """A hazardous step's elements, grouped by the order of magnitude of their amplification:
    (the group's worst amplification, its words, amps): amps is each element's amplification,
    0 outside the group (one number for a scalar step, or for a step that is not elementwise).
    Elements whose relative error, amplification × ε, is below floor are left out."""
    whole = prim.hazard(ans, *args)
    if whole is None:
        return []
    amp, why = float(whole[0]), whole[1]
    if amp * eps < floor:  # NaN goes on: an element that is NaN hides the others' amplification
        return []
    size = int(np.size(ans))
    if size == 1 or prim.kind != "elementwise":
        return [] if math.isnan(amp) else [(amp, why, amp)]
    shape = np.shape(ans)
    flat_ans = np.asarray(ans).ravel()
    flat_args = [np.broadcast_to(np.asarray(a), shape).ravel() for a in args]
    amps = np.zeros(size)
    stack, calls = [(0, size, amp)], 0
    while stack:
        lo, hi, a = stack.pop()
        if hi - lo == 1 or calls >= BISECTIONS or a * eps < floor:
            amps[lo:hi] = 0.0 if math.isnan(a) else a
            continue
        mid = (lo + hi) // 2
        for part in (slice(lo, mid), slice(mid, hi)):
            found = prim.hazard(flat_ans[part], *[f[part] for f in flat_args])
            calls += 1
            stack.append((part.start, part.stop, 0.0 if found is None else float(found[0])))
    keep = amps * eps >= floor
    keep &= amps > 0
    decade = np.where(np.isinf(amps), np.inf, np.floor(np.log10(np.where(keep, amps, 1.0))))
    groups = []
    for d in sorted(set(decade[keep].tolist()), reverse=True):
        mask = keep & (decade == d)
        found = prim.hazard(flat_ans[mask], *[f[mask] for f in flat_args])
        if found is None:
            continue
        groups.append((float(found[0]), found[1], np.where(mask, amps, 0.0).reshape(shape)))
    return groups
