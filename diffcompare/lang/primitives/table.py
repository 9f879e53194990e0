"""The one primitive table, PRIMITIVES, in declaration order (the fuzzer draws from its lists
in that order), the names a problem may call, and each library's table of functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module

from diffcompare.lang.primitives.arrays import ARRAYS, INTERNAL
from diffcompare.lang.primitives.core import LIBRARY_ROOTS, Primitive, Unavailable, _table, native
from diffcompare.lang.primitives.elementary import ARITHMETIC, ELEMENTARY, NEG
from diffcompare.lang.primitives.piecewise import COMPARISONS, KINKED, PIECEWISE_CONSTANT
from diffcompare.lang.primitives.reductions import REDUCTIONS
from diffcompare.lang.primitives.softmax import NORMALIZERS
from diffcompare.lang.primitives.special import SPECIAL

PRIMITIVES: dict[str, Primitive] = _table(
    *ARITHMETIC,
    *ELEMENTARY,
    *SPECIAL,
    NEG,
    *KINKED,
    *PIECEWISE_CONSTANT,
    *COMPARISONS,
    *REDUCTIONS,
    *ARRAYS,
    *NORMALIZERS,
)

# The names a problem may call, with their arity; operators map to the rest.
FUNCTIONS: dict[str, int] = {
    name: p.arity
    for name, p in PRIMITIVES.items()
    if p.kind != "compare" and p.operator is None and name not in INTERNAL
}


def library_ops(library: str, *, own: Mapping[str, Callable] | None = None, like: str | None = None) -> dict:
    """{primitive name: function} for every primitive, for Program: the library's own
    adapters (`own`) where given, else `native` (an Unavailable where the declaration says
    the library lacks it: Program refuses it with the reason). Imports the library."""
    own = own or {}
    module = import_module(LIBRARY_ROOTS.get(library, library))
    return {name: own[name] if name in own else _entry(p, library, module, like) for name, p in PRIMITIVES.items()}


def _entry(p: Primitive, library: str, module, like: str | None):
    try:
        return native(p, library, module=module, like=like)
    except LookupError:  # no name declared, none by the convention: lowering says so
        return Unavailable(library, p.name, "no function of it is declared or found by the naming convention")
