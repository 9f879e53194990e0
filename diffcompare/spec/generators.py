"""Large inputs without large files, and problem families.

A `point` value may be a generator instead of numbers:
    {shape: [1000], fill: 0.5}
    {shape: [n, n], random: normal, seed: 0}          (standard normal)
    {shape: [n], random: uniform, low: -1, high: 1, seed: 3}
    {linspace: [start, stop, count]}
and a problem may carry `sweep: {n: [10, 100, 1000]}`: one problem per value
(per combination, with several keys), named `name[n=1000]`. Sweep parameters
may appear in shapes, in linspace's count and in every expression, where they
are constants. Shape entries are integers or expressions of the parameters
("n", "2*n + 1"), parsed with the same whitelist as the function.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np

from diffcompare.lang.ir import Node, ShapeError, infer_shapes
from diffcompare.lang.limits import LIMITS
from diffcompare.lang.parser import ExpressionError, parse_expression

GENERATORS = {
    "fill": {"shape", "fill"},
    "random": {"shape", "random", "seed", "low", "high"},
    "linspace": {"linspace"},
}


def parameter_scope(params: dict[str, float]) -> dict[str, Node]:
    return {name: Node("const", attr=value, text=name) for name, value in params.items()}


# PyYAML reads 1e-8 (no dot) as a string; a user means the number. One rule for every
# number a problem file holds (spec/model.py's point and expected values use it too).
# Only the ASCII digits: float() would read "١٢" as 12, which YAML never does.
UNSIGNED_TEXT = r"([0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)([eE][+-]?[0-9]+)?$"
NUMBER_TEXT = re.compile(r"^[+-]?" + UNSIGNED_TEXT)
# YAML 1.1's base-60 numbers (1:30 is 90); diffcompare reads them as the text they are in YAML 1.2.
SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")


def shown(value: Any) -> str:
    """A value for a message: an integer too large for float64 by its size, not its digits."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1024:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    return repr(value)


def _number(value: Any, what: str) -> float:
    number = None
    if isinstance(value, str) and NUMBER_TEXT.match(value.strip()):
        number = float(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer past float64's range
            number = math.inf
    if number is None or not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {shown(value)}")
    return number


def resolve_count(value: Any, params: dict[str, float], what: str) -> int:
    """An integer, or an expression of the sweep parameters with an integer value."""
    if isinstance(value, str):
        try:
            node = parse_expression(value, parameter_scope(params))
            infer_shapes(node, {})
        except (ExpressionError, ShapeError) as exc:
            raise ValueError(f"{what} '{value}': {exc}") from None
        if node.const_value is None:
            raise ValueError(f"{what} '{value}' must be a constant")
        value = node.const_value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _shape(spec: dict, params: dict) -> tuple[int, ...]:
    shape = spec["shape"]
    if isinstance(shape, (int, str)) and not isinstance(shape, bool):
        shape = [shape]
    if not isinstance(shape, list) or not shape:
        raise ValueError(f"shape must be a list of sizes, got {shape!r}")
    dims = tuple(resolve_count(d, params, "a shape entry") for d in shape)
    if math.prod(dims) > LIMITS["elements"]:
        raise ValueError(f"shape {dims} has {math.prod(dims)} elements; the limit is {LIMITS['elements']}")
    return dims


def _kind(spec: dict) -> str:
    kind = next((k for k in GENERATORS if k in spec), None)
    if kind is None:
        raise ValueError("a generator needs one of fill, random or linspace")
    unknown = set(spec) - GENERATORS[kind]
    if unknown:
        raise ValueError(f"unknown generator key(s) {sorted(unknown)} for {kind} (allowed: {sorted(GENERATORS[kind])})")
    return kind


def _linspace_count(spec: dict, params: dict) -> int:
    args = spec["linspace"]
    if not isinstance(args, list) or len(args) != 3:
        raise ValueError("linspace takes [start, stop, count]")
    count = resolve_count(args[2], params, "linspace count")
    if count > LIMITS["elements"]:
        raise ValueError(f"linspace count {count} exceeds the limit of {LIMITS['elements']}")
    return count


def generated_size(spec: dict, params: dict[str, float]) -> int:
    """The elements a generator mapping would make, found without making them."""
    kind = _kind(spec)
    if kind == "linspace":
        return _linspace_count(spec, params)
    if "shape" not in spec:
        raise ValueError(f"{kind} needs a shape")
    return math.prod(_shape(spec, params))


def generate(spec: dict, params: dict[str, float]) -> np.ndarray:
    """The array a generator mapping describes (float64)."""
    kind = _kind(spec)
    if kind == "linspace":
        count = _linspace_count(spec, params)
        return np.linspace(_number(spec["linspace"][0], "start"), _number(spec["linspace"][1], "stop"), count)
    if "shape" not in spec:
        raise ValueError(f"{kind} needs a shape")
    shape = _shape(spec, params)
    if kind == "fill":
        return np.full(shape, _number(spec["fill"], "fill"), dtype=np.float64)
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(seed)  # fixed seed: two runs see the same numbers
    if spec["random"] == "normal":
        if "low" in spec or "high" in spec:
            raise ValueError("low and high belong to random: uniform")
        return rng.standard_normal(shape)
    if spec["random"] == "uniform":
        low, high = _number(spec.get("low", 0.0), "low"), _number(spec.get("high", 1.0), "high")
        if not low < high:
            raise ValueError(f"uniform needs low < high, got {low} and {high}")
        if not math.isfinite(high - low):
            raise ValueError(f"uniform needs high - low to be a finite number, got {low} and {high}")
        return rng.uniform(low, high, shape)
    raise ValueError(f"random must be normal or uniform, got {spec['random']!r}")


def expand_sweep(sweep: Any) -> list[dict[str, float]]:
    """sweep: {n: [10, 100]} -> [{n: 10}, {n: 100}]; several keys give every combination."""
    if sweep is None:
        return [{}]
    if not isinstance(sweep, dict) or not sweep:
        raise ValueError("sweep must be a mapping of name: [values]")
    numbers = {}
    for name, values in sweep.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"sweep name {name!r} is not a valid identifier")
        if not isinstance(values, list) or not values:
            raise ValueError(f"sweep.{name} must be a non-empty list of numbers")
    members = math.prod(len(values) for values in sweep.values())
    if members > LIMITS["sweep"]:
        sizes = " × ".join(str(len(values)) for values in sweep.values())
        raise ValueError(f"the sweep makes {sizes} = {members} problems; the limit is {LIMITS['sweep']} (--max-sweep)")
    for name, values in sweep.items():
        numbers[name] = [_number(v, f"sweep.{name} values") for v in values]
    return [dict(zip(numbers, combo)) for combo in itertools.product(*numbers.values())]


def sweep_label(params: dict[str, float]) -> str:
    def text(v):
        return str(int(v)) if float(v).is_integer() else repr(v)

    return "[" + ",".join(f"{k}={text(v)}" for k, v in params.items()) + "]" if params else ""
