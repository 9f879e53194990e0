"""f's one-sided derivatives in one element of a differentiated variable.

Along the ray x + s·e (e: the element's unit vector, or its negative; s > 0),
f(x + s·e) = f(x) + T·s + o(s) defines T: the right derivative for +e, minus the left one
for -e. T is found in one of two ways, the first wherever it decides.

1. The one-sided chain rule, exact. A forward pass carries each step's slope along the
   ray, from the exact node values at the working precision:
   - a step differentiable at its operands: Σ ∂step/∂operand · the operand's slope (each
     primitive's local derivatives from its SymPy meaning, as in exact.mpchain), once the
     step is seen to be defined a hair further along the ray;
   - a non-smooth step on its kink, by its own one-sided rule, exact since the step is
     piecewise linear: |t| for abs at 0, max(t, 0) for relu, max(ta, tb) at a tie of max
     ...; a where on its condition's boundary takes the branch the condition's slopes
     choose on the ray, if that branch meets the value at the point;
   - a step whose local derivative is infinite where its operand moves (sqrt at 0, slope
     t ≠ 0): slope ±∞, when that derivative grows on that side from a hair to half a hair
     away (an elementary function's singularity has no scale of its own); ±∞ travels on
     through steps of finite nonzero derivative.
   This is the chain rule of directional derivatives: if u(s) = u0 + t·s + o(s) and φ is
   differentiable at u0, φ(u(s)) = φ(u0) + φ'(u0)·t·s + o(s); a piecewise-linear step is
   its own first-order model at its kink; a continuous φ whose derivative grows without
   bound towards u0 turns t ≠ 0 into an infinite slope (mean value theorem). f is never
   evaluated at a step h, so a kink of slope 10^1000 is as exact as one of slope 1. Where
   the rule cannot decide, the slope is NaN: 0·∞ (a singular step whose operand does not
   move to first order: sqrt(x²), the cone sqrt(Σx²)), ∞ − ∞, a where whose branches do
   not meet, a tie its slopes do not break, a step undefined on that side.

2. Difference quotients, where 1 cannot decide: D(h) = (f(x + h·e) − f(x))/h at steps
   h = 2^-p·max(1, |x|), p in STEPS (80, 100, 120, then half as many bits again each time,
   to 2^-1365), at a precision that grows with p so that f(x + h) − f(x) loses nothing.
   A steep kink g(C·|x|) has D(h) ≈ C only for h ≪ 1/C; above that D grows like 1/h, as
   at an infinite side. So growth never ends the walk: a side is finite when two
   successive Richardson estimates (exact for D = d + c·h) agree to SETTLED, which happens
   once the steps are inside the kink's linear regime, at whatever scale that is; it is
   infinite when |D| grows, with one sign, by GROWTH at each of the last TREND steps down
   to 2^-1365; 0 when it shrinks so; otherwise it has no limit. Those messages show the
   quotients they rest on. What no finite set of quotients can tell apart, 2 cannot: a
   kink steeper than 2^1365 behind a singular step reads as infinite, and a quotient
   that settles and departs again below 2^-1365 is not seen.

So steep and infinite are told apart by what makes a slope infinite, not by its size: in
1 only a step whose own derivative is infinite there, never a product of large finite
ones; in 2 only growth that lasts through every step to 2^-1365.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import mpmath
import numpy as np

from diffcompare.exact.mpchain import NAN, REDUCTIONS, _apply, _compiled, is_finite
from diffcompare.exact.numeric import object_array
from diffcompare.lang.ir import axis_keyword
from diffcompare.lang.primitives import PRIMITIVES


def _steps() -> tuple[int, ...]:
    steps = [80, 100, 120]
    while steps[-1] < 1280:
        steps.append(steps[-1] + steps[-1] // 2)
    return tuple(steps)


STEPS = _steps()  # the difference quotients' steps, 2^-p · max(1, |x|)
SETTLED = mpmath.mpf(10) ** -24  # relative agreement of two Richardson estimates
EQUAL_SIDES = mpmath.mpf(10) ** -20  # relative: sides closer than this are one derivative
TREND = 4  # the last quotients whose trend decides a side that never settled
GROWTH = mpmath.mpf(5) / 4  # the factor per step of a growing (or shrinking) quotient
ZERO, ONE = mpmath.mpf(0), mpmath.mpf(1)
JUMP_AGREES = mpmath.mpf(10) ** -12  # relative: f's rise over three steps that is one number is a jump
COMPARISONS = {name for name, p in PRIMITIVES.items() if p.kind == "compare"}


@dataclass
class Side:
    value: object = None  # mpf: the one-sided derivative, where it exists
    why: str = ""  # where it does not: "is infinite", "has no limit", "does not exist ..."


def equal(left, right) -> bool:
    return left == right or abs(left - right) <= EQUAL_SIDES * max(abs(left), abs(right))


def _richardson(d1, d2, h1, h2):
    """The limit of D(h) = c + k·h from two steps: exact for the linear term."""
    return (d2 * h1 - d1 * h2) / (h1 - h2)


def _is_nan(value) -> bool:
    return isinstance(value, mpmath.mpf) and bool(mpmath.isnan(value))


def _or_zero(slope):
    return ZERO if slope is None else slope


def _max(a, b):
    return NAN if _is_nan(a) or _is_nan(b) else max(a, b)


def _min(a, b):
    return NAN if _is_nan(a) or _is_nan(b) else min(a, b)


def _tie(pick):
    """The slope of max (pick = _max) or min of two operands: the chosen one's, both's at a tie."""

    def slope(a, b, ta, tb):
        if ta is None and tb is None:
            return None
        if not (is_finite(a) and is_finite(b)):
            return NAN
        ta, tb = _or_zero(ta), _or_zero(tb)
        if a == b:
            return pick(ta, tb)
        return ta if pick(a, b) == a else tb

    return slope


def _abs(u, t):
    if t is None:
        return None
    if not is_finite(u):
        return NAN
    return t if u > 0 else -t if u < 0 else abs(t)


def _relu(u, t):
    return None if t is None else _tie(_max)(u, ZERO, t, None)


def _clamp(u, lo, hi, tu, tlo, thi):
    low = _tie(_max)(u, lo, tu, tlo)
    return _tie(_min)(max(u, lo), hi, low, thi)


def _extreme_slope(pick, x, slope, axis):
    """The slope of max(x) (pick = _max) or min(x) of one array along a ray, fiber by fiber
    (every element where there is no axis=): the extreme element's slope, and at a tie the
    largest (max) or smallest (min) of the tied elements' slopes: one side of the kink."""
    if slope is None:
        return None
    x = np.asarray(x, dtype=object)
    axis = tuple(range(x.ndim)) if axis is None else axis
    last = tuple(range(x.ndim - len(axis), x.ndim))
    lead = np.moveaxis(x, axis, last).shape[: x.ndim - len(axis)]
    rows = np.moveaxis(x, axis, last).reshape(lead + (-1,))
    tilts = np.moveaxis(np.broadcast_to(np.asarray(slope, dtype=object), x.shape), axis, last).reshape(rows.shape)
    out = np.empty(lead, dtype=object)
    for index in np.ndindex(lead):
        row, tilt = list(rows[index]), list(tilts[index])
        if all(t is None for t in tilt):
            out[index] = None
            continue
        if not all(is_finite(v) for v in row):
            out[index] = NAN
            continue
        top = max(row) if pick is _max else min(row)
        best = None
        for v, t in zip(row, tilt):
            if v == top:
                t = _or_zero(t)
                best = t if best is None else pick(best, t)
        out[index] = best
    return out


