"""Every operator's exact expressions in SymPy, entry by entry, in its results' shapes.

First-order operators are gradients of the derived scalar problems (exact.derived), each
differentiated by its own SymbolicForm; a JVP's t is then set to 0. Second-order ones
differentiate the gradient of f once more: ∂²f/∂a[i]∂b[j] for the Hessian, ∂/∂x[i] of
Σ ∂f/∂y[j]·v_y[j] for H·v (v's exact values), f'' for the second derivative.

The same expressions are the `sympy` backend's (evaluated in float64) and the second-order
reference's (evaluated in mpmath at rising precision, exact.operators).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from diffcompare.exact.derived import derived_parts
from diffcompare.exact.symbolic import SymbolicForm, _exact_array, merge_powers
from diffcompare.spec.operators import OPERATORS, results


@dataclass
class OperatorExprs:
    function: object  # f as SymPy has it (an object array of f's shape)
    exprs: dict[str, np.ndarray]  # result name -> object array of SymPy expressions, the result's shape
    inputs: list  # every element symbol of the point in order, then the named exponents
    constant_values: list  # the named exponents' exact values, in the order of inputs
    forms: list  # the SymbolicForms it was built from (their time limit, counts)

    def flat(self) -> list:
        """Every entry, result by result, each flattened in order (the rows' order)."""
        return [e for name in self.exprs for e in self.exprs[name].ravel()]


def operator_exprs(problem, form_of, parts=None) -> OperatorExprs:
    """The problem's operator in SymPy. form_of(scalar problem) -> its SymbolicForm (the
    caller's: exact.truth's, sharing the problem's deadline); it raises SymbolicLimit past
    SymPy's size or time, which this passes on. parts: the first-order operator's derived
    problems, where the caller has them (exact.derived.derived_parts)."""
    shapes = {r.name: r.shape for r in results(problem).values()}
    if OPERATORS[problem.operator].order == 2:
        form = form_of(problem)
        exprs = {name: np.empty(shape, dtype=object) for name, shape in shapes.items()}
        with form.bounded(f"differentiating twice ({problem.operator})"):
            _second_order(problem, form, exprs)
        return _collect(problem, [form], form.function, exprs)
    parts = derived_parts(problem) if parts is None else [part for part, _ in parts]
    forms = [form_of(part.problem) for part in parts]
    exprs = {name: np.empty(int(np.prod(shape, dtype=np.int64)), dtype=object) for name, shape in shapes.items()}
    for part, form in zip(parts, forms):
        for var, (name, positions) in part.targets.items():
            entries = form.derivatives[var].ravel()
            if problem.operator == "jvp":  # d/dt at t = 0
                t = form.symbols[var].ravel()[0]
                entries = [e.xreplace({t: sympy.Integer(0)}) for e in entries]
            exprs[name][positions] = list(entries)
    function = np.array([form.function for form in forms], dtype=object)
    if problem.operator in ("jacobian", "jvp"):
        function = function.reshape(problem.function.shape)
    exprs = {name: exprs[name].reshape(shapes[name]) for name in exprs}
    return _collect(problem, forms, function, exprs)


def _second_order(problem, form: SymbolicForm, exprs: dict) -> None:
    symbols, gradient = form.symbols, form.derivatives
    for result in results(problem).values():
        out = exprs[result.name]
        if problem.operator == "hessian":
            a, b = result.over if len(result.over) == 2 else result.over * 2
            for i in np.ndindex(symbols[a].shape):
                for j in np.ndindex(symbols[b].shape):
                    out[i + j] = merge_powers(gradient[a][i].diff(symbols[b][j]), form.constants)
        elif problem.operator == "hvp":
            (x,) = result.over
            along = sympy.Add(
                *[
                    g * v
                    for y in problem.wrt
                    for g, v in zip(gradient[y].ravel(), _exact_array(problem.point[problem.direction[y]]).ravel())
                ]
            )
            for i in np.ndindex(symbols[x].shape):
                out[i] = merge_powers(along.diff(symbols[x][i]), form.constants)
        else:  # second_derivative
            (x,) = result.over
            out[()] = merge_powers(gradient[x][()].diff(symbols[x][()]), form.constants)


def _collect(problem, forms: list, function, exprs: dict) -> OperatorExprs:
    constants: dict = {}
    for form in forms:
        constants.update(form.constants)
    symbols = forms[0].symbols if forms else {}
    inputs = [s for var in problem.point for s in symbols[var].ravel()] + list(constants)
    return OperatorExprs(np.asarray(function, dtype=object), exprs, inputs, list(constants.values()), forms)
