"""The protocol every backend follows, built-in or not (docs/extending.md).

A backend receives a Problem (with its IR) and a dtype name and returns a
Gradient: float64 copies of the values it computed for each variable, the
median time of one evaluation, and optionally a per-element error bound. It may
raise SkipCell (`skipped` rows) or anything else (`error` rows). Its Method says
how its rows are judged.

Operators past the gradient (diffcompare.spec.operators): a backend that computes them
says so by `modes(problem)`, the modes in which it computes the problem's operator
(("forward", "reverse") for a Jacobian in jax; () where it has none, or it raises SkipCell
with the reason), and `compute(problem, dtype, mode)` returns a Gradient whose values are
keyed by the operator's results (spec.operators.results: "x", or "x,y" for a Hessian's
cross block), each in its result's shape; the gradient itself is always asked of
`gradient()`. A backend without `modes` (the protocol of the gradient alone) computes the
gradient in one mode, `default_mode(method)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from diffcompare.lang.primitives import SkipCell
from diffcompare.spec.operators import results
from diffcompare.spec.problem import DTYPES, Problem

__all__ = [
    "Backend",
    "BaseBackend",
    "Gradient",
    "Method",
    "SkipCell",
    "compute",
    "default_mode",
    "error_line",
    "modes_of",
    "one_line",
    "refusals_skipped",
]


@dataclass
class Gradient:
    """What a backend returns for one problem in one dtype."""

    values: dict[str, np.ndarray]  # variable -> gradient, in the variable's shape
    time_s: float = float("nan")  # median seconds of one warm gradient evaluation
    message: str = ""  # appended to the message of every row of the cell
    bounds: dict[str, np.ndarray] = field(default_factory=dict)  # own error estimate per element
    setup_s: float = float("nan")  # building: tracing, compiling, differentiating, and the first call
    f_time_s: float = float("nan")  # median seconds of the function alone, same backend and dtype
    extras: dict[str, float] = field(default_factory=dict)  # backend-specific columns (expr_ops …)
    # the low part of a value that holds more than float64 does (an `expected:` value written
    # with 17 digits): judged as values + values_lo, per variable, in the variable's shape
    values_lo: dict[str, np.ndarray] = field(default_factory=dict)


class Method(str, Enum):
    """How a backend's rows are judged (diffcompare.running.verdicts). A backend may name
    its method by the enum or by its value; anything else is an error, not the exact rule."""

    EXACT = "exact"  # relative error within √ε of the dtype: anything that differentiates
    COMPLEX_STEP = "complex-step"  # as exact
    FINITE_DIFFERENCE = "finite-difference"  # within the error bound the backend returns
    GIVEN = "given"  # a value written elsewhere (`expected:`), at the precision written

    @classmethod
    def of(cls, value) -> Method:
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(m.value for m in cls)
            raise ValueError(f"the backend's method {value!r} is not one of {known}") from None


# SkipCell: raised by a backend that does not apply to a problem (complex step on relu):
# `skipped` rows with its reason. It is declared with the primitives (diffcompare.lang),
# so that lowering a function with a primitive the library lacks (MissingPrimitive, a
# SkipCell) gives `skipped` rows in every backend without a line of its own.


@runtime_checkable
class Backend(Protocol):
    name: ClassVar[str]
    method: ClassVar[Method | str]  # how its rows are judged: a Method or its value
    description: ClassVar[str]
    library: ClassVar[str]  # the distribution whose version the rows carry ("torch"), or ""

    def dtypes_for(self, problem: Problem) -> tuple[str, ...]: ...

    def variables(self, problem: Problem) -> list[str]: ...

    def gradient(self, problem: Problem, dtype: str) -> Gradient: ...


PROTOCOL_MEMBERS = ("name", "method", "description", "library", "dtypes_for", "variables", "gradient")

# The `mode` of a backend's gradient rows where it names none: AD is reverse mode unless it says
# otherwise; the others compute by their method.
_DEFAULT_MODES = {
    Method.EXACT: "reverse",
    Method.COMPLEX_STEP: "complex-step",
    Method.FINITE_DIFFERENCE: "finite-difference",
    Method.GIVEN: "given",
}


def default_mode(method) -> str:
    return _DEFAULT_MODES[Method.of(method)]


def modes_of(backend, problem) -> tuple[str, ...]:
    """The modes in which backend computes the problem's operator: its own `modes`, or, for
    a backend of the gradient-only protocol, its default mode for a gradient and none else."""
    modes = getattr(backend, "modes", None)
    if modes is not None:
        return tuple(modes(problem))
    return (default_mode(backend.method),) if problem.operator == "gradient" else ()


def compute(backend, problem, dtype: str, mode: str) -> Gradient:
    """The backend's values of the problem's operator in this mode. The gradient in the
    backend's first mode is always asked of gradient(), the protocol's first call: a plug-in
    that subclasses a built-in and overrides gradient() (to wrap or to log it) is called as it
    was before operators. A backend that computes the gradient in more modes than one
    (casadi: reverse and forward; tensorflow: eager and in a tf.function) is asked for the
    others by compute()."""
    if not hasattr(backend, "compute"):
        return backend.gradient(problem, dtype)
    if problem.operator == "gradient":
        modes = modes_of(backend, problem)
        if not modes or mode == modes[0]:
            return backend.gradient(problem, dtype)
    return backend.compute(problem, dtype, mode)


class BaseBackend:
    """Defaults for the protocol: every dtype of the problem, every wrt variable."""

    name: ClassVar[str] = ""
    method: ClassVar[Method | str] = Method.EXACT
    description: ClassVar[str] = ""
    library: ClassVar[str] = ""
    supported_dtypes: ClassVar[tuple[str, ...]] = DTYPES

    def dtypes_for(self, problem: Problem) -> tuple[str, ...]:
        return tuple(d for d in problem.dtypes if d in self.supported_dtypes)

    def variables(self, problem: Problem) -> list[str]:
        """The results it gives rows for: every result of the problem's operator."""
        return list(results(problem))

    def modes(self, problem: Problem) -> tuple[str, ...]:
        """The modes in which it computes the problem's operator (the gradient, in its default mode)."""
        return (default_mode(self.method),) if problem.operator == "gradient" else ()

    def gradient(self, problem: Problem, dtype: str) -> Gradient:
        raise NotImplementedError(f"{type(self).__name__} computes no gradient")


def refusals_skipped(call: Callable[[], object], library: str, refusals: tuple) -> object:
    """call(), or SkipCell in the library's own words where it declines to differentiate an op:
    refusals are (exception class, phrase, …), a refusal when the exception is of that class
    and its text holds every phrase ("derivative for aten::… is not implemented"). Any other
    exception goes on (`error` rows). One rule for every AD library's call_or_skip."""
    try:
        return call()
    except tuple(kind for kind, *_ in refusals) as exc:
        text = str(exc)
        if any(isinstance(exc, kind) and all(p in text for p in phrases) for kind, *phrases in refusals):
            raise SkipCell(f"{library} cannot differentiate this: {text.splitlines()[0]}") from None
        raise


def error_line(exc: BaseException) -> str:
    """'ValueError: …': an exception as a row's message, on one line."""
    return f"{type(exc).__name__}: {one_line(exc)}"


def one_line(exc: BaseException) -> str:
    """An exception's text on one line, at most 300 characters: a row's message."""
    text = " ".join(str(exc).split())
    return text[:300] + ("…" if len(text) > 300 else "")
