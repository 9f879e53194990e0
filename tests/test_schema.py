"""The JSON Schema of problem files: generated from the model that validates them, committed for editors,
and in agreement with the loader on every problem file and on structurally bad documents."""

import json
import re
import subprocess
import sys

import pytest
import yaml
from conftest import BEHAVIOURS, PROBLEMS, ROOT, write
from jsonschema import Draft202012Validator

from diffcompare.spec.files import load_file
from diffcompare.spec.model import ProblemSpec
from diffcompare.spec.schema import DRAFT, problem_schema, schema_text

COMMITTED = ROOT / "problem.schema.json"
PROBLEM_FILES = [
    *sorted(PROBLEMS.glob("*.yaml")),
    *sorted(BEHAVIOURS.glob("*.yaml")),
    *sorted((ROOT / "benchmarks" / "scaling").glob("*.yaml")),
]
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


@pytest.fixture(scope="module")
def validator():
    return Draft202012Validator(problem_schema())


def schema_errors(validator, text: str) -> list[str]:
    return [error.message for error in validator.iter_errors(yaml.safe_load(text))]


def the_loaders_one_error(tmp_path, text: str):
    problems, errors = load_file(write(tmp_path, "p.yaml", text))
    assert problems == [] and len(errors) == 1, errors
    return errors[0]


