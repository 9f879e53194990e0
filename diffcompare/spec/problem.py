"""A problem: a validated document turned into IR, a float64 point and what to differentiate.

`build_problems` takes one YAML document (already loaded, see diffcompare.spec.files),
validates it against diffcompare.spec.model.ProblemSpec, expands sweeps, parses every
expression through diffcompare.lang.parser and infers shapes. Every failure becomes a
ProblemError whose one-line message names the file, the problem and the key.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from diffcompare.lang.ir import GraphError, GraphLimits, Node, ShapeError, infer_shapes
from diffcompare.lang.loops import check_loops
from diffcompare.lang.parser import ExpressionError, close_names, parse_expression
from diffcompare.lang.printable import visible
from diffcompare.spec.generators import expand_sweep, parameter_scope, sweep_label
from diffcompare.spec.model import Numbers, ProblemSpec, ToleranceSpec, check_new_name
from diffcompare.spec.operators import OPERATORS, results

DTYPES = ("float32", "float64")


class ProblemError(ValueError):
    """Bad input. str() is one line: file (and line, where known), problem, key, what is wrong."""

    def __init__(self, file: str, problem: str, key: str, message: str, line: int | None = None):
        self.file, self.problem, self.key, self.message, self.line = file, problem, key, message, line
        # One line whatever the file holds: control characters and newlines shown as escapes.
        where = f"key '{visible(key)}'" if key else "document"
        place = f"{visible(file)}:{line}" if line else visible(file)
        super().__init__(f"{place}: problem '{visible(problem)}': {where}: {visible(message)}")

    def at(self, keys) -> ProblemError:
        """The same error, with the line of its key in the file (a yamlmap.KeyMap)."""
        line = keys.line_of(self.key) if keys is not None else None
        return ProblemError(self.file, self.problem, self.key, self.message, line) if line else self


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
    operator: str = "gradient"  # diffcompare.spec.operators
    direction: dict[str, str] = field(default_factory=dict)  # hvp, jvp: wrt variable -> the point variable along it
    cotangent: str = ""  # vjp: the point variable that holds u

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
        fields = list(ToleranceSpec.model_fields if loc[0] == "tolerance" else ProblemSpec.model_fields)
        close = close_names(loc[-1], fields)
        guess = f": did you mean '{close[0]}'?" if close else ""
        message = f"unknown key{guess} (allowed: {', '.join(fields)})"
    elif err["type"] == "missing":
        message = "required key is missing"
        # A misspelt key is both missing and unknown: name the one it probably is.
        written = [
            str(e["loc"][-1]) for e in exc.errors() if e["type"] == "extra_forbidden" and len(e["loc"]) == len(loc)
        ]
        close = close_names(loc[-1], written)
        if close:
            message += f": is '{close[0]}' a misspelling of '{loc[-1]}'?"
    elif err["type"] == "literal_error":
        message = f"{message}, got {err['input']!r}"
    return ProblemError(file, problem, key, message)


def base_name(document: Any, default_name: str) -> str:
    return (
        document.get("name") if isinstance(document, dict) and isinstance(document.get("name"), str) else default_name
    )


NAMED_KEYS = ("point", "let", "manual", "expected", "sweep")  # mappings whose keys are names


def normalised_names(document: Any, file: str, name: str) -> Any:
    """The document with every name NFKC-normalised, as Python normalises the identifiers of an
    expression (so 'ｘ' in the point is the x of 'ｘ**2'); two names that become one are refused."""
    if not isinstance(document, dict):
        return document
    out = dict(document)
    for key in NAMED_KEYS:
        mapping = document.get(key)
        if not isinstance(mapping, dict):
            continue
        names: dict = {}
        for k, v in mapping.items():
            n = unicodedata.normalize("NFKC", k) if isinstance(k, str) else k
            if n in names:
                message = f"'{k}' is the name '{n}' as Python reads names (NFKC), which {key} already has"
                raise ProblemError(file, name, f"{key}.{n}", message)
            names[n] = v
        out[key] = names
    wrt = document.get("wrt")
    if isinstance(wrt, list):
        out["wrt"] = [unicodedata.normalize("NFKC", w) if isinstance(w, str) else w for w in wrt]
    return out


def build_problems(document: Any, file: str, default_name: str) -> tuple[list[Problem], list[ProblemError]]:
    """One problem, or one per member of its `sweep`; an error per member that fails."""
    name = base_name(document, default_name)
    try:
        normalised = normalised_names(document, file, name)
        members = expand_sweep(normalised.get("sweep")) if isinstance(normalised, dict) else [{}]
    except ProblemError as exc:
        return [], [exc]
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
    name = base_name(document, default_name) + sweep_label(params)
    written, document = document, normalised_names(document, file, name)
    try:
        spec = ProblemSpec.model_validate(document, context={"params": params})
    except ValidationError as exc:
        raise _pydantic_message(file, name, exc) from None

    def fail(key: str, message: str) -> ProblemError:
        return ProblemError(file, name, key, message)

    point = {k: v.values for k, v in spec.point.items()}
    for k in point:
        if k in params:
            raise fail(f"point.{k}", f"'{k}' is also a sweep parameter: rename one of them")
    scope: dict[str, Node] = {**parameter_scope(params), **{k: Node("var", attr=k, text=k) for k in point}}
    shapes = {k: v.shape for k, v in point.items()}
    graph = GraphLimits()  # every expression of the problem, let steps counted once
    # Variables outside wrt are data: x[idx] reads an integer index array from them.
    data = {k: v for k, v in point.items() if spec.wrt is not None and k not in spec.wrt}

    def unknown_name(key: str):
        """What to do about a name that the expression under key uses and the problem lacks."""

        def advice(missing: str) -> str:
            step = key.removeprefix("let.") if key.startswith("let.") else None
            if missing == step:
                return f"a `let:` step cannot use itself; '{missing}' is defined by this expression"
            if missing in spec.let:
                return f"'{missing}' is a `let:` step written after '{step}': move it above, steps use earlier names"
            return "add it to `point:` (or define it in `let:`)"

        return advice

    def parse(key: str, text: str) -> Node:
        try:
            node = parse_expression(text, scope, unknown_name=unknown_name(key), data=data)
            infer_shapes(node, shapes)
            check_loops(node)
            graph.add(node)
        except (ExpressionError, ShapeError, GraphError) as exc:
            raise fail(key, str(exc)) from None
        return node

    lets: dict[str, Node] = {}
    for let_name, text in spec.let.items():
        try:
            check_new_name(let_name, "let")
        except ValueError as exc:
            raise fail(f"let.{let_name}", str(exc)) from None
        if let_name in scope:
            what = "a sweep parameter" if let_name in params else "a variable of the point"
            raise fail(f"let.{let_name}", f"let name '{let_name}' shadows {what}: give the step another name")
        node = parse(f"let.{let_name}", text)
        if node.label is None and node.op != "var":
            node.label = let_name
        lets[let_name] = scope[let_name] = node

    function = parse("function", spec.function)
    operator = OPERATORS[spec.operator]
    if function.shape != () and operator.scalar_function:
        raise fail(
            "function",
            f"the function's value must be a scalar{_for(operator)}, it has shape {function.shape}: "
            f"reduce it, as sum(...), mean(...) or norm(...), or ask for operator: jacobian, jvp or vjp",
        )

    given = operator_inputs(spec, operator, point, lets, fail)  # direction / cotangent variables
    wrt = [k for k in point if k not in given.values()] if spec.wrt is None else spec.wrt
    if not wrt:
        raise fail("wrt", "names no variable; leave wrt out to differentiate every variable of the point")
    for i, var in enumerate(wrt):
        if var not in point:
            raise fail("wrt", _not_a_variable(var, point, lets))
        if var in wrt[:i]:
            raise fail("wrt", f"'{var}' is listed twice: list it once")
    direction, cotangent = check_operator_inputs(operator, given, wrt, shapes, function.shape, fail)
    if operator.name == "second_derivative" and (len(wrt) != 1 or shapes[wrt[0]] != ()):
        raise fail("wrt", "operator second_derivative takes f of one scalar variable: name one scalar in wrt")
    problem = Problem(name=name, file=file, function=function, point=point, wrt=wrt, operator=operator.name)
    problem.direction, problem.cotangent = direction, cotangent
    shaped = {r.name: r.shape for r in results(problem).values()}

    manual: dict[str, Node] = {}
    for var, text in spec.manual.items():
        _check_differentiated(fail, "manual", var, point, wrt, shaped)
        node = parse(f"manual.{var}", text)
        if np.broadcast_shapes(node.shape, shaped[var]) != shaped[var]:
            raise fail(f"manual.{var}", f"shape {node.shape} does not fit {_what(operator)} shape {shaped[var]}")
        manual[var] = node

    for var, numbers in spec.expected.items():
        _check_differentiated(fail, "expected", var, point, wrt, shaped)
        try:
            ok = np.broadcast_shapes(numbers.values.shape, shaped[var]) == shaped[var]
        except ValueError:
            ok = False
        if not ok:
            raise fail(
                f"expected.{var}", f"shape {numbers.values.shape} does not fit {_what(operator)} shape {shaped[var]}"
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
        document=written,
        default_name=default_name,
        operator=operator.name,
        direction=direction,
        cotangent=cotangent,
    )


def _for(operator) -> str:
    return "" if operator.name == "gradient" else f" for operator {operator.name}"


def _what(operator) -> str:
    return "the variable's" if operator.name == "gradient" else f"the {operator.name}'s result's"


def operator_inputs(spec, operator, point: dict, lets: dict, fail) -> dict[str, str]:
    """The point variables that the operator is given (direction, cotangent) as written:
    {key: variable} for a cotangent or a single direction, {"direction.x": v, …} per wrt
    variable. They are data, never differentiated."""
    given: dict[str, str] = {}
    for key in ("direction", "cotangent"):
        value = getattr(spec, key)
        if value is None:
            if operator.takes == key:
                raise fail(key, f"operator {operator.name} needs `{key}:`, the point variable that holds it")
            continue
        if operator.takes != key:
            raise fail(key, f"operator {operator.name} takes no {key}; it is for " + _takers(key))
        items = {key: value} if isinstance(value, str) else {f"{key}.{k}": v for k, v in value.items()}
        for where, var in items.items():
            if var not in point:
                raise fail(where, _not_a_variable(var, point, lets))
            given[where] = var
    return given


def _takers(key: str) -> str:
    return " and ".join(op.name for op in OPERATORS.values() if op.takes == key)


def check_operator_inputs(operator, given: dict, wrt: list[str], shapes: dict, out_shape, fail):
    """(direction {wrt variable: point variable}, cotangent variable or ""), checked: held
    constant, and of the shape they multiply."""
    for where, var in given.items():
        if var in wrt:
            raise fail(where, f"'{var}' is differentiated (in wrt); a {where.split('.')[0]} is held constant")
    direction: dict[str, str] = {}
    if "direction" in given:
        if len(wrt) != 1:
            raise fail(
                "direction",
                f"several variables are differentiated ({', '.join(wrt)}): "
                "give one direction per variable, as direction: {x: v, y: w}",
            )
        direction = {wrt[0]: given["direction"]}
    elif operator.takes == "direction":
        direction = {k.removeprefix("direction."): v for k, v in given.items()}
        for var in wrt:
            if var not in direction:
                raise fail("direction", f"names no direction for '{var}'")
        for var in direction:
            if var not in wrt:
                raise fail(f"direction.{var}", f"'{var}' is not differentiated (not in wrt)")
    for var, v in direction.items():
        if shapes[v] != shapes[var]:
            raise fail("direction", f"'{v}' has shape {shapes[v]}, and '{var}' it moves along has shape {shapes[var]}")
    cotangent = given.get("cotangent", "")
    if cotangent and shapes[cotangent] != tuple(out_shape):
        raise fail(
            "cotangent", f"'{cotangent}' has shape {shapes[cotangent]}, the function's value has {tuple(out_shape)}"
        )
    return direction, cotangent


def _check_differentiated(fail, key: str, var: str, point: dict, wrt: list[str], shaped: dict) -> None:
    """A key of manual: or expected: names a result of the operator (a wrt variable, for the gradient)."""
    if var in shaped:
        return
    if var in point and var not in wrt:
        raise fail(
            f"{key}.{var}",
            f"'{var}' is held constant (not in wrt), so it has no derivative to check: add it to wrt",
        )
    if var not in point and list(shaped) == list(wrt):
        raise fail(f"{key}.{var}", _not_a_variable(var, point, {}))
    raise fail(f"{key}.{var}", f"'{var}' names no result of this problem's operator ({', '.join(shaped)})")


def _not_a_variable(var: Any, point: dict, lets: dict) -> str:
    """'y' is not a variable of the point (x, x1); did you mean 'x1'?"""
    message = f"'{var}' is not a variable of the point ({', '.join(point)})"
    if var in lets:
        return f"{message}: it is a `let:` step, and only variables of the point are differentiated"
    close = close_names(var, point) if isinstance(var, str) else []
    return f"{message}: did you mean {' or '.join(repr(c) for c in close)}?" if close else message
