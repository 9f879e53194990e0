"""Every row of the README's bad-input table, run as a user would meet it."""

import re

import pytest
from conftest import ROOT, write

from diffcompare.spec.files import load_file


def catalogue():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- bad-input-catalogue -->")[1].split("<!-- end -->")[0]
    rows = []
    for line in block.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        document = "" if cells[0].startswith("*") else cells[0].strip("`")
        rows.append((document, cells[1]))
    return rows


def test_the_catalogue_is_long():
    assert len(catalogue()) >= 20


@pytest.mark.parametrize("document, message", catalogue())
def test_catalogue_row(tmp_path, document, message):
    problems, errors = load_file(write(tmp_path, "bad.yaml", document + "\n" if document else ""))
    assert problems == [] and len(errors) == 1
    line = str(errors[0])
    assert "\n" not in line and re.match(rf"{re.escape(str(tmp_path / 'bad.yaml'))}(:\d+)?: problem 'bad'", line)
    assert message in line, line
