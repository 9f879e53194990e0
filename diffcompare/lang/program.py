"""Lowering the IR to one backend's primitives.

A Program is the IR in topological order with each node bound to a backend's
native function (torch.sin, jnp.sin, np.sin, sympy.sin ...). It is built once
per problem and run many times, so a timed call does only the framework's work
plus a short Python loop, much as hand-written code would.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from diffcompare.lang.ir import Node, axis_keyword, topo_order
from diffcompare.lang.primitives import PRIMITIVES, MissingPrimitive, Unavailable

# Arithmetic and comparisons through Python's operators, as hand-written code for
# torch or jax would spell them (Primitive.operator): the primitives' names in every
# library by the convention of diffcompare.lang.primitives.
PYTHON_OPERATORS: dict[str, Callable[..., Any]] = {
    name: p.operator for name, p in PRIMITIVES.items() if p.operator is not None
}


def _take(x, index):
    return x[index]


class Program:
    """Evaluate root with `ops[primitive name]`.

    constant(value) turns a folded constant into the backend's form (by default the
    Python number itself, as hand-written framework code would pass it);
    index(x, index_tuple) does static indexing. A primitive the library lacks
    (Unavailable in ops) raises MissingPrimitive here, with the reason.
    """

    def __init__(
        self,
        root: Node,
        ops: dict[str, Callable[..., Any]],
        *,
        constant: Callable[[float | int], Any] = lambda v: v,
        index: Callable[[Any, tuple], Any] = _take,
    ):
        self.root = root
        self.order = topo_order(root)
        slot = {id(n): i for i, n in enumerate(self.order)}
        self.initial: list[Any] = [None] * len(self.order)
        self.inputs: list[tuple[int, str]] = []  # (slot, variable name)
        self.steps: list[tuple[int, Callable, tuple[int, ...]]] = []
        for i, node in enumerate(self.order):
            if node.is_constant:
                self.initial[i] = constant(node.const_value)
            elif node.op == "var":
                self.inputs.append((i, node.attr))
            elif node.op == "index":
                fn = lambda x, _ix=node.attr: index(x, _ix)
                self.steps.append((i, fn, (slot[id(node.args[0])],)))
            else:
                fn = ops[node.op]
                if isinstance(fn, Unavailable):  # the library lacks it: say so before anything runs
                    raise MissingPrimitive(fn.message)
                if node.attr is not None:  # a reduction along axis=: every table's function takes axis=
                    fn = functools.partial(fn, **axis_keyword(node))
                self.steps.append((i, fn, tuple(slot[id(a)] for a in node.args)))

    def run_all(self, env: dict[str, Any]) -> list[Any]:
        """Every node's value, in self.order."""
        values = list(self.initial)
        for i, name in self.inputs:
            values[i] = env[name]
        for i, fn, args in self.steps:
            values[i] = fn(*[values[a] for a in args])
        return values

    def __call__(self, env: dict[str, Any]) -> Any:
        return self.run_all(env)[-1]
