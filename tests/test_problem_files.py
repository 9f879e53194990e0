"""Problem files: the keys of the contract, and one clear line for each kind of bad input."""

import re

import numpy as np
import pytest
from conftest import BEHAVIOURS, PROBLEMS, write

from diffcompare.spec.files import load_file

GOOD = "function: sin(x**2)\npoint: {x: 4.0}\n"


def load_one(tmp_path, text, name="p.yaml"):
    problems, errors = load_file(write(tmp_path, name, text))
    return problems, errors


@pytest.mark.parametrize(
    "text, key, message",
    [
        ("function: x\npoint: {x: 1.0}\ncolour: red\n", "colour", "unknown key"),
        ("point: {x: 1.0}\n", "function", "required key is missing"),
        ("function: x\n", "point", "required key is missing"),
        ("function: x\npoint: {}\n", "point", "at least one variable"),
        ("function: x\npoint: {x: abc}\n", "point", "expected a number, got the text 'abc'"),
        ("function: x\npoint: {x: true}\n", "point", "expected a number, got bool"),
        ("function: x\npoint: {x: .inf}\n", "point", "expected a finite number"),
        ("function: x\npoint: {x: .nan}\n", "point", "expected a finite number"),
        ("function: sum(x)\npoint: {x: [[1, 2], [3]]}\n", "point", "rectangular"),
        ("function: sum(x)\npoint: {x: []}\n", "point", "must not be empty"),
        ("function: x\npoint: {sin: 1.0}\n", "point", "reserved"),
        ("function: x\npoint: {x: 1.0}\nwrt: [y]\n", "wrt", "'y' is not a variable of the point"),
        ("function: x\npoint: {x: 1.0}\nwrt: [x, x]\n", "wrt", "listed twice"),
        ("function: x\npoint: {x: 1.0}\nwrt: x\n", "wrt", "valid list"),
        ("function: x\npoint: {x: 1.0}\nmanual: {y: '1'}\n", "manual.y", "not a variable of the point"),
        ("function: x*y\npoint: {x: 1.0, y: 2.0}\nwrt: [x]\nmanual: {y: x}\n", "manual.y", "held constant"),
        ("function: x\npoint: {x: 1.0}\nexpected: {y: 1.0}\n", "expected.y", "not a variable of the point"),
        ("function: x\npoint: {x: 1.0}\nexpected: {x: one}\n", "expected", "expected a number"),
        ("function: sum(x)\npoint: {x: [1.0, 2.0]}\nexpected: {x: [1, 2, 3]}\n", "expected.x", "does not fit"),
        ("function: x\npoint: {x: 1.0}\nmanual: {x: unknown}\n", "manual.x", "unknown name 'unknown'"),
        ("function: x\npoint: {x: 1.0}\ntolerance: {rtol: -1}\n", "tolerance.rtol", "greater than or equal to 0"),
        ("function: x\npoint: {x: 1.0}\ntolerance: {tol: 1}\n", "tolerance.tol", "unknown key"),
        ("function: x\npoint: {x: 1.0}\ndtypes: [float16]\n", "dtypes.0", "'float32' or 'float64'"),
        ("function: x\npoint: {x: 1.0}\ndtypes: []\n", "dtypes", "needs at least one"),
        ("function: x\npoint: {x: 1.0}\ntags: tag\n", "tags", "valid list"),
        ("function: [x]\npoint: {x: 1.0}\n", "function", "expected an expression, got list"),
        ("function: x + y\npoint: {x: [1.0, 2.0], y: [1.0, 2.0, 3.0]}\n", "function", "do not fit"),
        ("function: x * 2\npoint: {x: [1.0, 2.0]}\n", "function", "must be a scalar, it has shape (2,)"),
        ("function: x.__class__\npoint: {x: 1.0}\n", "function", "attribute access is not allowed"),
        ("let: {x: y}\nfunction: x\npoint: {x: 1.0, y: 2.0}\n", "let.x", "shadows a variable"),
        ("let: {a: b, b: x}\nfunction: a\npoint: {x: 1.0}\n", "let.a", "unknown name 'b'"),
        ("let: {sin: x}\nfunction: x\npoint: {x: 1.0}\n", "let.sin", "reserved"),
    ],
)
def test_bad_problem_is_one_line_naming_file_problem_and_key(tmp_path, text, key, message):
    problems, errors = load_one(tmp_path, text)
    assert problems == [] and len(errors) == 1
    line = str(errors[0])
    assert "\n" not in line
    where = re.escape(str(tmp_path / "p.yaml"))
    assert re.match(rf"{where}(:\d+)?: problem 'p': key '{re.escape(key)}'", line), line
    assert message in line


