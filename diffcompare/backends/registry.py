"""Finding backends: the `diffcompare.backends` entry-point group, loaded lazily.

Every backend, built-in or not, is an entry point of the group
`diffcompare.backends` (pyproject.toml declares the built-ins), loaded only when
asked for, so that selecting `sympy` alone never imports torch or jax. What must
be known without importing a built-in (the packages it needs, the install hint,
the library whose version its rows carry) is in the BUILTIN table. A backend that
cannot be loaded is an Unavailable, whose rows are `skipped` with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import metadata
from importlib.metadata import EntryPoint

from diffcompare.backends.protocol import PROTOCOL_MEMBERS, Backend, error_line, one_line
from diffcompare.version import __version__

ENTRY_POINT_GROUP = "diffcompare.backends"


@dataclass(frozen=True)
class Spec:
    """What is known about a built-in backend without importing it (importing torch takes seconds)."""

    target: str  # "module:Class", as pyproject.toml declares it under [project.entry-points."diffcompare.backends"]
    library: str = "numpy"  # the distribution whose version its rows carry
    requires: tuple[str, ...] = ()  # importable packages it needs
    install_hint: str = ""


# The built-ins in their fixed order (the report's columns follow it).
BUILTIN: dict[str, Spec] = {
    "sympy": Spec("diffcompare.backends.sympy_backend:SympyBackend", "sympy", ("sympy",)),
    "symengine": Spec(
        "diffcompare.backends.symengine_backend:SymengineBackend",
        "symengine",
        ("symengine",),
        "pip install 'diffcompare[symengine]'",
    ),
    "casadi": Spec(
        "diffcompare.backends.casadi_backend:CasadiBackend", "casadi", ("casadi",), "pip install 'diffcompare[casadi]'"
    ),
    "torch": Spec(
        "diffcompare.backends.torch_backend:TorchBackend", "torch", ("torch",), "pip install 'diffcompare[torch]'"
    ),
    "jax": Spec("diffcompare.backends.jax_backend:JaxBackend", "jax", ("jax",), "pip install 'diffcompare[jax]'"),
    "tensorflow": Spec(
        "diffcompare.backends.tensorflow_backend:TensorflowBackend",
        "tensorflow-cpu",
        ("tensorflow",),
        "pip install 'diffcompare[tensorflow]'",
    ),
    "autograd": Spec(
        "diffcompare.backends.autograd_backend:AutogradBackend",
        "autograd",
        ("autograd", "scipy"),
        "pip install 'diffcompare[autograd]'",
    ),
    "chainrule": Spec("diffcompare.backends.chainrule:ChainRuleBackend"),
    "central": Spec("diffcompare.backends.central:CentralBackend"),
    "richardson": Spec("diffcompare.backends.richardson:RichardsonBackend"),
    "complex_step": Spec("diffcompare.backends.complex_step:ComplexStepBackend"),
    "manual": Spec("diffcompare.backends.given:ManualBackend"),
    "expected": Spec("diffcompare.backends.given:ExpectedBackend", library=""),
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


@dataclass(frozen=True)
class Registrations:
    entry_points: dict[str, EntryPoint]  # name -> the entry point it loads from, built-ins first
    notes: dict[str, list[str]]  # name -> registrations of that name that are not used, and why


def _origin(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "DIFFCOMPARE_BACKENDS"


@lru_cache(maxsize=8)
def _discover(from_environment: str, path: tuple[str, ...]) -> Registrations:
    """Built-ins load through diffcompare's own entry points; where diffcompare runs without
    installed metadata (a checkout on PYTHONPATH) through the BUILTIN table's target, the same
    "module:Class". Another registration of a built-in's name is noted and not used: a plug-in
    must not silently change what `torch` means in a report. Of two plug-ins with one name the
    first distribution by name wins. DIFFCOMPARE_BACKENDS="name=module:Class,…" adds backends
    that are not installed as a package (the tests' misbehaving ones) and wins over plug-ins."""
    chosen = {name: EntryPoint(name, spec.target, ENTRY_POINT_GROUP) for name, spec in BUILTIN.items()}
    notes: dict[str, list[str]] = {}
    installed = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, _origin(ep)))
    for ep in installed:
        if ep.name in BUILTIN and ep.value == BUILTIN[ep.name].target:
            chosen[ep.name] = ep
        elif ep.name in BUILTIN:
            notes.setdefault(ep.name, []).append(
                f"the entry point {ep.name} = {ep.value} of {_origin(ep)} is not used: built-in backends keep their names"
            )
        elif ep.name in chosen:
            notes.setdefault(ep.name, []).append(
                f"the entry point {ep.name} = {ep.value} of {_origin(ep)} is not used: {_origin(chosen[ep.name])} "
                "registers the same name"
            )
        else:
            chosen[ep.name] = ep
    for item in filter(None, from_environment.split(",")):
        name, _, target = (part.strip() for part in item.partition("="))
        if name and target and name not in BUILTIN:
            chosen[name] = EntryPoint(name, target, ENTRY_POINT_GROUP)
    return Registrations(chosen, notes)


