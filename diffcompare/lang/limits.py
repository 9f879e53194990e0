"""Limits on what a problem file may ask for, so that no file can exhaust the machine.

Each is checked before the work it bounds: a file's size before it is read, YAML values
(aliases expanded) and integer digits while the YAML is composed, a point's elements
before any array is built, a sweep's members before any is made, and an expression's
length, nesting and graph size as it is parsed. Defaults are documented in the README;
each has a command-line flag (`--max-length`, `--max-depth`, `--max-elements`,
`--max-file-bytes`, `--max-yaml-nodes`, `--max-digits`, `--max-sweep`, `--max-nodes`)
that overrides it for a run, and is carried to worker processes as `current()`'s tuple,
which `configure(*current())` takes back.
"""

from __future__ import annotations

DEFAULTS = {
    "length": 10_000,  # characters in one expression
    "depth": 100,  # nested operations in an expression, let steps included; nesting of YAML
    # elements of a problem's point, all variables together, and of any intermediate value:
    # a run of every backend needs about 5 KB per element (README), so 2 * 10**6 fits in 24 GB
    "elements": 2_000_000,
    "file_bytes": 10_000_000,  # bytes in one problem file
    "yaml_nodes": 1_000_000,  # YAML values in one document, aliases expanded
    "digits": 400,  # digits of one integer (characters of one number) written in a file
    "sweep": 1_000,  # problems one sweep makes (the product of its lists' lengths)
    "nodes": 10_000,  # operations in one problem's expression graph (function, let, manual)
}
LIMITS = dict(DEFAULTS)


def configure(
    length: int | None = None,
    depth: int | None = None,
    elements: int | None = None,
    file_bytes: int | None = None,
    yaml_nodes: int | None = None,
    digits: int | None = None,
    sweep: int | None = None,
    nodes: int | None = None,
) -> None:
    """Set every limit; None (or a missing argument) means its default. The order is
    DEFAULTS' order, the order of current()'s tuple."""
    given = (length, depth, elements, file_bytes, yaml_nodes, digits, sweep, nodes)
    for key, value in zip(DEFAULTS, given, strict=True):
        LIMITS[key] = DEFAULTS[key] if value is None else max(1, int(value))


def current() -> tuple[int, ...]:
    """Every limit, in DEFAULTS' order: configure(*current()) changes nothing."""
    return tuple(LIMITS[key] for key in DEFAULTS)
