"""Index loops, in the form a formula is written: sum(i * x[i] ** 2 for i in range(n)),
sum(x[i] * x[i + 1] for i in range(n - 1)), prod(cos(x[i] / sqrt(i + 1)) for i in range(4)).

A loop is read from the `ast` and never run. It is lowered to vectorised IR: the loop
index is one constant vector (arange(a, b)), every x[c1 * i + c0] a gather of constant
indices (the primitive take), and the term elementwise over that vector, reduced by the
loop's sum, prod, mean, max, min or logsumexp: a handful of nodes whatever n is.

What is accepted: one `for`, its target a plain name, its iterable range(b) or range(a, b)
of constant integers (numbers, or sweep parameters, which are constants when the problem
loads), no `if`; only as the one argument of sum, prod, mean, max, min or logsumexp; the
indices of a subscript affine in the index with integer coefficients (2 * i + 1, n - 1 - i);
a term that is one number for each index (every axis of an array indexed, arrays outside
the loop only as whole scalars). Everything else is refused with what to write instead.
The shape checks run in the IR's shape inference (check_loop), when shapes are known.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import numpy as np

from diffcompare.lang.ir import Node, ShapeError, infer_shapes, topo_order
from diffcompare.lang.primitives import PRIMITIVES

# The reductions a loop may feed: Python's name -> the primitive.
LOOP_REDUCTIONS = {"sum": "sum", "prod": "prod", "mean": "mean", "max": "amax", "min": "amin", "logsumexp": "logsumexp"}
_WORDS = "sum, prod, mean, max, min or logsumexp"
_FORM = "sum(x[i] ** 2 for i in range(n))"


def is_loop(node: ast.AST) -> bool:
    return isinstance(node, (ast.GeneratorExp, ast.ListComp))


def over_range(node: ast.AST) -> bool:
    """A comprehension whose (first) iterable is range(...): an index loop as written."""
    if not isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)) or not node.generators:
        return False
    it = node.generators[0].iter
    return isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"


def bare_loop_message(text: str) -> str:
    """The refusal of a loop outside a reduction: [x[i] for i in range(3)] alone."""
    return (
        f"a loop is only allowed as the one argument of {_WORDS}: '{_short(text)}': "
        f"write, as {_FORM}; for an array write its elements in a list [a, b] or use x itself"
    )


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _constant_integer(node: ast.AST, scope: dict[str, Node], convert: Callable, fail, what: str) -> int:
    """A range bound: an integer constant, or a constant expression of sweep parameters."""
    written = ast.unparse(node)
    value = None
    bound = convert(node)
    if all(n.op != "var" for n in topo_order(bound)):
        try:
            infer_shapes(bound, {})
        except ShapeError:
            bound = None
        value = None if bound is None else bound.const_value
    if value is None or np.ndim(value) or float(value) != int(value):
        raise fail(
            f"{what} '{_short(written)}' must be a constant integer (a number, or an expression of sweep "
            f"parameters): a loop's bounds are fixed when the problem loads"
        )
    return int(value)


def lower_loop(
    reduction: str, comp: ast.AST, text: str, converter: Callable[[str, Node, tuple], Callable], convert, scope, fail
) -> Node:
    """The IR of reduction(term for i in range(a, b)). converter(name, index_node, bounds)
    gives the convert function of the loop's body (the index bound to index_node)."""
    if len(comp.generators) != 1:
        raise fail(f"'{_short(text)}': one `for` per loop; nested loops are not supported (write the sum of each)")
    loop = comp.generators[0]
    target = loop.target
    if loop.is_async or not isinstance(target, ast.Name):
        raise fail(f"'{_short(text)}': the loop variable must be one name, as for i in range(n)")
    if loop.ifs:
        cond = " and ".join(ast.unparse(c) for c in loop.ifs)
        raise fail(
            f"'{_short(text)}': a loop takes no `if` ({_short(cond)}): put the bounds into range(a, b), "
            f"or choose the term with where(cond, term, 0) (1 for prod)"
        )
    it = loop.iter
    if it.keywords or not 1 <= len(it.args) <= 2 or any(isinstance(a, ast.Starred) for a in it.args):
        raise fail(
            f"'{_short(ast.unparse(it))}': a loop runs over range(n) or range(a, b) "
            f"(no step: write range(a, b) and 2 * i in the index)"
        )
    bounds = [_constant_integer(a, scope, convert, fail, "the range bound") for a in it.args]
    start, stop = (0, bounds[0]) if len(bounds) == 1 else bounds
    if stop <= start:
        raise fail(f"'{_short(ast.unparse(it))}' is empty (range({start}, {stop})): a loop needs at least one index")
    name = target.id
    if name in scope and scope[name].op != "const":
        raise fail(f"the loop variable '{name}' is also a name of the problem: call the loop variable i (or j, k)")
    index = Node("arange", (), attr={"start": start, "stop": stop}, text=name)
    body = converter(name, index, (start, stop))(comp.elt)
    if not any(n is index or _gathers(n, name) for n in topo_order(body)):
        elt = ast.unparse(comp.elt)
        raise fail(
            f"'{_short(text)}': the term '{_short(elt)}' does not depend on {name}: "
            f"write it once (times {stop - start} for a sum)"
        )
    return Node(LOOP_REDUCTIONS[reduction], (body,), text=text, loop=(index, name))


