"""The expression IR: a small DAG that every backend runs as written.

A problem's text is parsed once (see :mod:`diffcompare.lang.parser`) into these nodes.
`let` names become shared nodes, so the graph is a DAG, not a tree, and the
chain-rule tape shows one step per node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from diffcompare.lang.limits import LIMITS
from diffcompare.lang.primitives import PRIMITIVES, normalize_axes, reduced_shape

# Named constants of the language. They are folded to float64 like any other
# constant sub-expression, which is what Python code using math.pi computes.
NAMED_CONSTANTS = {"pi": math.pi, "e": math.e}


@dataclass(eq=False)
class Node:
    """One operation of the function.

    op:    "var", "const", "index", or the name of a primitive in PRIMITIVES.
    args:  the operand nodes.
    attr:  the variable name (var), the number (const), or the index tuple (index).
    text:  the source text of this sub-expression, for messages and the tape.
    label: the `let` name bound to this node, if any.
    shape: filled in by infer_shapes().
    const_value: for a sub-expression without variables, its float64 value.
    """

    op: str
    args: tuple[Node, ...] = ()
    attr: object = None
    text: str = ""
    label: str | None = None
    shape: tuple[int, ...] = ()
    const_value: float | int | None = field(default=None, repr=False)
    # A reduction of an index loop, sum(x[i] for i in range(n)): (the loop index's node, its
    # name), for the check that the term is one number per index (lang.loops).
    loop: tuple | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # Not the dataclass's: that one prints the operands' operands, and a DAG of let
        # steps each used twice is 2**steps nodes as a tree.
        text = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"Node({self.op!r}, text={text!r}, shape={self.shape})"

    @property
    def is_constant(self) -> bool:
        return self.const_value is not None


class ShapeError(ValueError):
    """Shapes that do not fit together; the message names the sub-expression."""


def index_label(index: tuple[int, ...]) -> str:
    """(1, 0) -> "1,0"; () -> "" (a scalar has no index)."""
    return ",".join(map(str, index))


def element_label(name: str, index: tuple[int, ...] | str) -> str:
    """x, x[2], A[1,0]: how an element is named in symbols, messages and reports.
    index: a tuple, or a row's index column, already text ("1,0"; "" for a scalar)."""
    text = index if isinstance(index, str) else index_label(index)
    return f"{name}[{text}]" if text else name


