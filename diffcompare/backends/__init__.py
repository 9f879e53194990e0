"""Backends behind one small protocol, registered by name, imported lazily.

A backend receives a Problem (with its IR) and a dtype name and returns a
Gradient: float64 copies of the values it computed for each variable, the
median time of one evaluation, and optionally a per-element error bound.
Built-in backends are listed in BUILTIN as "module:Class" strings, so that
selecting `sympy` alone never imports torch or jax. Third-party backends come
from the entry-point group `diffcompare.backends`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from diffcompare.problem import DTYPES, Problem

ENTRY_POINT_GROUP = "diffcompare.backends"


@dataclass
class Gradient:
    """What a backend returns for one problem in one dtype."""

    values: dict[str, np.ndarray]  # variable -> gradient, in the variable's shape
    time_s: float = float("nan")  # median seconds of one warm gradient evaluation
    message: str = ""
    bounds: dict[str, np.ndarray] = field(default_factory=dict)  # own error estimate per element
    setup_s: float = float("nan")  # building: tracing, compiling, differentiating, and the first call
    f_time_s: float = float("nan")  # median seconds of the function alone, same backend and dtype
    extras: dict[str, float] = field(default_factory=dict)  # backend-specific columns (expr_ops …)


class SkipCell(Exception):
    """Raised by a backend that does not apply to a problem (say, complex step on
    relu): its rows become `skipped` with this reason, not `error`."""


@runtime_checkable
class Backend(Protocol):
    name: ClassVar[str]
    method: ClassVar[str]  # "exact", "complex-step", "finite-difference", or "given" (a value written elsewhere)
    description: ClassVar[str]

    def dtypes_for(self, problem: Problem) -> tuple[str, ...]: ...

    def variables(self, problem: Problem) -> list[str]: ...

    def gradient(self, problem: Problem, dtype: str) -> Gradient: ...


class BaseBackend:
    """Defaults for the protocol: every dtype of the problem, every wrt variable."""

    name: ClassVar[str] = ""
    method: ClassVar[str] = "exact"
    description: ClassVar[str] = ""
    supported_dtypes: ClassVar[tuple[str, ...]] = DTYPES

    def dtypes_for(self, problem: Problem) -> tuple[str, ...]:
        return tuple(d for d in problem.dtypes if d in self.supported_dtypes)

    def variables(self, problem: Problem) -> list[str]:
        return list(problem.wrt)


@dataclass(frozen=True)
class Spec:
    target: str  # "module:Class"
    requires: tuple[str, ...] = ()  # importable packages it needs
    install_hint: str = ""


BUILTIN: dict[str, Spec] = {
    "sympy": Spec("diffcompare.backends.sympy_backend:SympyBackend", ("sympy",)),
    "torch": Spec("diffcompare.backends.torch_backend:TorchBackend", ("torch",), "pip install 'diffcompare[torch]'"),
    "jax": Spec("diffcompare.backends.jax_backend:JaxBackend", ("jax",), "pip install 'diffcompare[jax]'"),
    "chainrule": Spec("diffcompare.backends.chainrule:ChainRuleBackend"),
    "central": Spec("diffcompare.backends.central:CentralBackend"),
    "richardson": Spec("diffcompare.backends.richardson:RichardsonBackend"),
    "complex_step": Spec("diffcompare.backends.complex_step:ComplexStepBackend"),
    "manual": Spec("diffcompare.backends.given:ManualBackend"),
    "expected": Spec("diffcompare.backends.given:ExpectedBackend"),
}


@dataclass
class Unavailable:
    """A backend that could not be loaded: its rows become `skipped`."""

    name: str
    reason: str
    install_hint: str = ""

    @property
    def message(self) -> str:
        return f"{self.reason}; install with: {self.install_hint}" if self.install_hint else self.reason


def _third_party() -> dict:
    """Entry points of the group, and DIFFCOMPARE_BACKENDS="name=module:Class,…" (for a
    backend that is not installed as a package, such as the tests' misbehaving ones)."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN}
    for item in filter(None, os.environ.get("DIFFCOMPARE_BACKENDS", "").split(",")):
        name, _, target = item.partition("=")
        if name.strip() and target.strip() and name.strip() not in BUILTIN:
            found[name.strip()] = EntryPoint(name.strip(), target.strip(), ENTRY_POINT_GROUP)
    return found


def available_names() -> list[str]:
    """Built-ins first, in their fixed order, then third-party names sorted."""
    return list(BUILTIN) + sorted(_third_party())


def load(name: str) -> Backend | Unavailable:
    """Import one backend. A missing package is reported, not raised."""
    spec = BUILTIN.get(name)
    try:
        if spec is None:
            third = _third_party()
            if name not in third:
                return Unavailable(name, f"no backend named '{name}' (known: {', '.join(available_names())})")
            cls = third[name].load()
        else:
            module_name, cls_name = spec.target.split(":")
            cls = getattr(importlib.import_module(module_name), cls_name)
        return cls()
    except ImportError as exc:
        hint = spec.install_hint if spec else ""
        return Unavailable(name, f"cannot import {exc.name or 'a required package'}: {exc}", hint)
    except Exception as exc:  # a broken plug-in costs its rows, not the run
        return Unavailable(name, f"failed to load: {type(exc).__name__}: {exc}")


def status(name: str) -> tuple[bool, str]:
    """Whether a backend's packages are installed, without importing them."""
    spec = BUILTIN.get(name)
    if spec is None:
        return (name in _third_party(), "third-party backend (entry point)")
    missing = [pkg for pkg in spec.requires if importlib.util.find_spec(pkg) is None]
    if missing:
        return False, f"missing {', '.join(missing)}; install with: {spec.install_hint}"
    return True, ""