def test_errors_give_the_line_of_their_key(tmp_path):
    text = "function: x\npoint:\n  x: 1.0\nmanual:\n  x: 2 *\n"
    _, (error,) = load_one(tmp_path, text)
    assert str(error).startswith(f"{tmp_path / 'p.yaml'}:5: problem 'p': key 'manual.x': syntax error")
    _, (error,) = load_one(tmp_path, "function: x\npoint: {x: 1.0}\ncolour: red\n")
    assert error.line == 3


def test_a_key_written_twice_is_refused_not_collapsed(tmp_path):
    text = "let:\n  a: x * 2\n  a: x * 3\nfunction: a\npoint: {x: 1.0}\n"
    problems, (error,) = load_one(tmp_path, text)
    assert problems == [] and error.key == "let.a" and error.line == 3
    assert "written twice, on lines 2 and 3" in str(error)


@pytest.mark.parametrize(
    "text, message",
    [
        ("function: [x\npoint: {x: 1}\n", "YAML does not parse: line 2, column"),
        ("", "holds no problem"),
        ("# only a comment\n---\n", "holds no problem"),
        ("function: sum(x)\npoint: {x: " + "[" * 5000 + "1" + "]" * 5000 + "}\n", "nested too deeply"),
        ("- 1\n- 2\n", "this document is a list"),
        ("just text\n", "this document is a str"),
        ("!!python/object/apply:os.system ['echo hi']\n", "YAML does not parse"),
    ],
)
def test_bad_documents(tmp_path, text, message):
    problems, errors = load_one(tmp_path, text)
    assert problems == [] and len(errors) == 1
    assert f"{tmp_path / 'p.yaml'}: problem 'p': document: " in str(errors[0])
    assert message in str(errors[0])


def test_empty_documents_between_separators_are_ignored(tmp_path):
    problems, errors = load_one(tmp_path, "---\n" + GOOD + "---\n---\n" + GOOD + "---\n")
    assert errors == [] and [p.name for p in problems] == ["p", "p-3"]


def test_several_documents_get_names_and_a_bad_one_does_not_stop_the_rest(tmp_path):
    text = GOOD + "---\nfunction: x +\npoint: {x: 1}\n---\n" + GOOD + "name: third\n"
    problems, errors = load_one(tmp_path, text)
    assert [p.name for p in problems] == ["p", "third"]
    assert len(errors) == 1 and "problem 'p-2': key 'function'" in str(errors[0])


def test_every_key_of_the_contract(tmp_path):
    text = """
name: full
description: every key
source: here
tags: [a, b]
let:
  y: x**2
  s: sin(y)
function: s + sum(0 * k)
point: {x: 4.0, k: [1.0, 2.0]}
wrt: [x]
manual: {x: 2 * x * cos(y)}
expected: {x: -7.6613}
tolerance: {rtol: 1e-6, atol: 0}
dtypes: [float64]
"""
    (problem,), errors = load_one(tmp_path, text)
    assert errors == []
    assert problem.name == "full" and problem.tags == ("a", "b") and problem.source == "here"
    assert problem.wrt == ["x"] and problem.dtypes == ("float64",)
    assert problem.rtol == 1e-6 and problem.atol == 0
    assert problem.point["k"].shape == (2,)
    assert problem.lets["y"].label == "y"
    assert problem.expected["x"].half_units == pytest.approx(0.00005)


def test_numbers_pyyaml_reads_as_text_are_numbers(tmp_path):
    (problem,), _ = load_one(tmp_path, "function: x\npoint: {x: 1e-8}\nexpected: {x: 1.0e0}\n")
    assert problem.point["x"] == 1e-8


def test_the_constants_e_and_pi_may_be_shadowed_by_a_let_step(tmp_path):
    text = "let: {e: x + 1}\nfunction: log(e) * pi\npoint: {x: 1.0}\n"
    (problem,), errors = load_one(tmp_path, text)
    assert errors == [] and problem.function.args[0].args[0].label == "e"


def test_every_problem_loads_and_the_seeds_name_their_notebook():
    files = sorted(PROBLEMS.glob("*.yaml")) + sorted(BEHAVIOURS.glob("*.yaml"))
    seeds = 0
    for path in files:
        problems, errors = load_file(path)
        assert errors == [] and len(problems) == 1, path
        assert problems[0].source and problems[0].description, path
        if problems[0].source.startswith("seeds/"):  # problems/seeds/: the notebook's text, in the repository
            seeds += 1
            assert (path.parent / problems[0].source.split()[0]).is_file(), path
            assert problems[0].expected, path
            assert all(np.isfinite(v.values).all() for v in problems[0].expected.values())
    assert seeds >= 18