def _norm_at_zero(out, ans, x, slope, axis) -> None:
    """norm at 0 is the cone's kink: its local derivative x/‖x‖ is 0/0, but norm is positively
    homogeneous and Lipschitz, so along a ray it is s·‖t‖ + o(s), t the operand's slope: exact,
    as |t| is for abs. Fibers where the norm is 0 get ‖t‖ (in place); the others keep the chain
    rule's slope. Without it the cone's slope is NaN and f's difference quotients, one
    element at a time, decide: minutes for cos(norm(x)) at 0 with hundreds of elements."""
    if slope is None:
        return
    values = object_array(ans)
    if not any(v == 0 for v in values.ravel()):
        return
    tilt = np.broadcast_to(np.asarray(slope, dtype=object), np.shape(x))
    squares = np.vectorize(lambda t: ZERO if t is None else t * t, otypes=[object])(tilt)
    sums = object_array(np.sum(squares, axis=axis) if axis is not None else np.sum(squares.ravel()))
    for index in np.ndindex(values.shape):
        if values[index] == 0:
            out[index] = mpmath.sqrt(sums[index])


EXTREMES = {"amax": _max, "amin": _min}
PIECEWISE = {"abs": _abs, "relu": _relu, "max": _tie(_max), "min": _tie(_min), "clamp": _clamp}


