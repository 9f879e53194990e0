"""The chain-rule engine: reverse mode over the IR, in NumPy, micrograd-sized, and forward
mode beside it (engine.forward).

Forward: every node's value in topological order. Backward: walk the order in
reverse, hand each node's adjoint to its operands through the primitive's VJP
rule, and accumulate with +=. The tape records every step so that a person can
follow the chain rule as the seed notebooks do by hand (σ(x) = s(c(b(a(x))))).
The reverse pass is seeded at f with a cotangent u of f's shape (ones for a scalar f's
gradient): it gives uᵀ·J (vjp), and the Jacobian's rows one one-hot u at a time; forward
mode gives J·v and the Jacobian's columns (engine.forward).

The analyses of a pass live beside it and are reached from here: the tape
(engine.tape), kinks and undefined steps (engine.singular_steps), the rounding
estimate and hazards (engine.rounding), and the blame of a lost digit
(engine.blame); their public names are importable from this module too.
"""

from __future__ import annotations

import numpy as np

from diffcompare.engine import blame as _blame
from diffcompare.engine import forward as _forward
from diffcompare.engine import rounding, singular_steps
from diffcompare.engine import tape as _tape
from diffcompare.engine.blame import Blame
from diffcompare.engine.singular_steps import kink_steps, undefined_at
from diffcompare.engine.tape import TapeStep
from diffcompare.lang.ir import Node, axis_keyword
from diffcompare.lang.primitives import PRIMITIVES
from diffcompare.lang.program import Program