def registrations() -> Registrations:
    return _discover(os.environ.get("DIFFCOMPARE_BACKENDS", ""), tuple(sys.path))


def available_names() -> list[str]:
    """Built-ins first, in their fixed order, then third-party names sorted."""
    return list(BUILTIN) + sorted(name for name in registrations().entry_points if name not in BUILTIN)


def load(name: str) -> Backend | Unavailable:
    """Import one backend and make it. Whatever goes wrong (a missing package, a plug-in that
    fails to import, a constructor that raises, an object that is not a backend) is reported
    as the reason of an Unavailable, whose rows are `skipped`; it is never raised."""
    ep = registrations().entry_points.get(name)
    if ep is None:
        return Unavailable(name, f"no backend named '{name}' (known: {', '.join(available_names())})")
    try:
        backend = ep.load()()
    except ImportError as exc:
        hint = BUILTIN[name].install_hint if name in BUILTIN else ""
        return Unavailable(name, f"cannot import {exc.name or 'a required package'}: {one_line(exc)}", hint)
    except (Exception, SystemExit) as exc:  # a broken plug-in costs its rows, not the run
        return Unavailable(name, f"failed to load {ep.value}: {error_line(exc)}")
    missing = [member for member in PROTOCOL_MEMBERS if not hasattr(backend, member)]
    if missing:
        return Unavailable(name, f"{ep.value} is not a backend: it has no {', '.join(missing)} (docs/extending.md)")
    return backend


def status(name: str) -> tuple[bool, str]:
    """Whether a backend is installed, and a note, without importing it: a built-in's
    packages are looked up with find_spec, a plug-in's module likewise and the
    requirements of its distribution in their installed metadata."""
    found = registrations()
    ep = found.entry_points.get(name)
    if ep is None:
        return False, f"no backend named '{name}'"
    if name in BUILTIN:
        missing = [pkg for pkg in BUILTIN[name].requires if importlib.util.find_spec(pkg) is None]
        note = f"missing {', '.join(missing)}; install with: {BUILTIN[name].install_hint}" if missing else ""
    else:
        missing = _missing_requirements(ep)
        note = f"{_origin(ep)}, entry point {ep.value}" + (f"; missing {', '.join(missing)}" if missing else "")
    return not missing, "; ".join(filter(None, [note, *found.notes.get(name, [])]))


def _missing_requirements(ep: EntryPoint) -> list[str]:
    """The plug-in's top-level module, if it cannot be found, and its distribution's
    requirements that are not installed. Nothing is imported."""
    try:
        top = ep.module.split(".")[0]
        missing = [] if importlib.util.find_spec(top) is not None else [top]
    except (AttributeError, ValueError, ImportError):
        missing = [ep.value]
    dist = getattr(ep, "dist", None)
    for text in (dist.requires or []) if dist is not None else []:
        name = _required_name(text)
        if name:
            try:
                metadata.version(name)
            except metadata.PackageNotFoundError:
                missing.append(name)
    return missing


def _required_name(text: str) -> str:
    """The distribution a Requires-Dist line asks for, or "" where its marker does not
    apply here (an extra, another Python)."""
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # packaging comes with matplotlib; without it, names only
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
        return match.group(0) if match and ";" not in text else ""
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return ""
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
        return ""
    return requirement.name


def library_version(name: str, backend: Backend | Unavailable | None = None) -> str:
    """'torch 2.13.0+cpu': the library a backend's rows come from and its installed version,
    for the `library_version` column. A loaded backend names it (`library`); for one that
    is not loaded only a built-in's is known. "" where there is none, or it is not installed."""
    if backend is not None and not isinstance(backend, Unavailable):
        library = getattr(backend, "library", "")
    else:
        library = BUILTIN[name].library if name in BUILTIN else ""
    return _installed_version(library) if isinstance(library, str) else ""


@cache
def _installed_version(library: str) -> str:
    if not library:
        return ""
    try:
        return f"{library} {metadata.version(library)}"
    except metadata.PackageNotFoundError:
        # on a path without installed metadata: the module's own __version__, if it is imported already
        version = getattr(sys.modules.get(library), "__version__", "")
        return f"{library} {version}" if version else ""


@lru_cache(maxsize=1)
def run_versions() -> dict[str, str]:
    """The versions every row carries besides its library's: diffcompare's and Python's."""
    return {"diffcompare_version": __version__, "python_version": platform.python_version()}
