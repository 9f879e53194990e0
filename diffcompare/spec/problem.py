"""Problem files: YAML -> validated Problem with its IR.

`yaml.safe_load_all` only; the schema is a pydantic model with unknown keys
forbidden; expressions go through diffcompare.lang.parser. Every failure becomes a
ProblemError whose one-line message names the file, the problem and the key.
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from typing_extensions import TypeAliasType

from diffcompare.lang.ir import Node, ShapeError, infer_shapes
from diffcompare.lang.limits import LIMITS
from diffcompare.lang.parser import ExpressionError, parse_expression
from diffcompare.lang.primitives import FUNCTIONS
from diffcompare.spec.generators import NUMBER_TEXT, UNSIGNED_TEXT, expand_sweep, generate, parameter_scope, sweep_label
from diffcompare.spec.yamlmap import key_maps

DTYPES = ("float32", "float64")


class ProblemError(ValueError):
    """Bad input. str() is one line: file (and line, where known), problem, key, what is wrong."""

    def __init__(self, file: str, problem: str, key: str, message: str, line: int | None = None):
        self.file, self.problem, self.key, self.message, self.line = file, problem, key, message, line
        where = f"key '{key}'" if key else "document"
        place = f"{file}:{line}" if line else file
        super().__init__(f"{place}: problem '{problem}': {where}: {message}")

    def at(self, keys) -> ProblemError:
        """The same error, with the line of its key in the file (a yamlmap.KeyMap)."""
        line = keys.line_of(self.key) if keys is not None else None
        return ProblemError(self.file, self.problem, self.key, self.message, line) if line else self


@dataclass(frozen=True)
class Numbers:
    """A number or array from the file, with the decimal precision it was written at."""

    values: np.ndarray  # float64
    half_units: np.ndarray  # half a unit in the last written digit, per element


def _to_number(value: Any) -> tuple[float, float]:
    """One scalar from YAML -> (float, half a unit in its last written digit)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")
    text = value if isinstance(value, str) else repr(value)
    if isinstance(value, str) and not NUMBER_TEXT.match(value.strip()):
        raise ValueError(f"expected a number, got the text {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    try:
        exponent = Decimal(text.strip().replace("_", "")).as_tuple().exponent
    except InvalidOperation:
        exponent = 0
    return number, 0.5 * 10.0 ** int(exponent)


def to_numbers(value: Any) -> Numbers:
    """A number or a rectangular nested list of numbers."""
    if isinstance(value, list):
        try:
            shape = np.shape(np.array(value, dtype=object))
            flat = np.array(value, dtype=object).ravel()
        except ValueError:
            raise ValueError("nested lists must be rectangular (every row the same length)") from None
        if flat.size > LIMITS["elements"]:
            raise ValueError(f"array has {flat.size} elements; the limit is {LIMITS['elements']}")
        if not flat.size:
            raise ValueError("an array must not be empty")
        if any(isinstance(v, list) for v in flat):
            raise ValueError("nested lists must be rectangular (every row the same length)")
        pairs = [_to_number(v) for v in flat]
        values = np.array([p[0] for p in pairs], dtype=np.float64).reshape(shape)
        halves = np.array([p[1] for p in pairs], dtype=np.float64).reshape(shape)
        return Numbers(values, halves)
    number, half = _to_number(value)
    return Numbers(np.array(number, dtype=np.float64), np.array(half))


def _expression_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected an expression, got {type(value).__name__}")
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


class ProblemSpec(BaseModel):
    """One problem: a scalar function, the point where its gradient is taken, and what to check there."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, title="diffcompare problem")

    function: str = Field(
        description="The function, a Python expression of the variables and let names "
        "(sin(x**2), sum(x * y), A @ v); its value must be a scalar. Required."
    )
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
        list[str] | None, _written_as(Annotated[list[str], Field(json_schema_extra={"uniqueItems": True})] | None)
    ] = Field(
        default=None,
        description="The variables to differentiate (default: every variable of point); the others are held constant.",
    )
    manual: dict[str, str] = Field(
        default_factory=dict,
        description="Your hand-derived partial derivatives: variable -> expression for df/dvariable, "
        "of the variables and let names. They become the manual rows.",
    )
    expected: Annotated[dict[str, Any], _written_as(dict[str, Scalar | NumberArray])] = Field(
        default_factory=dict,
        description="Numbers from elsewhere (a notebook, a paper): variable -> number or nested lists. "
        "They become the expected rows, judged at the precision they are written with.",
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
        return {k: to_numbers(v) for k, v in value.items()}

    @field_validator("point")
    @classmethod
    def _point_names(cls, value):
        if not value:
            raise ValueError("needs at least one variable")
        for name in value:
            _check_new_name(name, "variable")
        return value


def _check_new_name(name: Any, what: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{what} name {name!r} is not a valid identifier")
    # Shadowing the constants pi and e is allowed (a step named e is common);
    # a function name is not, since calls are resolved by name.
    if name in FUNCTIONS:
        raise ValueError(f"{what} name '{name}' is reserved: it is a function of the language")


@dataclass(eq=False)
class Problem:
    name: str
    file: str
    function: Node
    point: dict[str, np.ndarray]
    wrt: list[str]
    lets: dict[str, Node] = field(default_factory=dict)
    manual: dict[str, Node] = field(default_factory=dict)
    expected: dict[str, Numbers] = field(default_factory=dict)
    rtol: float | None = None
    atol: float | None = None
    dtypes: tuple[str, ...] = DTYPES
    description: str = ""
    source: str = ""
    tags: tuple[str, ...] = ()
    text: str = ""  # the function as written
    params: dict = field(default_factory=dict)  # this member's sweep parameters
    default_name: str = ""  # the name it gets without a `name:` key (file stem, -2 …)
    document: dict = field(default_factory=dict, repr=False)  # the YAML it came from, to rebuild it elsewhere

    @property
    def size(self) -> int:
        """Elements differentiated."""
        return int(sum(self.point[v].size for v in self.wrt))


def _pydantic_message(file: str, problem: str, exc: ValidationError) -> ProblemError:
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    key = ".".join(loc)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(ProblemSpec.model_fields)
        message = f"unknown key (allowed: {allowed})"
    elif err["type"] == "missing":
        message = "required key is missing"
    elif err["type"] == "literal_error":
        message = f"{message}, got {err['input']!r}"
    return ProblemError(file, problem, key, message)


def _base_name(document: Any, default_name: str) -> str:
    return (
        document.get("name") if isinstance(document, dict) and isinstance(document.get("name"), str) else default_name
    )


def build_problems(document: Any, file: str, default_name: str) -> tuple[list[Problem], list[ProblemError]]:
    """One problem, or one per member of its `sweep`; an error per member that fails."""
    name = _base_name(document, default_name)
    try:
        members = expand_sweep(document.get("sweep")) if isinstance(document, dict) else [{}]
    except ValueError as exc:
        return [], [ProblemError(file, name, "sweep", str(exc))]
    problems, errors = [], []
    for params in members:
        try:
            problems.append(build_problem(document, file, default_name, params))
        except ProblemError as exc:
            errors.append(exc)
    return problems, errors


def build_problem(document: Any, file: str, default_name: str, params: dict | None = None) -> Problem:
    """Validate one YAML document (one sweep member) and parse its expressions into the IR."""
    if not isinstance(document, dict):
        kind = "empty" if document is None else f"a {type(document).__name__}"
        raise ProblemError(file, default_name, "", f"a problem must be a mapping of keys, this document is {kind}")
    params = params or {}
    name = _base_name(document, default_name) + sweep_label(params)
    try:
        spec = ProblemSpec.model_validate(document, context={"params": params})
    except ValidationError as exc:
        raise _pydantic_message(file, name, exc) from None

    def fail(key: str, message: str) -> ProblemError:
        return ProblemError(file, name, key, message)

    point = {k: v.values for k, v in spec.point.items()}
    for k in point:
        if k in params:
            raise fail(f"point.{k}", f"'{k}' is also a sweep parameter")
    scope: dict[str, Node] = {**parameter_scope(params), **{k: Node("var", attr=k, text=k) for k in point}}
    shapes = {k: v.shape for k, v in point.items()}

    def parse(key: str, text: str) -> Node:
        try:
            node = parse_expression(text, scope)
            infer_shapes(node, shapes)
        except (ExpressionError, ShapeError) as exc:
            raise fail(key, str(exc)) from None
        return node

    lets: dict[str, Node] = {}
    for let_name, text in spec.let.items():
        try:
            _check_new_name(let_name, "let")
        except ValueError as exc:
            raise fail(f"let.{let_name}", str(exc)) from None
        if let_name in scope:
            what = "a sweep parameter" if let_name in params else "a variable of the point"
            raise fail(f"let.{let_name}", f"let name '{let_name}' shadows {what}")
        node = parse(f"let.{let_name}", text)
        if node.label is None and node.op != "var":
            node.label = let_name
        lets[let_name] = scope[let_name] = node

    function = parse("function", spec.function)
    if function.shape != ():
        raise fail("function", f"the function's value must be a scalar, it has shape {function.shape}")

    wrt = list(point) if spec.wrt is None else spec.wrt
    for i, var in enumerate(wrt):
        if var not in point:
            raise fail("wrt", f"'{var}' is not a variable of the point ({', '.join(point)})")
        if var in wrt[:i]:
            raise fail("wrt", f"'{var}' is listed twice")

    manual: dict[str, Node] = {}
    for var, text in spec.manual.items():
        _check_differentiated(fail, "manual", var, point, wrt)
        node = parse(f"manual.{var}", text)
        if np.broadcast_shapes(node.shape, shapes[var]) != shapes[var]:
            raise fail(f"manual.{var}", f"shape {node.shape} does not fit the variable's shape {shapes[var]}")
        manual[var] = node

    for var, numbers in spec.expected.items():
        _check_differentiated(fail, "expected", var, point, wrt)
        try:
            ok = np.broadcast_shapes(numbers.values.shape, shapes[var]) == shapes[var]
        except ValueError:
            ok = False
        if not ok:
            raise fail(
                f"expected.{var}", f"shape {numbers.values.shape} does not fit the variable's shape {shapes[var]}"
            )

    dtypes = tuple(d for d in DTYPES if spec.dtypes is None or d in spec.dtypes)
    if not dtypes:
        raise fail("dtypes", f"needs at least one of {', '.join(DTYPES)}")
    tolerance = spec.tolerance or ToleranceSpec()
    return Problem(
        name=name,
        file=file,
        function=function,
        point=point,
        wrt=wrt,
        lets=lets,
        manual=manual,
        expected=spec.expected,
        rtol=tolerance.rtol,
        atol=tolerance.atol,
        dtypes=dtypes,
        description=spec.description or "",
        source=spec.source or "",
        tags=tuple(spec.tags),
        text=spec.function,
        params=dict(params),
        document=document,
        default_name=default_name,
    )


def _check_differentiated(fail, key: str, var: str, point: dict, wrt: list[str]) -> None:
    if var not in point:
        raise fail(f"{key}.{var}", f"'{var}' is not a variable of the point ({', '.join(point)})")
    if var not in wrt:
        raise fail(f"{key}.{var}", f"'{var}' is held constant (not in wrt), so it has no derivative to check")


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"YAML does not parse: {where}{problem}"


def load_file(path: str | Path) -> tuple[list[Problem], list[ProblemError]]:
    """All problems of one file, and one error per document that failed."""
    path = Path(path)
    file, stem = str(path), path.stem
    problems: list[Problem] = []
    errors: list[ProblemError] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [ProblemError(file, stem, "", f"cannot read the file: {exc}")]
    documents = yaml.safe_load_all(text)
    maps = key_maps(text)
    index = 0
    while True:
        index += 1
        default_name = stem if index == 1 else f"{stem}-{index}"
        try:
            document = next(documents)
        except StopIteration:
            break
        except yaml.YAMLError as exc:
            errors.append(ProblemError(file, default_name, "", _yaml_message(exc)))
            break
        except RecursionError:
            errors.append(ProblemError(file, default_name, "", "YAML does not parse: nested too deeply"))
            break
        if document is None:  # an empty document, such as after a trailing ---
            continue
        keys = maps[index - 1] if index - 1 < len(maps) else None
        if keys is not None and keys.repeated:
            path, first, again = keys.repeated[0]
            message = f"written twice, on lines {first} and {again}; YAML would silently keep the second"
            errors.append(ProblemError(file, _base_name(document, default_name), path, message, again))
            continue
        try:
            built, failed = build_problems(document, file, default_name)
            problems += built
            errors += [e.at(keys) for e in failed]
        except RecursionError:
            errors.append(ProblemError(file, default_name, "", "the document is nested too deeply"))
    if not problems and not errors:
        errors.append(ProblemError(file, stem, "", "the file holds no problem (it is empty)"))
    return problems, errors


def find_problem_files(paths: list[str | Path]) -> list[Path]:
    """Files as given; folders searched recursively for *.yaml and *.yml, sorted."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()))
        else:
            files.append(p)
    return files
