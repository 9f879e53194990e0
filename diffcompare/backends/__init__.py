"""Backends behind one small protocol, found through entry points, imported lazily.

protocol.py is what a backend is (Gradient, Method, SkipCell, Backend, BaseBackend);
registry.py finds and loads them (the entry-point group `diffcompare.backends`, the
BUILTIN table, versions); one module per built-in backend. Both are re-exported here:
a plug-in writes `from diffcompare.backends import BaseBackend, Gradient`, and the
runner `from diffcompare import backends as registry`. docs/extending.md walks
through writing one.
"""

# OpenMP's waiting threads bounded (backends.threads.quiet_pools) before any backend loads torch.
import diffcompare.backends.threads  # noqa: F401
from diffcompare.backends.protocol import (
    PROTOCOL_MEMBERS,
    Backend,
    BaseBackend,
    Gradient,
    Method,
    SkipCell,
    compute,
    default_mode,
    error_line,
    modes_of,
    one_line,
    refusals_skipped,
)
from diffcompare.backends.registry import (
    BUILTIN,
    ENTRY_POINT_GROUP,
    Registrations,
    Spec,
    Unavailable,
    available_names,
    library_version,
    load,
    registrations,
    run_versions,
    status,
)

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "PROTOCOL_MEMBERS",
    "Backend",
    "BaseBackend",
    "Gradient",
    "Method",
    "Registrations",
    "SkipCell",
    "Spec",
    "Unavailable",
    "available_names",
    "compute",
    "default_mode",
    "error_line",
    "library_version",
    "load",
    "modes_of",
    "one_line",
    "refusals_skipped",
    "registrations",
    "run_versions",
    "status",
]