__all__ = [
    "NUMPY_OPS",
    "Blame",
    "ChainRule",
    "TapeStep",
    "kink_steps",
    "numpy_constant",
    "numpy_program",
    "point_in",
    "unbroadcast",
    "undefined_at",
]

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

    def forward_with(self, values: list, node_index: int, value) -> list:
        """The forward pass again with the node at node_index given `value`."""
        values = list(values)
        values[node_index] = value
        with np.errstate(all="ignore"):
            for i, fn, args in self.program.steps:
                if i > node_index:
                    values[i] = fn(*[values[a] for a in args])
        return values

    def needs_grad(self, wrt) -> list[bool]:
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
        needs = self.needs_grad(wrt)
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
                    contribution = self.local_vjp(node, k, g, values[i], [values[slot[id(a)]] for a in node.args])
                    if contribution is None:
                        continue
                    if adjoints[j] is None:
                        adjoints[j] = np.array(contribution, dtype=self.dtype)
                    else:
                        adjoints[j] += contribution  # a node used twice collects both paths
        return adjoints

    @staticmethod
    def local_vjp(node: Node, k: int, g, ans, args: list):
        """g × ∂node/∂(its k-th operand), summed back to that operand's shape; None where the
        primitive has no derivative in it."""
        if node.op == "index":
            # Scatter the adjoint back into the indexed positions; basic indexing
            # never repeats a position, so plain assignment-add is exact.
            out = np.zeros(np.shape(args[0]), dtype=np.result_type(g))
            out[node.attr] += g
            return out
        rule = PRIMITIVES[node.op].vjp(k)
        if rule is None:
            return None
        return unbroadcast(rule(g, ans, *args, **axis_keyword(node)), node.args[k].shape)

    def gradient(self, inputs: dict[str, np.ndarray], wrt: list[str]) -> dict[str, np.ndarray]:
        values = self.forward(inputs)
        return self.grads_of(self.backward(values, wrt), inputs, wrt)

    def vjp(self, inputs: dict[str, np.ndarray], wrt: list[str], cotangent) -> dict[str, np.ndarray]:
        """uᵀ·J for each wrt variable, in its shape: one reverse pass seeded at f with u
        (the cotangent, in f's shape)."""
        values = self.forward(inputs)
        return self.grads_of(self.backward(values, wrt, seed=cotangent), inputs, wrt)

    def jacobian_reverse(self, inputs: dict[str, np.ndarray], wrt: list[str]) -> dict[str, np.ndarray]:
        """∂f/∂x for each wrt variable x, shape f.shape + x.shape, by reverse mode: one
        backward pass per element of f, seeded with its one-hot, gives the Jacobian's row
        that element indexes. The forward pass is run once for all of them."""
        values = self.forward(inputs)
        out_shape = np.shape(values[-1])
        rows = {var: np.zeros(out_shape + np.shape(inputs[var]), dtype=self.dtype) for var in wrt}
        for index in np.ndindex(*out_shape):
            seed = np.zeros(out_shape, dtype=self.dtype)
            seed[index] = 1
            grads = self.grads_of(self.backward(values, wrt, seed=seed), inputs, wrt)
            for var in wrt:
                rows[var][index] = grads[var]
        return rows

    def jvp(self, inputs: dict[str, np.ndarray], direction: dict[str, np.ndarray]) -> np.ndarray:
        """J·v in f's shape, by forward mode (engine.forward.jvp)."""
        return _forward.jvp(self, inputs, direction)

    def jacobian_forward(self, inputs: dict[str, np.ndarray], wrt: list[str]) -> dict[str, np.ndarray]:
        """The Jacobian by forward mode, a pass per input element (engine.forward.jacobian)."""
        return _forward.jacobian(self, inputs, wrt)

    def grads_of(self, adjoints: list, inputs: dict[str, np.ndarray], wrt) -> dict[str, np.ndarray]:
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
        if seed is None or not self.needs_grad(wrt)[node_index]:
            return self.grads_of([None] * len(self.order), inputs, wrt)
        return self.grads_of(self.backward(values, wrt, start=node_index, seed=seed), inputs, wrt)

    # --- the analyses of a pass, each in its own module -----------------------------------

    def tape(self, inputs: dict[str, np.ndarray], wrt: list[str], direction=None) -> list[TapeStep]:
        """Every step that is not a constant, with its value, local derivatives and adjoint;
        direction (wrt variable -> tangent v): with each step's tangent along v too."""
        values = self.forward(inputs)
        tangents = None if direction is None else _forward.tangents(self, values, direction)
        return _tape.record(self, values, self.backward(values, wrt), wrt, tangents)

    def kinks(self, inputs: dict[str, np.ndarray], wrt: list[str]) -> list[str]:
        """Non-smooth steps sitting exactly at a point where they are not
        differentiable (relu or abs at 0, min/max of equal arguments, clamp at a
        bound, where at the boundary of its condition), in operands that depend
        on a wrt variable. Judged in float64 values at the point."""
        return singular_steps.kinks(self, inputs, wrt)

    def undefined_at(self, inputs: dict[str, np.ndarray], wrt: list[str] | None = None) -> str:
        """The first step whose value, or local derivative in an operand that depends on a
        wrt variable (all variables when None), is not finite, in words."""
        return singular_steps.undefined_at(self, inputs, wrt)

    def rounding_estimate(self, inputs: dict[str, np.ndarray]) -> float:
        """First-order estimate of the rounding error in f itself: ε·Σ|v·v̄|, at least ε·|f|."""
        return rounding.rounding_estimate(self, inputs)

    def hazards(self, inputs: dict[str, np.ndarray], derivative_only: bool = False) -> list[tuple[float, str]]:
        """(relative-error amplification, why) for each step that amplifies a rounding that
        reaches it, the inputs taken as exact; derivative_only: just the steps whose local
        derivative rule loses digits."""
        return rounding.hazards(self, inputs, derivative_only)

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
        """For each hazardous step that a rounding reaches, the absolute error it can put in
        each gradient element in this dtype (engine.blame.blame). point: the problem's point
        (float64), judged in this dtype and carried to the gradient in `wide` (long double)."""
        paths = self if np.dtype(wide) == self.dtype else ChainRule(self.program.root, wide)
        return _blame.blame(
            self,
            paths,
            point_in(point, self.dtype),
            point_in(point, paths.dtype),
            wrt,
            floor=floor,
            limit=limit,
            work=work,
            seconds=seconds,
        )
