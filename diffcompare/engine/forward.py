"""Forward mode over the IR, in NumPy: the chain-rule engine's other direction.

The reverse pass (engine.chainrule) walks the order backwards with one adjoint per node;
this one walks it forwards with one tangent per node, ṫ = Σ_k ∂node/∂operand_k · ṫ_k,
through each primitive's JVP rule (Primitive.jvp_rule, derived from the same declaration
as its VJP). A pass is seeded by a tangent per wrt variable (a direction v) and gives J·v
in f's shape, whatever that shape is: one pass per input element gives the Jacobian's
columns, where reverse mode needs one pass per output element for its rows.

The values are the forward pass's (ChainRule.forward), computed once and shared by every
tangent pass over them.
"""

from __future__ import annotations

import numpy as np

from diffcompare.lang.ir import Node, axis_keyword
from diffcompare.lang.primitives import PRIMITIVES

__all__ = ["jacobian", "jvp", "local_jvp", "tangents"]


def tangents(engine, values: list, seeds: dict[str, np.ndarray]) -> list:
    """The tangent of every node of engine.order (a ChainRule) along `seeds` (wrt variable ->
    its tangent, in its shape), from the node values of one forward pass; None where no
    seeded variable reaches the node (a constant, a variable held constant)."""
    slot = engine.slot
    out: list = [None] * len(engine.order)
    with np.errstate(all="ignore"):
        for i, node in enumerate(engine.order):
            if node.op == "var":
                if node.attr in seeds:
                    out[i] = np.broadcast_to(np.asarray(seeds[node.attr], dtype=engine.dtype), np.shape(values[i]))
                continue
            if node.is_constant:
                continue
            given = [out[slot[id(a)]] for a in node.args]
            if all(t is None for t in given):
                continue
            args = [values[slot[id(a)]] for a in node.args]
            t = local_jvp(node, given, values[i], args)
            out[i] = None if t is None else np.asarray(t, dtype=engine.dtype)
    return out


def local_jvp(node: Node, given: list, ans, args: list):
    """The node's tangent from its operands' (None for one without): the primitive's JVP
    rules, in the shape of the node's value; None where none of them has a derivative."""
    if node.op == "index":  # static indexing is linear: the tangent indexed the same way
        return np.asarray(given[0])[node.attr]
    total = PRIMITIVES[node.op].push_tangents(given, ans, *args, **axis_keyword(node))
    return None if total is None else np.broadcast_to(total, np.shape(ans))


def jvp(engine, inputs: dict[str, np.ndarray], direction: dict[str, np.ndarray]) -> np.ndarray:
    """J·v: f's tangent along direction (wrt variable -> v in its shape), summed over every
    variable with its direction, in f's shape; one forward pass."""
    values = engine.forward(inputs)
    return _root_tangent(engine, values, direction)


def jacobian(engine, inputs: dict[str, np.ndarray], wrt: list[str]) -> dict[str, np.ndarray]:
    """∂f/∂x for each wrt variable x, shape f.shape + x.shape (the output's index first), by
    forward mode: one tangent pass per element of x, seeded with that element's one-hot,
    which fills the column of the Jacobian the element indexes."""
    values = engine.forward(inputs)
    out_shape = np.shape(values[-1])
    result = {}
    for var in wrt:
        shape = np.shape(inputs[var])
        columns = np.zeros(out_shape + shape, dtype=engine.dtype)
        for index in np.ndindex(*shape):
            seed = np.zeros(shape, dtype=engine.dtype)
            seed[index] = 1
            columns[(Ellipsis, *index)] = _root_tangent(engine, values, {var: seed})
        result[var] = columns
    return result


def _root_tangent(engine, values: list, seeds: dict[str, np.ndarray]) -> np.ndarray:
    """f's tangent (zeros where f does not depend on the seeded variables), as a new array."""
    t = tangents(engine, values, seeds)[-1]
    if t is None:
        return np.zeros(np.shape(values[-1]), dtype=engine.dtype)
    return np.array(t, dtype=engine.dtype)