@pytest.mark.slow
def test_the_committed_schema_is_what_the_command_prints():
    printed = subprocess.run(
        [sys.executable, "-m", "diffcompare", "schema"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert printed == schema_text()
    assert COMMITTED.read_text(encoding="utf-8") == printed, (
        "problem.schema.json is stale: python -m diffcompare schema > problem.schema.json"
    )


def test_the_schema_is_draft_2020_12_and_documents_every_key():
    schema = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert schema["$schema"] == DRAFT
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False and schema["required"] == ["function", "point"]
    assert set(schema["properties"]) == set(ProblemSpec.model_fields)
    for key, spec in schema["properties"].items():
        assert spec.get("description"), key
    for definition in schema["$defs"].values():
        assert definition.get("description"), definition
        if definition.get("type") == "object":
            assert definition["additionalProperties"] is False


@pytest.mark.parametrize("path", PROBLEM_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_problem_file_validates_document_by_document_and_names_the_schema(validator, path):
    text = path.read_text(encoding="utf-8")
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    assert documents
    for document in documents:
        errors = [e.message for e in validator.iter_errors(document)]
        assert errors == [], (path, errors)
    # The first line points an editor at the committed schema, by a path that works in any clone.
    match = MODELINE.match(text.splitlines()[0])
    assert match, path
    assert (path.parent / match.group(1)).resolve() == COMMITTED


# Valid documents the loader accepts in their less obvious forms: the schema must accept them too.
ACCEPTED_BY_BOTH = [
    "function: x\npoint: {x: 1e-8}\nexpected: {x: 1.0e0}\n",  # numbers PyYAML reads as text
    "function: x\npoint: {x: 1.0}\ntolerance: {rtol: 1e-10, atol: 0}\n",
    "function: x\npoint: {x: 1.0}\ntolerance: {rtol: null}\n",
    "function: sum(A)\npoint: {A: [[1, 2], [3, '4e0']]}\nexpected: {A: [[1, 1], [1, 1]]}\n",
    "function: sum(x)\npoint: {x: {shape: [2, 3], fill: 0.5}}\n",
    "function: sum(x)\npoint: {x: {shape: 4, random: normal, seed: 3}}\n",
    "function: sum(x)\npoint: {x: {shape: [n], random: uniform, low: -1, high: 1}}\nsweep: {n: [2, 3]}\n",
    "function: sum(x)\npoint: {x: {linspace: [0, 1, 2 * n]}}\nsweep: {n: [2]}\n",
    "function: 2\npoint: {x: 1.0}\nlet: {a: 3}\nmanual: {x: 0}\n",  # expressions that YAML reads as numbers
    "function: x * y\npoint: {x: 1.0, y: 2.0}\nwrt: null\ndtypes: [float64]\nname: n\ntags: [a]\n",
    "function: x\npoint: {x: 1.0}\ndescription: null\nsource: s\nwrt: [x]\n",
    # numbers as text in generators and sweeps too
    "function: sum(x)\npoint: {x: {shape: [2], fill: 1e-8}}\n",
    "function: sum(x)\npoint: {x: {linspace: [1e-3, 1e0, 3]}}\n",
    "function: sum(x)\npoint: {x: {shape: [2], random: uniform, low: 1e-3, high: 2e0}}\n",
    "function: x * s\npoint: {x: 1.0}\nsweep: {s: [1e-3, 2]}\n",
]


@pytest.mark.parametrize("text", ACCEPTED_BY_BOTH)
def test_valid_documents_are_accepted_by_both(tmp_path, validator, text):
    problems, errors = load_file(write(tmp_path, "p.yaml", text))
    assert errors == [] and problems
    assert schema_errors(validator, text) == []


# Structurally bad documents: refused by the schema (so an editor marks them) and by the loader,
# which names the key. The key is the loader's; a generator's errors are reported under 'point'.
REFUSED_BY_BOTH = [
    ("function: x\npoint: {x: 1.0}\ncolour: red\n", "colour"),
    ("function: x\npoint: {x: 1.0}\ntolerance: {tol: 1}\n", "tolerance.tol"),
    ("point: {x: 1.0}\n", "function"),
    ("function: x\n", "point"),
    ("function: [x]\npoint: {x: 1.0}\n", "function"),
    ("function: true\npoint: {x: 1.0}\n", "function"),
    ("function: x\npoint: {}\n", "point"),
    ("function: x\npoint: [1.0]\n", "point"),
    ("function: x\npoint: {x: abc}\n", "point"),
    ("function: x\npoint: {x: true}\n", "point"),
    ("function: sum(x)\npoint: {x: []}\n", "point"),
    ("function: sum(x)\npoint: {x: [1.0, abc]}\n", "point"),
    ("function: sum(x)\npoint: {x: {shape: [3], fill: 1, seed: 2}}\n", "point"),
    ("function: sum(x)\npoint: {x: {shape: [3], random: cauchy}}\n", "point"),
    ("function: sum(x)\npoint: {x: {shape: [3], random: normal, low: 0}}\n", "point"),
    ("function: sum(x)\npoint: {x: {shape: [3], random: normal, seed: -1}}\n", "point"),
    ("function: sum(x)\npoint: {x: {random: normal}}\n", "point"),
    ("function: sum(x)\npoint: {x: {shape: [0], fill: 1}}\n", "point"),
    ("function: sum(x)\npoint: {x: {linspace: [0, 1]}}\n", "point"),
    ("function: sum(x)\npoint: {x: {seed: 1}}\n", "point"),
    ("function: x\npoint: {x: 1.0}\nwrt: x\n", "wrt"),
    ("function: x\npoint: {x: 1.0}\nwrt: [x, x]\n", "wrt"),
    ("function: x\npoint: {x: 1.0}\nwrt: [1]\n", "wrt.0"),
    ("function: x\npoint: {x: 1.0}\nlet: [a]\n", "let"),
    ("function: x\npoint: {x: 1.0}\nmanual: {x: [1]}\n", "manual"),
    ("function: x\npoint: {x: 1.0}\nexpected: {x: one}\n", "expected"),
    ("function: x\npoint: {x: 1.0}\nexpected: {x: {fill: 1}}\n", "expected"),
    ("function: x\npoint: {x: 1.0}\ntolerance: 1e-8\n", "tolerance"),
    ("function: x\npoint: {x: 1.0}\ntolerance: {rtol: -1}\n", "tolerance.rtol"),
    ("function: x\npoint: {x: 1.0}\ntolerance: {rtol: loose}\n", "tolerance.rtol"),
    ("function: x\npoint: {x: 1.0}\ntolerance: {atol: '-1e-8'}\n", "tolerance.atol"),
    ("function: x\npoint: {x: 1.0}\ndtypes: [float16]\n", "dtypes.0"),
    ("function: x\npoint: {x: 1.0}\ndtypes: []\n", "dtypes"),
    ("function: x\npoint: {x: 1.0}\ndtypes: float64\n", "dtypes"),
    ("function: x\npoint: {x: 1.0}\ntags: tag\n", "tags"),
    ("function: x\npoint: {x: 1.0}\nname: 3\n", "name"),
    ("function: x\npoint: {x: 1.0}\nsweep: {}\n", "sweep"),
    ("function: x\npoint: {x: 1.0}\nsweep: [1, 2]\n", "sweep"),
    ("function: x\npoint: {x: 1.0}\nsweep: {n: []}\n", "sweep"),
    ("function: x\npoint: {x: 1.0}\nsweep: {n: [a]}\n", "sweep"),
    ("[1, 2]\n", ""),
    ("just text\n", ""),
]


@pytest.mark.parametrize("text, key", REFUSED_BY_BOTH)
def test_structurally_bad_documents_are_refused_by_both(tmp_path, validator, text, key):
    error = the_loaders_one_error(tmp_path, text)
    assert error.key == key, str(error)
    assert schema_errors(validator, text), "the schema accepts it"


# What only the loader can refuse: no JSON Schema can parse an expression, resolve a name, infer a
# shape, check that rows are the same length, compare two keys, or tell a finite number (YAML's .inf is
# a number to a validator). The schema accepts these; each stays the loader's one-line message.
LOADER_ONLY = [
    ("function: x +\npoint: {x: 1.0}\n", "syntax error"),
    ("function: zz\npoint: {x: 1.0}\n", "unknown name 'zz'"),
    ("function: foo(x)\npoint: {x: 1.0}\n", "unknown function 'foo'"),
    ("function: x.real\npoint: {x: 1.0}\n", "attribute access is not allowed"),
    ("function: x + y\npoint: {x: [1.0, 2.0], y: [1.0, 2.0, 3.0]}\n", "do not fit"),
    ("function: x * 2\npoint: {x: [1.0, 2.0]}\n", "must be a scalar"),
    ("function: sum(x)\npoint: {x: [[1, 2], [3]]}\n", "rectangular"),
    ("function: x\npoint: {x: .inf}\n", "expected a finite number"),
    ("function: x\npoint: {sin: 1.0}\n", "reserved"),
    ("function: x\npoint: {x: 1.0, 2x: 1.0}\n", "not a valid identifier"),
    ("function: x\npoint: {x: 1.0}\nwrt: [y]\n", "'y' is not a variable of the point"),
    ("function: x\npoint: {x: 1.0}\nmanual: {y: '1'}\n", "'y' is not a variable of the point"),
    ("function: x\npoint: {x: 1.0}\nexpected: {x: [1.0, 2.0]}\n", "does not fit"),
    ("let: {x: y}\nfunction: x\npoint: {x: 1.0, y: 2.0}\n", "shadows a variable"),
    ("function: sum(x)\npoint: {x: {shape: [3], random: uniform, low: 1, high: 0}}\n", "low < high"),
    ("function: sum(x)\npoint: {x: {shape: [m], fill: 1}}\n", "unknown name 'm'"),
    ("function: x\npoint: {x: 1.0}\nsweep: {2n: [1]}\n", "not a valid identifier"),
]


@pytest.mark.parametrize("text, message", LOADER_ONLY)
def test_what_only_the_loader_can_refuse(tmp_path, validator, text, message):
    assert message in str(the_loaders_one_error(tmp_path, text))
    assert schema_errors(validator, text) == []
