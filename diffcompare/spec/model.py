"""The problem-file format as a pydantic model: what each key may hold.

One model both validates every document (unknown keys refused) and is the source of
the JSON Schema (diffcompare.spec.schema), so the two cannot drift apart. Numbers keep
the precision they were written at (`Numbers`), for `expected:` values judged at it.
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from typing_extensions import TypeAliasType

from diffcompare.lang.limits import LIMITS
from diffcompare.lang.primitives import FUNCTIONS
from diffcompare.spec.generators import NUMBER_TEXT, SEXAGESIMAL, UNSIGNED_TEXT, generate, generated_size, shown
from diffcompare.spec.operators import OPERATOR_NAMES, OPERATORS


@dataclass(frozen=True)
class Numbers:
    """A number or array from the file, with the decimal precision it was written at."""

    values: np.ndarray  # float64
    half_units: np.ndarray  # half a unit in the last written digit, per element
    # what the written decimal holds beyond its float64 (-87.999999999999979 is 2.1e-15 past
    # the nearest float64), so that a value is judged as written, not as float64 rounds it
    remainders: np.ndarray | None = None


def _text_hint(text: str) -> str:
    """Why a text that looks like a number is not read as one."""
    if SEXAGESIMAL.match(text.strip()):
        return " (YAML 1.1 reads it as a base-60 number; diffcompare does not: write the number itself)"
    if any(c.isdigit() and not c.isascii() for c in text):
        return " (only the digits 0-9 are read as numbers)"
    if any(c.isalpha() or c in "*/()" for c in text):
        return " (a point holds numbers, not expressions: write the number, or compute it in `let:`)"
    return ""


def _to_number(value: Any) -> tuple[float, float, float]:
    """One scalar from YAML -> (float, half a unit in its last written digit, the written
    decimal minus that float)."""
    if value is None:
        raise ValueError("expected a number, got nothing (an empty value or null): write a number")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        hint = (
            " (YAML reads yes, no, true, false, on and off as booleans): write 1 or 0"
            if isinstance(value, bool)
            else ""
        )
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}{hint}")
    if isinstance(value, str) and not NUMBER_TEXT.match(value.strip()):
        raise ValueError(f"expected a number, got the text {value!r}{_text_hint(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer past float64's range
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {shown(value)}")
    # The text as written where the loader kept it (spec.safeyaml.WrittenFloat): repr(480.00000000000000)
    # is "480.0", which would judge a 17-digit value at ±0.05.
    text = value if isinstance(value, str) else getattr(value, "text", None) or repr(value)
    try:
        written = Decimal(text.strip().replace("_", ""))
        exponent = written.as_tuple().exponent
        remainder = float(written - Decimal(number)) if math.isfinite(number) else 0.0
    except InvalidOperation:
        exponent, remainder = 0, 0.0
    # Half a unit in the last written digit, past float64's range as inf or 0 (0e400 is a finite zero).
    half = float(Decimal(5).scaleb(int(exponent) - 1)) if isinstance(exponent, int) else 0.0
    return number, half, remainder


def nested_shape(value: list) -> tuple[int, ...]:
    """The shape of nested lists, from their first elements, checked against the elements
    limit before anything is built; to_numbers then checks that every row fits it."""
    shape: list[int] = []
    item: Any = value
    while isinstance(item, list):
        if not item:
            raise ValueError("an array must not be empty")
        if len(shape) >= LIMITS["depth"]:
            raise ValueError(f"nested lists deeper than the limit of {LIMITS['depth']}")
        shape.append(len(item))
        item = item[0]
    size = math.prod(shape)
    if size > LIMITS["elements"]:
        raise ValueError(f"array has {size} elements; the limit is {LIMITS['elements']}")
    return tuple(shape)


def to_numbers(value: Any) -> Numbers:
    """A number or a rectangular nested list of numbers."""
    if isinstance(value, list):
        shape = nested_shape(value)
        flat: list = [value]
        for length in shape:
            rows, flat = flat, []
            for row in rows:
                if not isinstance(row, list) or len(row) != length:
                    raise ValueError("nested lists must be rectangular (every row the same length)")
                flat.extend(row)
        if any(isinstance(v, list) for v in flat):
            raise ValueError("nested lists must be rectangular (every row the same length)")
        pairs = [_to_number(v) for v in flat]
        values = np.array([p[0] for p in pairs], dtype=np.float64).reshape(shape)
        halves = np.array([p[1] for p in pairs], dtype=np.float64).reshape(shape)
        remainders = np.array([p[2] for p in pairs], dtype=np.float64).reshape(shape)
        return Numbers(values, halves, remainders)
    number, half, remainder = _to_number(value)
    return Numbers(np.array(number, dtype=np.float64), np.array(half), np.array(remainder))


def _expression_text(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(
            f"expected an expression, got the boolean {value} (YAML reads yes, no, true, false, on and off "
            "as booleans): quote it"
        )
    if not isinstance(value, (str, int, float)):
        kind = "nothing (an empty value)" if value is None else type(value).__name__
        raise ValueError(
            f"expected an expression, got {kind}: write the expression as text, quoted if it holds ': ' or starts with [ or {{"
        )
    return value if isinstance(value, str) else repr(value)


# What a file may write under each key, as the JSON Schema describes it
# (`python -m diffcompare schema`, diffcompare.spec.schema). These types only describe:
# ProblemSpec validates with its own annotations and validators, and a key whose
# written form differs from its validated form (numbers as text, generators, arrays
# of any depth) names its written form with _written_as. Keeping both in one model
# is what stops the schema and the loader from drifting apart. What no JSON Schema
# can say (expression syntax, unknown names, shapes that do not fit, rectangular
# arrays, identifiers, low < high) stays with the loader alone.
NumberText = Annotated[
    str,
    StringConstraints(pattern=NUMBER_TEXT.pattern),
    Field(description="a number PyYAML reads as text, such as 1e-8 (no dot): accepted as the number"),
]
NonNegativeText = Annotated[str, StringConstraints(pattern=r"^\+?" + UNSIGNED_TEXT)]
Scalar = float | NumberText
NumberArray = TypeAliasType(
    "NumberArray",
    Annotated[
        list[Union[Scalar, "NumberArray"]],  # noqa: UP007 (| cannot take the forward reference)
        Field(
            min_length=1,
            description="nested lists of numbers, an array; every row the same length (checked when loaded)",
        ),
    ],
)
Count = (
    Annotated[int, Field(ge=1)]
    | Annotated[str, Field(description="an expression of the sweep parameters with a positive integer value: 2 * n")]
)
Shape = Count | Annotated[list[Count], Field(min_length=1)]
Expression = str | float


class _Generator(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FillGenerator(_Generator):
    """An array of one value: {shape: [3, 4], fill: 0.5}."""

    shape: Shape = Field(description="sizes: [3, 4], [n], or one size")
    fill: Scalar


class NormalGenerator(_Generator):
    """Standard normal numbers from a fixed seed: {shape: [n], random: normal, seed: 0}."""

    shape: Shape = Field(description="sizes: [3, 4], [n], or one size")
    random: Literal["normal"]
    seed: int = Field(default=0, ge=0, description="the same seed gives the same numbers on every run")


class UniformGenerator(_Generator):
    """Uniform numbers in [low, high) from a fixed seed: {shape: [n], random: uniform, low: -1, high: 1}."""

    shape: Shape = Field(description="sizes: [3, 4], [n], or one size")
    random: Literal["uniform"]
    low: Scalar = Field(default=0.0, description="less than high (checked when loaded)")
    high: Scalar = 1.0
    seed: int = Field(default=0, ge=0, description="the same seed gives the same numbers on every run")


class LinspaceGenerator(_Generator):
    """Evenly spaced numbers: {linspace: [start, stop, count]}."""

    linspace: tuple[Scalar, Scalar, Count]


PointValue = Scalar | NumberArray | FillGenerator | NormalGenerator | UniformGenerator | LinspaceGenerator


def _written_as(input_type: Any) -> BeforeValidator:
    """Marks what a file may write under a key, for the JSON Schema only; validation is unchanged."""
    return BeforeValidator(lambda value: value, json_schema_input_type=input_type)


class ToleranceSpec(BaseModel):
    """Replaces the default rules for this problem: a row agrees when rel_error <= rtol or abs_error <= atol."""

    model_config = ConfigDict(extra="forbid")
    rtol: Annotated[float | None, _written_as(Annotated[float, Field(ge=0)] | NonNegativeText | None)] = Field(
        default=None, ge=0, allow_inf_nan=False, description="relative tolerance, at least 0"
    )
    atol: Annotated[float | None, _written_as(Annotated[float, Field(ge=0)] | NonNegativeText | None)] = Field(
        default=None, ge=0, allow_inf_nan=False, description="absolute tolerance, at least 0"
    )


# The language in one paragraph for editors (the schema's description of `function`), its
# function names read from the primitive table so that a new primitive is listed at once.
FUNCTION_DESCRIPTION = (
    "The function, a Python expression of the variables and let names (sin(x**2), sum(x * y), A @ v); "
    "its value must be a scalar (an array, as [x[0] * x[1], sin(x[0])], for operator jacobian, jvp or vjp). Required. Operators: + - * / ** % @, unary -; comparisons < <= > >= == != "
    "only as where's condition; the constants pi and e. Functions: "
    + ", ".join(sorted(FUNCTIONS))
    + ". Reductions (sum mean prod max min norm logsumexp) take axis= (an integer or a tuple); max and min "
    "of several arguments; softmax and log_softmax take axis=. Arrays: list literals [a, b] and [[a, b], [c, d]], "
    "A.T; indexing with integer constants and slices (x[0], x[1:], A[:, 1]) and with an integer array from "
    "the point outside wrt (x[idx]); index loops with constant bounds as the one argument of a reduction: "
    "sum(i * x[i] ** 2 for i in range(n)). See the README's 'The expression language'."
)


class ProblemSpec(BaseModel):
    """One problem: a function, the point where its derivative (`operator:`) is taken, and what to check there."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, title="diffcompare problem")

    function: str = Field(description=FUNCTION_DESCRIPTION)
    point: Annotated[dict[str, Any], _written_as(Annotated[dict[str, PointValue], Field(min_length=1)])] = Field(
        description="The point: variable -> number, nested lists of numbers (an array), or a generator "
        "({shape: [n], fill: 0.5}, {shape: [n], random: normal}, {linspace: [0, 1, n]}). Required."
    )
    let: dict[str, str] = Field(
        default_factory=dict,
        description="Named steps, in order: name -> expression of the variables and earlier names. "
        "The chain-rule tape shows these names.",
    )
    wrt: Annotated[
        list[str] | None,
        _written_as(Annotated[list[str], Field(min_length=1, json_schema_extra={"uniqueItems": True})] | None),
    ] = Field(
        default=None,
        description="The variables to differentiate (default: every variable of point); the others are held constant.",
    )
    operator: Literal[OPERATOR_NAMES] = Field(  # type: ignore[valid-type]
        default="gradient",
        description="What to compute: "
        + "; ".join(f"{op.name}: {op.description}" for op in OPERATORS.values())
        + ". Default gradient.",
    )
    direction: str | dict[str, str] | None = Field(
        default=None,
        description="hvp and jvp: the point variable that holds the direction v (not differentiated), "
        "or wrt variable -> point variable where several are differentiated.",
    )
    cotangent: str | None = Field(
        default=None,
        description="vjp: the point variable that holds the cotangent u, of the function's shape (not differentiated).",
    )
    manual: dict[str, str] = Field(
        default_factory=dict,
        description="Your hand-derived partial derivatives: variable -> expression for df/dvariable, "
        "of the variables and let names (for another operator: its result's name, as the rows' "
        "variable column names it, -> an expression of its shape). They become the manual rows.",
    )
    expected: Annotated[dict[str, Any], _written_as(dict[str, Scalar | NumberArray])] = Field(
        default_factory=dict,
        description="Numbers from elsewhere (a notebook, a paper): variable (or the operator's result "
        "name) -> number or nested lists. They become the expected rows, judged at the precision they are written with.",
    )
    tolerance: ToleranceSpec | None = Field(
        default=None,
        description="rtol, atol: replace the default rules for this problem; a row agrees when "
        "rel_error <= rtol or abs_error <= atol.",
    )
    dtypes: Annotated[
        list[Literal["float32", "float64"]] | None,
        _written_as(Annotated[list[Literal["float32", "float64"]], Field(min_length=1)] | None),
    ] = Field(default=None, description="A subset of [float32, float64] (default: both).")
    name: str | None = Field(
        default=None,
        description="The problem's name in reports (default: the file stem; -2, -3 ... for later documents).",
    )
    description: str | None = Field(default=None, description="What the problem shows.")
    source: str | None = Field(default=None, description="Where it comes from (a notebook, a paper, an issue).")
    tags: list[str] = Field(default_factory=list, description="Labels.")
    sweep: Annotated[
        dict[str, list[float]] | None,
        _written_as(Annotated[dict[str, Annotated[list[Scalar], Field(min_length=1)]], Field(min_length=1)] | None),
    ] = Field(
        default=None,
        description="A family of problems: parameter -> list of numbers, one problem per value (per "
        "combination, with several keys), named name[n=1000]. Parameters may appear in shapes, in "
        "linspace's count and in every expression.",
    )

    @field_validator("function", mode="before", json_schema_input_type=Expression)
    @classmethod
    def _function_text(cls, value):
        return _expression_text(value)

    @field_validator("let", "manual", mode="before", json_schema_input_type=dict[str, Expression])
    @classmethod
    def _expression_map(cls, value):
        if not isinstance(value, dict):
            raise ValueError("expected a mapping of name: expression")
        return {k: _expression_text(v) for k, v in value.items()}

    @field_validator("point")
    @classmethod
    def _point_values(cls, value, info: ValidationInfo):
        params = (info.context or {}).get("params", {})
        total = 0  # every element of the point, counted before any array is built
        for k, v in value.items():
            try:
                total += (
                    generated_size(v, params)
                    if isinstance(v, dict)
                    else math.prod(nested_shape(v))
                    if isinstance(v, list)
                    else 1
                )
            except ValueError as exc:
                raise ValueError(f"'{k}': {exc}") from None
            if total > LIMITS["elements"]:
                raise ValueError(
                    f"the point has more than {LIMITS['elements']} elements in all; the limit is {LIMITS['elements']}"
                )
        out = {}
        for k, v in value.items():
            if isinstance(v, dict):
                try:
                    array = generate(v, params)
                except ValueError as exc:
                    raise ValueError(f"'{k}': {exc}") from None
                out[k] = Numbers(array, np.zeros_like(array))
            else:
                out[k] = to_numbers(v)
        return out

    @field_validator("expected")
    @classmethod
    def _number_map(cls, value):
        out = {}
        for k, v in value.items():
            try:
                out[k] = to_numbers(v)
            except ValueError as exc:
                raise ValueError(f"'{k}': {exc}") from None
        return out

    @field_validator("point")
    @classmethod
    def _point_names(cls, value):
        if not value:
            raise ValueError("needs at least one variable")
        for name in value:
            check_new_name(name, "variable")
        return value


def check_new_name(name: Any, what: str) -> None:
    if isinstance(name, str) and keyword.iskeyword(name):
        raise ValueError(f"{what} name {name!r} is a Python keyword: choose another name, as {name}_")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"{what} name {name!r} is not a valid identifier: use letters, digits and _, not starting with a digit"
        )
    # Shadowing the constants pi and e is allowed (a step named e is common);
    # a function name is not, since calls are resolved by name.
    if name in FUNCTIONS:
        raise ValueError(
            f"{what} name '{name}' is reserved: it is a function of the language; choose another name, as {name}_"
        )