def _where(relation, c, a, b, p, q, ta, tb, tp, tq):
    """where(c, a, b)'s slope; p, q, tp, tq: the condition's operands and their slopes (None
    where the condition is no comparison). On its boundary (p = q) the ray takes the branch
    the condition picks for p + tp·s, q + tq·s: defined only where the slopes differ and
    that branch meets the value at the point (else f may jump there)."""
    if p is not None and p == q and (tp is not None or tq is not None):
        gap = _or_zero(tp) - _or_zero(tq)
        if _is_nan(gap) or gap == 0:
            return NAN
        ahead = bool(relation(gap, ZERO))
        if (a if ahead else b) != (a if c else b):
            return NAN
        return _or_zero(ta if ahead else tb)
    return ta if c else tb


def _filled(slope, like) -> np.ndarray:
    """A slope array with its None (no dependence) as 0, in the shape of the value `like`."""
    if slope is None:
        return np.full(np.shape(like), ZERO, dtype=object)
    return np.vectorize(_or_zero, otypes=[object])(slope)


def _depends(slope, like) -> np.ndarray:
    if slope is None:
        return np.zeros(np.shape(like), dtype=np.int64)
    return np.vectorize(lambda s: s is not None, otypes=[np.int64])(slope)


class Slopes:
    """The one-sided chain rule: every node's slope along a ray, from exact node values."""

    def __init__(self, engine, values: list, digits: int, deadline=None):
        self.engine = engine
        self.values = values
        self.digits = digits
        self.deadline = deadline
        self.jumped: set[int] = set()  # the steps seen to jump along a ray (Primitive.jump)
        self.locals: dict[tuple[int, int], np.ndarray] = {}  # a reduction's local derivatives, per step and operand

    def along(self, var: str, index: tuple, sign: int) -> list:
        """Each node's slope along x + s·sign·e (object arrays: mpf, ±inf, NaN where the rule
        cannot decide, None where the node does not depend on the element), in node order."""
        order, slot, values = self.engine.order, self.engine.slot, self.values
        slopes: list = [None] * len(order)
        with mpmath.workdps(self.digits):
            for i, node in enumerate(order):
                if node.is_constant:
                    continue
                if node.op == "var":
                    if node.attr == var:
                        slopes[i] = np.full(np.shape(values[i]), None, dtype=object)
                        slopes[i][index] = mpmath.mpf(sign)
                    continue
                if self.deadline is not None:
                    self.deadline.check()
                args = [values[slot[id(a)]] for a in node.args]
                given = [slopes[slot[id(a)]] for a in node.args]
                if node.op == "where":
                    slopes[i] = self._where(node, args, given, slopes)
                elif all(s is None for s in given) or node.op in COMPARISONS:
                    continue  # a comparison's slope is its where's business
                elif node.op == "index":
                    slopes[i] = object_array(given[0][node.attr])
                elif node.op == "matmul":
                    slopes[i] = self._matmul(args, given)
                elif PRIMITIVES[node.op].kind == "array":
                    slopes[i] = _structural(node, args, given)
                elif node.op in EXTREMES:
                    slopes[i] = _extreme_slope(EXTREMES[node.op], args[0], given[0], node.attr)
                elif node.op in REDUCTIONS:
                    slopes[i] = self._reduction(node, values[i], args, given)
                elif node.op in PIECEWISE:
                    slopes[i] = _apply(PIECEWISE[node.op], [*args, *given], self.deadline)
                elif PRIMITIVES[node.op].jump:
                    arity = len(args)
                    slopes[i] = _apply(
                        lambda *a, _node=node: self._jump(_node, list(a[:arity]), list(a[arity:])),
                        [*args, *given],
                        self.deadline,
                    )
                else:
                    arity = len(args)
                    slopes[i] = _apply(
                        lambda *a: self._smooth(node.op, list(a[:arity]), list(a[arity:])),
                        [*args, *given],
                        self.deadline,
                    )
        return slopes

    def _where(self, node, args, given, slopes):
        cond = node.args[0]
        if cond.op in COMPARISONS:
            operands = [self.values[self.engine.slot[id(a)]] for a in cond.args]
            tilts = [slopes[self.engine.slot[id(a)]] for a in cond.args]
        else:
            operands, tilts = [None, None], [None, None]
        if all(s is None for s in [*given[1:], *tilts]):
            return None
        relation = PRIMITIVES[cond.op].operator if cond.op in COMPARISONS else None
        return _apply(partial(_where, relation), [*args, *operands, *given[1:], *tilts], self.deadline)

    def _smooth(self, op: str, args: list, given: list):
        moving = [k for k, s in enumerate(given) if s is not None]
        if not moving:
            return None
        total = ZERO
        for k in moving:
            local = _compiled(op, k, self.digits)(*args)
            if not is_finite(local):
                local = self._singular(op, k, args, given[k])
            total += local * given[k]
        if not _is_nan(total) and not self._defined_ahead(op, args, given, moving):
            return NAN
        return total

    def _jump(self, node, args: list, given: list):
        """A step declared with jumps (floor, sign, a % b, atan2's cut): off its jump, the chain
        rule; on it, the chain rule where the step is continuous along the ray (floor at 2
        going up), NaN where it jumps a hair along (floor at 2 going down), so that f's own
        difference quotients decide: f may jump there, or its jumps may cancel."""
        p = PRIMITIVES[node.op]
        if not bool(np.all(p.kink(*args))):
            return self._smooth(node.op, args, given)
        moving = [k for k, s in enumerate(given) if s is not None]
        if not moving:
            return None
        slopes = [_or_zero(s) for s in given]
        if any(_is_nan(s) for s in slopes):
            return NAN
        largest = max(abs(s) for s in slopes)
        if largest == 0:
            return NAN  # the operands do not move to first order: which side they reach is unknown
        way = [mpmath.sign(s) if mpmath.isinf(largest) else s / largest for s in slopes]
        forward = _compiled(node.op, -1, self.digits)
        depth = mpmath.mp.prec // 2
        here = forward(*args)
        ahead = forward(*[self._nudged(a, w, depth) for a, w in zip(args, way)])
        if not (is_finite(here) and is_finite(ahead)):
            return NAN
        if abs(ahead - here) > mpmath.ldexp(max(ONE, abs(here)), -depth // 2):
            self.jumped.add(id(node))
            return NAN
        return self._smooth(node.op, args, given)

    def _nudged(self, value, direction, bits: int):
        return value + direction * mpmath.ldexp(max(ONE, abs(value)), -bits)

    def _singular(self, op: str, k: int, args: list, slope):
        """∂step/∂operand k where it is not finite at the operands: ±∞ where it grows without
        bound as operand k comes to its value from the side its slope moves it from (sqrt at
        0 from above), NaN otherwise (0/0: the cone's norm at 0)."""
        if _is_nan(slope) or slope == 0:
            return NAN
        bits = mpmath.mp.prec
        rule = _compiled(op, k, self.digits)
        probes = []
        for depth in (bits // 4, bits // 2):
            moved = list(args)
            moved[k] = self._nudged(args[k], mpmath.sign(slope), depth)
            probes.append(rule(*moved))
        near, nearer = probes
        if is_finite(near) and is_finite(nearer) and near * nearer > 0 and abs(nearer) >= 2 * abs(near):
            return mpmath.sign(nearer) * mpmath.inf
        return NAN

    def _defined_ahead(self, op: str, args: list, given: list, moving: list) -> bool:
        """The step is a finite real number a hair along the ray: a finite derivative at the
        edge of a step's domain (x ** 1.5 at 0) says nothing of the side outside it. Where
        no operand moves to first order, both ways are tried."""
        forward = _compiled(op, -1, self.digits)
        slopes = [_or_zero(s) for s in given]
        largest = max(abs(slopes[k]) for k in moving)
        if largest == 0:
            ways = [[ONE if k in moving else ZERO for k in range(len(args))]]
            ways.append([-w for w in ways[0]])
        elif mpmath.isinf(largest):
            ways = [[mpmath.sign(s) if mpmath.isinf(s) else ZERO for s in slopes]]
        else:
            ways = [[s / largest for s in slopes]]
        depth = mpmath.mp.prec // 2
        return all(is_finite(forward(*[self._nudged(a, w, depth) for a, w in zip(args, way)])) for way in ways)

    def _reduction(self, node, ans, args: list, given: list):
        """A smooth reduction's slope: its local derivatives (the VJP of ones) times the
        operands' slopes, summed over each fiber (every element where there is no axis=)."""
        axis = node.attr
        total, moved = None, None
        # The local derivatives are the same along every ray: computed once per step and operand
        # (233 elements asked it 466 times over, 12 of the exact side's 15 s at cos(norm(x)) at 0).
        cache = self.locals
        for k, slope in enumerate(given):
            if slope is None:
                continue
            if (id(node), k) not in cache:
                ones = np.full(np.shape(ans), ONE, dtype=object)
                vjp = REDUCTIONS[node.op][1][k]
                cache[(id(node), k)] = np.asarray(vjp(ones, ans, *args, **axis_keyword(node)), dtype=object)
            local = cache[(id(node), k)]
            slope = np.broadcast_to(np.asarray(slope, dtype=object), local.shape)
            parts = np.empty(local.shape, dtype=object)
            for index in np.ndindex(local.shape):
                s = slope[index]
                part = local[index]
                parts[index] = ZERO if s is None else (part if is_finite(part) else NAN) * s
            here = np.sum(parts, axis=axis) if axis is not None else np.sum(parts.ravel()) if parts.size else ZERO
            reached = np.vectorize(lambda v: v is not None, otypes=[bool])(slope) if slope.size else np.zeros(0, bool)
            reached = np.any(reached, axis=axis) if axis is not None else np.any(reached)
            total = here if total is None else total + here
            moved = reached if moved is None else moved | reached
        if total is None or not np.any(moved):
            return None
        out = object_array(total)
        if node.op == "norm":
            _norm_at_zero(out, ans, args[0], given[0], axis)
        if out.ndim:
            out[~np.asarray(moved)] = None
        return out

    def _matmul(self, args: list, given: list):
        (a, b), (ta, tb) = args, given
        total = object_array(np.matmul(_filled(ta, a), b) + np.matmul(a, _filled(tb, b)))
        reach = np.matmul(_depends(ta, a), np.ones(np.shape(b), np.int64))
        reach = reach + np.matmul(np.ones(np.shape(a), np.int64), _depends(tb, b))
        total[np.asarray(reach) == 0] = None
        return total


def _structural(node, args: list, given: list):
    """An array-building step's slope: the step itself on its operands' slopes (it is linear;
    None where no depending element lands), outer's by the product rule."""
    p, params = PRIMITIVES[node.op], axis_keyword(node)
    if p.jvp is not None:  # softmax, log_softmax: their JVP; an element moves where its fiber does
        (x,), (t,) = args, given
        ans = np.asarray(p.forward(x, **params), dtype=object)
        total = object_array(np.asarray(p.jvp(_filled(t, x), ans, x, **params), dtype=object))
        reach = np.broadcast_to(np.sum(_depends(t, x), axis=params["axis"], keepdims=True), np.shape(x))
        total[np.asarray(reach) == 0] = None
        return total
    if not p.linear:
        (a, b), (ta, tb) = args, given
        total = object_array(p.forward(_filled(ta, a), b, **params) + p.forward(a, _filled(tb, b), **params))
        reach = p.forward(_depends(ta, a), np.ones(np.shape(b), np.int64), **params)
        reach = reach + p.forward(np.ones(np.shape(a), np.int64), _depends(tb, b), **params)
        total[np.asarray(reach) == 0] = None
        return total
    # Linear: the step on the slopes (None as 0), and None again where no depending element
    # lands (the step on the masks of dependence): exact for steps that move elements (stack,
    # roll, tril) and for those that sum them (cumsum).
    total = p.forward(*(_filled(t, a) for t, a in zip(given, args)), **params)
    total = object_array(np.asarray(total, dtype=object))
    reach = p.forward(*(_depends(t, a) for t, a in zip(given, args)), **params)
    total[np.asarray(reach) == 0] = None
    return total


class OneSided:
    """f's one-sided derivatives in single elements: by the one-sided chain rule where it
    decides, else by difference quotients walked down to the kink's own scale."""

    def __init__(self, engine, point: dict, values: list, digits: int, deadline=None):
        self.engine = engine
        self.point = point
        self.digits = digits
        self.deadline = deadline
        self.slopes = Slopes(engine, values, digits, deadline)
        self.kinks = engine.kinks(values)
        self._f0: dict[int, object] = {}

    def sides(self, var: str, index: tuple) -> tuple[Side, Side, list]:
        """(left, right, the kink steps whose own one-sided derivatives in this element differ)."""
        self.slopes.jumped = set()
        ahead = self.slopes.along(var, index, 1)
        back = self.slopes.along(var, index, -1)
        kinked = [
            node
            for node, mask, _ in self.kinks
            if id(node) in self.slopes.jumped or self._kinks_along(node, mask, ahead, back)
        ]
        right = self._side(ahead, var, index, 1)
        left = self._side(back, var, index, -1)
        return left, right, kinked

    def _kinks_along(self, node, mask, ahead, back) -> bool:
        """The step's own one-sided derivatives in this element differ somewhere on its kink:
        abs(x) does in x, abs(x ** 2) does not (both are 0), nor does abs(y) (it has none)."""
        i = self.engine.slot[id(node)]
        if ahead[i] is None or back[i] is None:
            return False
        if PRIMITIVES[node.op].kind == "reduction":  # max(x): its operand's tied elements, by fiber
            mask = np.any(mask, axis=node.attr)
        mask = np.broadcast_to(mask, np.shape(ahead[i]))
        for index in zip(*np.nonzero(mask)) if mask.ndim else [()]:
            right, back_slope = ahead[i][index], back[i][index]
            if right is None or back_slope is None or _is_nan(right) or _is_nan(back_slope):
                continue  # not on this element's path, or not known: never named on a guess
            with mpmath.workdps(self.digits):
                left = -back_slope
            infinite = mpmath.isinf(right) or mpmath.isinf(left)
            if (right != left) if infinite else not equal(right, left):
                return True
        return False

    def _side(self, slopes: list, var: str, index: tuple, sign: int) -> Side:
        t = slopes[-1][()] if slopes[-1] is not None else None
        if t is None:
            return Side(ZERO)  # f does not depend on this element at all
        if is_finite(t):
            with mpmath.workdps(self.digits):  # mpmath rounds even a negation to the precision in force
                return Side(sign * t)
        if mpmath.isinf(t):
            steep = next(n for n, s in zip(self.engine.order, slopes) if s is not None and _has_infinity(s))
            return Side(why=f"is infinite (so is the slope of '{steep.text}' on that side)")
        return self._walk(var, index, sign)

    def _f(self, digits: int):
        if digits not in self._f0:
            self._f0[digits] = self.engine.value(self.point, digits, self.deadline)
        return self._f0[digits]

    def _walk(self, var: str, index: tuple, sign: int) -> Side:
        """The side from difference quotients at shrinking steps (module docstring, 2)."""
        x = self.point[var][index]
        steps, quotients, rises = [], [], []
        for p in STEPS:
            # p more bits for x + h, rounded up so that few precisions (and compiled plans) are used.
            digits = self.digits + 16 * math.ceil((p * math.log10(2) + 4) / 16)
            with mpmath.workdps(digits):
                h = sign * mpmath.ldexp(max(ONE, abs(x)), -p)
                shifted = dict(self.point)
                shifted[var] = self.point[var].copy()
                shifted[var][index] = x + h
                value = self.engine.value(shifted, digits, self.deadline)
                if not is_finite(value):
                    return Side(why="does not exist (f is not a finite real number on that side)")
                rises.append(value - self._f(digits))
                quotients.append(rises[-1] / h)
                steps.append(h)
                if _jumps(rises):
                    return Side(
                        why=f"does not exist: f jumps by {mpmath.nstr(rises[-1], 6)} on that side "
                        f"(f(x {'+' if sign > 0 else '−'} h) − f(x) stays {mpmath.nstr(rises[-1], 6)} down to h = 2^-{p}), "
                        "so f is not continuous here"
                    )
                if len(quotients) >= 3:
                    d1, d2, d3 = quotients[-3:]
                    if d1 == d2 == d3:
                        return Side(d3)
                    early = _richardson(d1, d2, steps[-3], steps[-2])
                    late = _richardson(d2, d3, steps[-2], steps[-1])
                    if abs(early - late) <= SETTLED * max(abs(early), abs(late)):
                        return Side(late)
        return _trend(quotients)


def _jumps(rises: list) -> bool:
    """f(x + h) − f(x) stays one nonzero number (to JUMP_AGREES) at three steps, each 2^20 or
    more smaller than the last: f jumps there; a continuous f's rise shrinks with h (a steep
    kink's by 2^20, log1p(C·|u|)'s by log 2^20, an infinite slope's like a power of h)."""
    if len(rises) < 3:
        return False
    last = rises[-3:]
    size = max(abs(r) for r in last)
    if size == 0 or not all(r > 0 for r in last) and not all(r < 0 for r in last):
        return False
    return all(abs(r - last[-1]) <= JUMP_AGREES * size for r in last)


def _has_infinity(slopes: np.ndarray) -> bool:
    return any(isinstance(s, mpmath.mpf) and mpmath.isinf(s) for s in np.asarray(slopes, dtype=object).ravel())


def _trend(quotients: list) -> Side:
    """A side whose quotients never settled: infinite, 0, or without a limit, by the trend
    of the last TREND of them (module docstring, 2)."""
    last = quotients[-TREND:]
    sizes = [abs(d) for d in last]
    shown = ", ".join(mpmath.nstr(d, 3) for d in last)
    one_sign = all(d > 0 for d in last) or all(d < 0 for d in last)
    if one_sign and all(b >= GROWTH * a for a, b in zip(sizes, sizes[1:])):
        return Side(why=f"is infinite (its difference quotients grow at every step down to 2^-{STEPS[-1]}: {shown})")
    if all(b * GROWTH <= a for a, b in zip(sizes, sizes[1:])):
        return Side(ZERO)  # shrinks like a power of h: a flat side (x·|x|^½ at 0)
    return Side(why=f"has no limit (its difference quotients down to 2^-{STEPS[-1]} do not settle: {shown})")