def affine(node: ast.AST, name: str, constant: Callable[[ast.AST], int | None], fail) -> tuple[int, int]:
    """(c1, c0) of an index c1 * i + c0 as written; refused where it is not affine in i with
    integer coefficients."""

    def walk(n: ast.AST) -> tuple[int, int]:
        if isinstance(n, ast.Name) and n.id == name:
            return 1, 0
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            a, b = walk(n.operand)
            return (-a, -b) if isinstance(n.op, ast.USub) else (a, b)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub)):
            (a1, b1), (a2, b2) = walk(n.left), walk(n.right)
            sign = 1 if isinstance(n.op, ast.Add) else -1
            return a1 + sign * a2, b1 + sign * b2
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult):
            (a1, b1), (a2, b2) = walk(n.left), walk(n.right)
            if a1 and a2:
                raise refuse()
            return a1 * b2 + a2 * b1, b1 * b2
        value = constant(n)
        if value is None:
            raise refuse()
        return 0, value

    def refuse():
        return fail(
            f"the index '{_short(ast.unparse(node))}' is not affine in {name} with integer coefficients: "
            f"a loop's index is written as a * {name} + b (x[{name}], x[{name} + 1], x[2 * {name}], A[{name}, {name}])"
        )

    return walk(node)


def loop_subscript(
    base: Node, slice_: ast.AST, text: str, loops: dict, constant: Callable[[ast.AST], int | None], fail
) -> Node:
    """x[i + 1], A[i, 0], A[i, i] inside a loop: a gather of constant indices."""
    parts = slice_.elts if isinstance(slice_, ast.Tuple) else [slice_]
    name, (start, stop) = next(iter(loops.items()))
    steps = np.arange(start, stop, dtype=np.int64)
    indices = []
    for part in parts:
        if isinstance(part, ast.Slice):
            raise fail(
                f"'{_short(text)}': a slice inside a loop makes the term an array for each {name}: "
                f"index every axis, as A[{name}, j]"
            )
        c1, c0 = affine(part, name, constant, fail)
        ix = c1 * steps + c0
        ix.setflags(write=False)
        indices.append(ix)
    return Node("take", (base,), attr={"indices": tuple(indices), "source": ("loop", name, start)}, text=text)


def data_subscript(base: Node, name: str, values: np.ndarray, text: str, fail) -> Node:
    """x[idx] with idx a data variable of the point: a gather along the first axis."""
    values = np.asarray(values)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        raise fail(
            f"'{_short(text)}': point.{name} holds {float(values[bad].flat[0])!r}: an index array holds integers "
            f"(0 … the axis length - 1)"
        )
    ix = values.astype(np.int64)
    ix.setflags(write=False)
    return Node("take", (base,), attr={"indices": (ix,), "source": ("point", name)}, text=text)


def _gathers(node: Node, name: str) -> bool:
    """node is a gather by the loop index name (x[i + 1])."""
    return node.op == "take" and (node.attr or {}).get("source", ())[:2] == ("loop", name)


def check_loops(root: Node) -> None:
    """check_loop on every loop under root, once its shapes are inferred (lang.ir.infer_shapes);
    a ShapeError names the first term that is not one number per index."""
    for node in topo_order(root):
        if node.loop is not None:
            check_loop(node, ShapeError)


def check_loop(node: Node, error: type[Exception]) -> None:
    """The term of a loop is one number for each index: every step that depends on the
    index is elementwise (or a gather of it), its other operands scalars."""
    index, name = node.loop
    n = index.attr["stop"] - index.attr["start"]
    depends: set[int] = {id(index)}
    for step in topo_order(node.args[0]):
        if step is not index and not _gathers(step, name) and not any(id(a) in depends for a in step.args):
            continue
        depends.add(id(step))
        if step is index:
            continue
        kind = PRIMITIVES[step.op].kind if step.op in PRIMITIVES else step.op
        if step.op == "take":
            if step.shape != (n,):
                raise error(
                    f"'{step.text}' has shape {step.shape[1:]} for each {name}: the term of a loop must be "
                    f"one number for each {name}: index every axis, as A[{name}, 0]"
                )
            continue
        if kind not in ("elementwise", "compare"):
            raise error(
                f"'{_short(step.text)}': {step.op} of a term that depends on {name} is not supported inside "
                f"a loop; write the loop's term elementwise, as {_FORM}"
            )
        for a in step.args:
            if id(a) not in depends and a.shape != ():
                raise error(
                    f"'{_short(a.text)}' has shape {a.shape} inside the loop over {name}: the term must be one "
                    f"number for each {name}: index it, as {a.text}[{name}]"
                )
