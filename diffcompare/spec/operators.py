"""The operators a problem can ask for (`operator:`), and the shape of what each returns.

Named as the anchors name them (JAX's jacfwd/jacrev/jvp/vjp/hessian, torch.func's,
DifferentiationInterface.jl's nine operators):

- gradient: ∇f of a scalar f, one array per wrt variable, in its shape (the default);
- jacobian: ∂f/∂x of an array-valued f, per wrt variable, shape f.shape + x.shape
  (index: the output's index, then the input's: "i,j");
- hessian: ∂²f/∂x∂y of a scalar f, per pair of wrt variables, shape x.shape + y.shape
  (named "x" for the block in x alone, "x,y" for a cross block);
- hvp: H·v of a scalar f along `direction:` (a point variable per wrt variable), per wrt
  variable, in its shape;
- jvp: J·v of any f along `direction:`, one array of f's shape (named by the wrt variables);
- vjp: uᵀ·J of any f with `cotangent:` u (a point variable of f's shape), per wrt variable;
- second_derivative: f'' of a scalar f of one scalar variable.

A result is what the rows of one `variable` hold: its name, its shape, and the wrt
variables it is a derivative in. Every layer above (the exact side, the backends, the
rows) asks `results(problem)` for them, so that an operator's shapes are written once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Operator:
    name: str
    order: int  # 1: first derivatives; 2: second
    scalar_function: bool  # f must be a scalar
    takes: str = ""  # "direction" or "cotangent": the point variable(s) it is given
    description: str = ""


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("gradient", 1, True, description="∇f of a scalar f, per wrt variable (the default)"),
        Operator("jacobian", 1, False, description="∂f/∂x of an array-valued f; index: output's, then input's"),
        Operator("hessian", 2, True, description="∂²f/∂x∂y of a scalar f; index i,j"),
        Operator("hvp", 2, True, "direction", "H·v of a scalar f along `direction:`"),
        Operator("jvp", 1, False, "direction", "J·v of f along `direction:`, in f's shape"),
        Operator("vjp", 1, False, "cotangent", "uᵀ·J of f with `cotangent:` u of f's shape, per wrt variable"),
        Operator("second_derivative", 2, True, description="f'' of a scalar f of one scalar variable"),
    )
}
OPERATOR_NAMES = tuple(OPERATORS)

# Modes: how a backend computes an operator (the `mode` column). The AD modes are JAX's words;
# a backend that does not differentiate by AD names its method instead.
AD_MODES = (
    "forward",
    "forward-dual",  # torch.autograd.forward_ad: dual numbers, beside torch.func.jvp
    "reverse",
    "reverse-graph",  # tensorflow: the same tape inside a tf.function, beside eager "reverse"
    "forward-over-reverse",
    "reverse-over-reverse",
    "forward-over-forward",
)


@dataclass(frozen=True)
class Result:
    """One `variable` of an operator's rows: e.g. the Hessian block in x and y."""

    name: str  # the `variable` column: "x", or "x,y" for a Hessian's cross block
    shape: tuple[int, ...]
    over: tuple[str, ...]  # the wrt variables it is a derivative in, in order (("x", "y"))

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


def results(problem) -> dict[str, Result]:
    """The operator's results for this problem, by name, in the rows' order."""
    operator = getattr(problem, "operator", "gradient")
    shapes = {k: tuple(np.shape(v)) for k, v in problem.point.items()}
    out_shape = tuple(problem.function.shape)
    wrt = list(problem.wrt)
    if operator in ("gradient", "hvp", "vjp", "second_derivative"):
        items = [Result(v, shapes[v], (v,)) for v in wrt]
    elif operator == "jacobian":
        items = [Result(v, out_shape + shapes[v], (v,)) for v in wrt]
    elif operator == "hessian":
        items = [Result(a if a == b else f"{a},{b}", shapes[a] + shapes[b], (a, b)) for a in wrt for b in wrt]
    elif operator == "jvp":
        items = [Result(",".join(wrt), out_shape, tuple(wrt))]
    else:
        raise ValueError(f"unknown operator {operator!r}")
    return {r.name: r for r in items}


def result_shape(problem, name: str) -> tuple[int, ...]:
    """The shape of one result (a `variable` of the rows)."""
    return results(problem)[name].shape


def describe(operator: str) -> str:
    """'the Hessian', 'the JVP': how messages name an operator."""
    return {
        "gradient": "the gradient",
        "jacobian": "the Jacobian",
        "hessian": "the Hessian",
        "hvp": "the Hessian-vector product",
        "jvp": "the Jacobian-vector product",
        "vjp": "the vector-Jacobian product",
        "second_derivative": "the second derivative",
    }[operator]
