"""The JSON Schema of the problem-file format: `python -m diffcompare schema`.

Generated from diffcompare.spec.model.ProblemSpec, the model that validates every
file, so the two cannot drift apart; the repository keeps a copy in
problem.schema.json, at its root, for editors (tests/test_schema.py checks it is current).
Editors that speak JSON Schema (yaml-language-server: VS Code, Neovim, Helix, …)
validate and complete a problem file whose first line is
`# yaml-language-server: $schema=<path or URL of the schema>`.
"""

from __future__ import annotations

import json

from diffcompare.spec.model import ProblemSpec

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def problem_schema() -> dict:
    """The schema of one YAML document (one problem); each document of a file is validated on its own."""
    # mode="validation" describes what a file may write (numbers as text, generators),
    # not the parsed values the model holds afterwards.
    return {"$schema": DRAFT, **ProblemSpec.model_json_schema(mode="validation")}


def schema_text() -> str:
    """The schema as printed and committed: two-space indent, a final newline. ASCII, with any other
    character escaped, so that printing it works on a console of any encoding."""
    return json.dumps(problem_schema(), indent=2) + "\n"
