"""The README's "What a run prints" block is a real run's output, cut by tests/readme_output.py:
a run of the main job at 80 columns must print the counts line the block ends with and every line
the block shows, in its order. When this fails, `python tests/readme_output.py` rewrites the block."""

import difflib

import pytest
from readme_output import GAP, README, SHOWN, counts_lines, cut, problem_names, readme_block, run_main_job

REGENERATE = "the README's block is stale: `python tests/readme_output.py` rewrites it from a run of the main job"


@pytest.fixture(scope="module")
def main_job_stdout(tmp_path_factory):
    return run_main_job(tmp_path_factory.mktemp("readme-run"))


@pytest.mark.slow
def test_the_readmes_example_output_is_the_main_jobs(main_job_stdout):
    block = readme_block(README.read_text(encoding="utf-8")).splitlines()
    printed = [line.rstrip() for line in main_job_stdout.splitlines()]
    counts = counts_lines(main_job_stdout)
    assert block[-len(counts) :] == counts, REGENERATE  # the counts line, exactly (and what it wraps onto)
    # Every line shown is a line the run printed, in the run's order.
    at = 0
    for line in block[1:]:
        if line == GAP:
            continue
        assert line in printed[at:], f"{REGENERATE}\nnot printed (after line {at}): {line!r}"
        at = printed.index(line, at) + 1
    # And the block is the one the script cuts: the same problems, the same rules, nothing else.
    wanted = cut(main_job_stdout, problem_names()).splitlines()
    diff = "\n".join(difflib.unified_diff(block, wanted, "README.md", "the run", lineterm=""))
    assert block == wanted, f"{REGENERATE}\n{diff}"


STDOUT = """\
correct digits (worst element) and verdict
┃ problem        ┃ torch ┃
┡━━━━━━━━━━━━━━━━╇━━━━━━━┩
│ abs-at-kink    │  kink │
│ logistic-bce   │ 6.8 ✓ │
│ native-where-… │ 7.1 ✓ │
│ relu-at-kink   │  kink │
│ saturated-sigm │ 0.0 ✗ │
│ oid            │       │
│ trap-cusp-and- │ 0.0 ✗ │
│ more           │       │
└────────────────┴───────┘
✗ blame-cos-of-input · torch float32 · x: relative error 7.3e+08 > 0.00035 (√ε of
float32): all digits lost
✗ saturated-sigmoid · torch float32 · w, x: the gradient is 0, but the true value is
2.0263e-13 (100% error)
✗ trap-cusp · torch float32 · x: non-finite value
9 rows: 5 agree, 2 disagree, 2 kink, 0 undefined, 0 unsettled, 0
error, 0 skipped
wrote reports/results.csv, reports/summary.md, reports/report.html
"""
NAMES = ["abs-at-kink", "blame-cos-of-input", "logistic-bce", "native-where-constant", "relu-at-kink"]
NAMES += ["saturated-sigmoid", "trap-cusp", "trap-cusp-and-more"]


def test_the_cut_keeps_the_heads_the_rows_and_marks_of_its_problems_and_the_counts():
    block = cut(STDOUT, NAMES, shown=("logistic-bce", "relu-at-kink", "saturated-sigmoid")).splitlines()
    assert block[0].startswith("$ python -m diffcompare problems/ ")
    assert "3 of the 8 problems" in block[0] and "at 80 columns" in block[0]
    assert block[1:] == [
        "correct digits (worst element) and verdict",
        "┃ problem        ┃ torch ┃",
        "┡━━━━━━━━━━━━━━━━╇━━━━━━━┩",
        GAP,  # abs-at-kink
        "│ logistic-bce   │ 6.8 ✓ │",
        GAP,  # a name cut short is still a row of another problem
        "│ relu-at-kink   │  kink │",
        "│ saturated-sigm │ 0.0 ✗ │",  # a name wrapped onto the next line
        "│ oid            │       │",
        GAP,
        "└────────────────┴───────┘",
        GAP,
        "✗ saturated-sigmoid · torch float32 · w, x: the gradient is 0, but the true value is",
        "2.0263e-13 (100% error)",  # the line it wraps onto
        GAP,
        "9 rows: 5 agree, 2 disagree, 2 kink, 0 undefined, 0 unsettled, 0",
        "error, 0 skipped",
    ]


def test_the_readme_shows_the_problems_the_cut_names():
    block = readme_block(README.read_text(encoding="utf-8"))
    assert f"{len(SHOWN)} of the {len(problem_names())} problems" in block.splitlines()[0]
    assert all(name in block for name in SHOWN)