def topo_order(root: Node) -> list[Node]:
    """Every node reachable from root, each after its arguments (iterative DFS:
    deep expressions must not hit Python's recursion limit)."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for arg in reversed(node.args):
            if id(arg) not in seen:
                stack.append((arg, False))
    return order


# x + y - z + … is one level of nesting, not one per operator: a flat sum or product of
# many terms is as shallow as it looks (SymPy, too, keeps it one Add or Mul).
_CHAINS = ({"add", "sub"}, {"mul", "div"})


def continues_chain(parent_op: str | None, left_op: str | None) -> bool:
    """The left operand of parent_op, itself a left_op, is in the same + - or * / chain:
    it adds no level of nesting (the parser's depth on the text, GraphLimits on the graph)."""
    return any(parent_op in ops and left_op in ops for ops in _CHAINS)


class GraphError(ValueError):
    """An expression graph past a limit of diffcompare.lang.limits."""


class GraphLimits:
    """Operations and nesting of one problem's expression graph, counted as the DAG it is:
    a let step used twice is one set of nodes, and its depth counts once along each path.
    add() each expression as it is parsed; the first one past a limit raises GraphError."""

    def __init__(self) -> None:
        self.depth: dict[int, int] = {}  # id(node) -> levels of nesting below and at it
        self.nodes = 0

    def add(self, root: Node) -> None:
        depth = self.depth
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in depth:
                continue
            if not expanded:
                stack.append((node, True))
                stack.extend((arg, False) for arg in node.args if id(arg) not in depth)
                continue
            level = 1
            for i, arg in enumerate(node.args):
                chained = i == 0 and continues_chain(node.op, arg.op)
                level = max(level, depth[id(arg)] + (0 if chained else 1))
            depth[id(node)] = level
            self.nodes += 1
            if level > LIMITS["depth"]:
                raise GraphError(
                    f"nested deeper than the limit of {LIMITS['depth']}, counting the let steps it uses (--max-depth)"
                )
            if self.nodes > LIMITS["nodes"]:
                raise GraphError(
                    f"the problem's expressions have more than {LIMITS['nodes']} operations, each let step "
                    f"counted once; the limit is {LIMITS['nodes']} (--max-nodes)"
                )
            size = math.prod(node.shape)
            if size > LIMITS["elements"]:
                text = node.text if len(node.text) <= 80 else node.text[:77] + "..."
                raise GraphError(f"'{text}' has shape {node.shape}, {size} elements; the limit is {LIMITS['elements']}")


def _index_shape(shape: tuple[int, ...], index: tuple) -> tuple[int, ...]:
    # A zero-stride view costs no memory, whatever the shape.
    probe = np.broadcast_to(np.empty((), dtype=np.int8), shape)
    return probe[index].shape


def infer_shapes(root: Node, var_shapes: dict[str, tuple[int, ...]]) -> None:
    """Give every node its shape, NumPy's broadcasting rules throughout, and
    fold constant sub-expressions. Raises ShapeError naming the culprit."""
    for node in topo_order(root):
        if node.op == "var":
            node.shape = tuple(var_shapes[node.attr])
            continue
        if node.op == "const":
            node.shape = ()
            value = node.attr
            node.const_value = NAMED_CONSTANTS.get(value, value) if isinstance(value, str) else value
            continue
        shapes = [arg.shape for arg in node.args]
        try:
            if node.op == "index":
                node.shape = _index_shape(shapes[0], node.attr)
            elif PRIMITIVES[node.op].kind == "array":  # array building: its parameters checked, made canonical
                node.shape, node.attr = PRIMITIVES[node.op].infer(shapes, **(node.attr or {}))
            elif node.attr is not None:  # a reduction along axis=: the axes as written, made canonical
                node.attr = normalize_axes(node.attr, len(shapes[0]))
                node.shape = reduced_shape(shapes[0], node.attr)
            else:
                node.shape = PRIMITIVES[node.op].shape(*shapes)
        except (ValueError, IndexError, TypeError) as exc:
            if node.attr is not None and node.op != "index":
                raise ShapeError(f"'{node.text}': {exc}") from None
            detail = " and ".join(str(s) for s in shapes)
            raise ShapeError(f"shapes {detail} do not fit in '{node.text}': {exc}") from None
        if node.op != "index" and all(arg.is_constant for arg in node.args):
            node.const_value = _fold(node)


def axis_keyword(node: Node) -> dict:
    """{"axis": axes} for a reduction along axis= (its rules' keyword), an array-building step's
    parameters (lang.primitives.arrays), else {}."""
    if isinstance(node.attr, dict):
        return dict(node.attr)
    return {"axis": node.attr} if node.attr is not None and node.op not in ("var", "const", "index") else {}


def _fold(node: Node) -> float | np.ndarray:
    """Evaluate a constant sub-expression in float64, as Python would before
    handing the number to a framework. numpy scalars never hang on 9**9**9**9.
    An array-valued one ([0, 1, 0], arange(1, 4), zeros((2,))) is a float64 array, which
    each backend gives its own form (torch.tensor, jnp.asarray), as hand-written code would."""
    args = [np.float64(arg.const_value) if np.ndim(arg.const_value) == 0 else arg.const_value for arg in node.args]
    with np.errstate(all="ignore"):
        value = PRIMITIVES[node.op].forward(*args, **axis_keyword(node))
    if np.ndim(value) > 0:
        value = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(value)):
            raise ShapeError(f"the constant '{node.text}' is not finite everywhere")
        value.setflags(write=False)
        return value
    value = float(value)
    if not math.isfinite(value):
        raise ShapeError(f"the constant '{node.text}' is not a finite number ({value})")
    return value
