"""Limits on what a problem file may ask for, so that no file can exhaust the machine.

Defaults are documented in the README; `--max-length`, `--max-depth` and
`--max-elements` override them for a run (and are carried to worker processes).
"""

from __future__ import annotations

DEFAULTS = {
    "length": 10_000,  # characters in one expression
    "depth": 100,  # nested operations in one expression
    "elements": 10_000_000,  # elements in one point value (an array)
}
LIMITS = dict(DEFAULTS)


def configure(length: int | None = None, depth: int | None = None, elements: int | None = None) -> None:
    for key, value in (("length", length), ("depth", depth), ("elements", elements)):
        LIMITS[key] = DEFAULTS[key] if value is None else max(1, int(value))


def current() -> tuple[int, int, int]:
    return LIMITS["length"], LIMITS["depth"], LIMITS["elements"]
