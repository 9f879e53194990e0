"""First-order operators as gradients of scalar problems, so that every entry's truth is the
gradient's: exact references, kinks and undefined points, as the exact side decides them.

- a Jacobian's row o is the gradient of f[o];
- a VJP uᵀ·J is the gradient of sum(u * f);
- a JVP's entry o is d/dt f[o](x + t·v) at t = 0: the derivative of a scalar function of one
  scalar t. The point is the same (x + 0·v is x, exactly), and a kink along v is the kink of
  that function of t: its one-sided derivatives are the directional derivatives along ±v.

Each derived problem is a Problem of its own (operator gradient) over an IR built from the
problem's nodes: `index`, `mul`, `sum` and `add` nodes on top of f, and for a JVP a copy of
f's graph with each differentiated variable x replaced by x + t·v. A Part says where each
element of the derived gradient goes in the operator's results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from diffcompare.lang.ir import Node, index_label, infer_shapes, topo_order
from diffcompare.spec.operators import results


@dataclass
class Part:
    problem: object  # the derived scalar problem (operator gradient)
    # (derived variable, flat index in it) -> (result name, flat index in the result), as arrays:
    # targets[var] = (result name, flat positions of var's elements in that result)
    targets: dict[str, tuple[str, np.ndarray]]
    # How its messages name what the derived problem's "f" and its variable are: {"f": "f[1]",
    # "t": "the direction v"}: a Jacobian row's kink is f[1]'s, a JVP's derivative in t is along v.
    names: dict[str, str]


def _scalar_problem(problem, function: Node, suffix: str, point=None, wrt=None):
    point = dict(problem.point if point is None else point)
    infer_shapes(function, {k: np.shape(v) for k, v in point.items()})
    return replace(
        problem,
        name=f"{problem.name}{suffix}",
        function=function,
        point=point,
        wrt=list(problem.wrt if wrt is None else wrt),
        manual={},
        expected={},
        operator="gradient",
        direction={},
        cotangent="",
    )


def _outputs(problem):
    """Every output element of f: (flat position, index tuple)."""
    shape = tuple(problem.function.shape)
    return list(enumerate(np.ndindex(shape))) if shape else [(0, ())]


def _subject(problem, index: tuple) -> str:
    return f"f[{index_label(index)}]" if problem.function.shape else "f"


def _element_of(f: Node, index: tuple) -> Node:
    """f[index] as a node. A list literal's element is its operand itself, so that f[1]'s graph
    holds f[1]'s steps only: a kink in f[0] is no step of f[1] (its messages would name it)."""
    while index and f.op == "stack" and (f.attr or {}).get("axis", 0) == 0:
        f, index = f.args[index[0]], index[1:]
    if not index:
        return f
    return Node("index", (f,), attr=index, text=f"({f.text})[{index_label(index)}]")


def jacobian_parts(problem) -> list[Part]:
    """Row o of each Jacobian block: the gradient of f[o]."""
    found = results(problem)
    parts = []
    for flat, index in _outputs(problem):
        scalar = _scalar_problem(problem, _element_of(problem.function, index), f"[{index_label(index)}]")
        targets = {}
        for var in problem.wrt:
            size = int(np.prod(problem.point[var].shape, dtype=np.int64))
            targets[var] = (found[var].name, flat * size + np.arange(size))
        parts.append(Part(scalar, targets, {"f": _subject(problem, index)}))
    return parts


def vjp_parts(problem) -> list[Part]:
    """uᵀ·J: the gradient of sum(u * f), u held constant."""
    u = Node("var", attr=problem.cotangent, text=problem.cotangent)
    product = Node("mul", (u, problem.function), text=f"{problem.cotangent} * ({problem.function.text})")
    total = Node("sum", (product,), text=f"sum({product.text})")
    scalar = _scalar_problem(problem, total, "·vjp")
    targets = {var: (var, np.arange(problem.point[var].size)) for var in problem.wrt}
    return [Part(scalar, targets, {"f": f"uᵀ·f (u = {problem.cotangent})"})]


def _free_name(problem, stem: str = "t") -> str:
    name, k = stem, 1
    while name in problem.point:
        name, k = f"{stem}{k}", k + 1
    return name


def along_direction(problem, t: str) -> Node:
    """f's graph with each wrt variable x replaced by x + t·v (v its direction), nodes copied."""
    t_node = Node("var", attr=t, text=t)
    copies: dict[int, Node] = {}
    for node in topo_order(problem.function):
        if node.op == "var" and node.attr in problem.direction:
            v = problem.direction[node.attr]
            moved = Node("mul", (t_node, Node("var", attr=v, text=v)), text=f"{t}*{v}")
            copies[id(node)] = Node("add", (Node("var", attr=node.attr, text=node.text), moved), text=node.text)
            continue
        copies[id(node)] = replace(node, args=tuple(copies[id(a)] for a in node.args))
    return copies[id(problem.function)]


def jvp_parts(problem) -> list[Part]:
    """Entry o of J·v: d/dt f[o](x + t·v) at t = 0."""
    t = _free_name(problem)
    moved = along_direction(problem, t)
    point = {**problem.point, t: np.zeros(())}
    (result,) = results(problem).values()
    parts = []
    for flat, index in _outputs(problem):
        function = _element_of(moved, index)
        scalar = _scalar_problem(problem, function, f"·jvp[{index_label(index)}]", point=point, wrt=[t])
        along = " and ".join(f"{v} along {x}" for x, v in problem.direction.items())
        names = {"f": _subject(problem, index), t: f"the direction ({along})"}
        parts.append(Part(scalar, {t: (result.name, np.array([flat]))}, names))
    return parts


FIRST_ORDER = {"jacobian": jacobian_parts, "vjp": vjp_parts, "jvp": jvp_parts}


def derived_parts(problem) -> list[Part]:
    """The scalar problems whose gradients make up a first-order operator's results."""
    return FIRST_ORDER[problem.operator](problem)


def gradient_problems(problem) -> list:
    """The scalar problems whose gradients the exact side judges for this problem: itself for a
    gradient, its derived problems for a first-order operator, and for a second-order one its
    scalar f's gradient problem (whose kinks bound the second derivatives)."""
    if problem.operator == "gradient":
        return [problem]
    if problem.operator in FIRST_ORDER:
        return [part.problem for part in derived_parts(problem)]
    return [replace(problem, operator="gradient", direction={}, cotangent="", manual={}, expected={})]
