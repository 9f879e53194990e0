"""The README's "What a run prints" block, cut from a real run of the main job.

    python tests/readme_output.py                  run `python -m diffcompare problems/` at 80 columns
                                                   (20-40 s, reports into a temporary folder) and
                                                   rewrite the block in README.md
    python tests/readme_output.py --from FILE      the same from a saved run:
                                                   COLUMNS=80 python -m diffcompare problems/ > FILE
    python tests/readme_output.py --check          exit 1, with a diff, when README.md differs

tests/test_readme_output.py runs the main job and fails when the README's block is not the one
this script cuts from it, so the block cannot go stale: a change of the terminal layout, of a
problem or of a count shows there, and running this script once brings the README up to date.

The cut: the table's title and heads, the rows of SHOWN (each line of the table that names one of
them), their ✗ lines (each with the lines it wraps onto), and the counts line, every line as the
run printed it; "…" marks where lines are left out. The block's first line says so.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
COLUMNS = 80
COMMAND = ["python", "-m", "diffcompare", "problems/"]
SHOWN = ("logistic-bce", "saturated-sigmoid", "relu-at-kink", "log-at-zero", "polar-jacobian")
HEADING = "## What a run prints\n\n```\n"
COUNTS = re.compile(r"^\d+ rows: ")
GAP = "…"


def run_main_job(out: Path) -> str:
    """The main job's stdout at COLUMNS columns, its reports written into out."""
    env = {**os.environ, "COLUMNS": str(COLUMNS), "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    result = subprocess.run(
        [sys.executable, *COMMAND[1:], "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(COMMAND)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result.stdout


def problem_names() -> list[str]:
    """Every problem of problems/, as the run names them."""
    from diffcompare.running.runner import load_problems

    problems, errors = load_problems([ROOT / "problems"])
    assert not errors, errors
    return [p.name for p in problems]


def _names_in(line: str, names: list[str]) -> set[str]:
    """The problems a line of the table names: a word that is the name, or its start where the
    table cut it ("native-where-…") or wrapped it onto the next line ("fd-vector-matrix-same-v")."""
    found = set()
    for word in re.split(r"[\s│┃|]+", line):
        if word in names:
            found.add(word)
        elif len(word) >= 8:
            start = word.removesuffix("…")
            found.update(n for n in names if n.startswith(start))
    return found


def _is_rule(line: str) -> bool:
    """A blank line or a border: it ends a row (and what the row wrapped onto)."""
    return not line.strip() or not re.search(r"[^\s─━│┃┌┐└┘├┤┬┴┼┏┓┗┛┣┫┳┻╋┡┩╇═╞╡╪]", line)


def cut(stdout: str, names: list[str], shown=SHOWN) -> str:
    """The README's block (without its fences) from a run's stdout."""
    if not stdout.strip():
        raise ValueError("the run printed nothing")
    lines = [line.rstrip() for line in stdout.splitlines()]
    counts = next(i for i, line in enumerate(lines) if COUNTS.match(line))
    end = next((i for i in range(counts + 1, len(lines)) if lines[i].startswith("wrote ")), len(lines))
    first_mark = next((i for i, line in enumerate(lines) if line.startswith("✗ ")), counts)
    kept: list[str] = []

    def keep(line: str, wanted: bool) -> None:
        if wanted:
            kept.append(line)
        elif kept and kept[-1] != GAP:
            kept.append(GAP)

    # The table: its title, heads and borders, and the rows of `shown` with the lines they wrap onto.
    row: set[str] | None = None  # the problems of the row being read; None in heads and after a rule
    for line in lines[:first_mark]:
        if _is_rule(line):
            row = None
        elif named := _names_in(line, names):
            row = named
        keep(line, row is None or bool(row & set(shown)))
    # The ✗ and bad-input lines, each with the lines it wraps onto.
    entry_shown = False
    for line in lines[first_mark:counts]:
        if line.startswith(("✗ ", "bad input")):
            entry_shown = any(line.startswith(f"✗ {name} · ") for name in shown)
        keep(line, entry_shown)
    kept += lines[counts:end]  # the counts, and the lines they wrap onto
    title = (
        f"$ {' '.join(COMMAND)}        (at {COLUMNS} columns; abbreviated: the rows and ✗ lines of "
        f"{len(shown)} of the {len(names)} problems, {GAP} where lines are left out)"
    )
    return "\n".join([title, *kept])


def counts_lines(stdout: str) -> list[str]:
    """The counts line as a run printed it, with the lines it wraps onto."""
    lines = [line.rstrip() for line in stdout.splitlines()]
    counts = next(i for i, line in enumerate(lines) if COUNTS.match(line))
    end = next((i for i in range(counts + 1, len(lines)) if lines[i].startswith("wrote ")), len(lines))
    return lines[counts:end]


def readme_block(text: str) -> str:
    """The block under "What a run prints", without its fences."""
    start = text.index(HEADING) + len(HEADING)
    return text[start : text.index("\n```", start)]


def with_block(text: str, block: str) -> str:
    start = text.index(HEADING) + len(HEADING)
    return text[:start] + block + text[text.index("\n```", start) :]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="a saved stdout of the main job at 80 columns")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when README.md differs")
    args = parser.parse_args(argv)
    if args.source:
        stdout = args.source.read_text(encoding="utf-8")
    else:
        with tempfile.TemporaryDirectory() as out:
            stdout = run_main_job(Path(out))
    block = cut(stdout, problem_names())
    text = README.read_text(encoding="utf-8")
    if readme_block(text) == block:
        print("README.md: the block is up to date")
        return 0
    if args.check:
        sys.stdout.writelines(difflib.unified_diff(readme_block(text).splitlines(True), block.splitlines(True)))
        return 1
    README.write_text(with_block(text, block), encoding="utf-8")
    print("README.md: block rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
