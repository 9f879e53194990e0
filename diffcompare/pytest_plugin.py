"""Problems as tests: `pytest --diffcompare problems/`.

Registered under the `pytest11` entry point, so pytest loads it wherever
diffcompare is installed; without --diffcompare it collects nothing and changes
nothing. With it, every *.yaml/*.yml file under the paths given is a problem
file and each of its problems one test, run in-process through the backends
(diffcompare.running.runner.run_problems). A test fails when a row disagrees or a backend
raises (`error`), and shows those rows; `kink`, `undefined`, `unsettled` and `skipped` rows
never fail it. A file that does not load is a collection error carrying the
loader's one-line messages.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

FAILING_VERDICTS = ("disagree", "error")
_SETTINGS = pytest.StashKey["Settings"]()
_STARTED = pytest.StashKey[float]()


@dataclass(frozen=True)
class Settings:
    backends: list[str] | None  # None: every available backend
    dtypes: list[str] | None  # None: each problem's own
    tags: list[str] | None  # None: every problem; otherwise those carrying one of them


def _list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("diffcompare", "diffcompare problem files as tests")
    group.addoption(
        "--diffcompare",
        action="store_true",
        default=False,
        help="collect every *.yaml/*.yml under the given paths as diffcompare problem files: one test per problem, "
        "failing when a row disagrees or a backend raises",
    )
    group.addoption("--diffcompare-backends", metavar="LIST", help="comma-separated backends (default: all)")
    group.addoption(
        "--diffcompare-dtypes",
        metavar="LIST",
        help="comma-separated subset of float32,float64 (default: each problem's own)",
    )
    group.addoption(
        "--diffcompare-tags",
        metavar="LIST",
        help="comma-separated tags: run only the problems that carry one of them (case-insensitive; "
        "the others are deselected). -k matches the problem's name",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("diffcompare"):
        return
    from diffcompare import backends as registry
    from diffcompare.spec.problem import DTYPES

    backends = _list(config.getoption("diffcompare_backends"))
    dtypes = _list(config.getoption("diffcompare_dtypes"))
    known = registry.available_names()
    for name in backends or []:
        if name not in known:
            raise pytest.UsageError(f"--diffcompare-backends: unknown backend '{name}' (known: {', '.join(known)})")
    for dtype in dtypes or []:
        if dtype not in DTYPES:
            raise pytest.UsageError(f"--diffcompare-dtypes: unknown dtype '{dtype}' (choose from {', '.join(DTYPES)})")
    tags = _list(config.getoption("diffcompare_tags"))
    config.stash[_SETTINGS] = Settings(backends or None, dtypes or None, tags or None)
    config.stash[_STARTED] = time.perf_counter()


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """--diffcompare-tags: the problems carrying none of the tags are deselected (counted as such
    in the summary line), by the command line's rule (spec/select.py). Other tests are kept."""
    settings = config.stash.get(_SETTINGS, None)
    if settings is None or not settings.tags:
        return
    from diffcompare.spec.select import select_problems

    problems = [item.problem for item in items if isinstance(item, ProblemItem)]
    kept = {id(p) for p in select_problems(problems, (), settings.tags)}
    selected = [item for item in items if not isinstance(item, ProblemItem) or id(item.problem) in kept]
    deselected = [item for item in items if isinstance(item, ProblemItem) and id(item.problem) not in kept]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config):
    """The "N failed, M passed" line in every verbosity: pytest leaves it out from -qq on (as
    when a project's addopts holds -q and the command line adds another), and in a run of
    problems it is the answer. Written after the other summaries (the outermost wrapper)."""
    result = yield
    if _SETTINGS in config.stash and terminalreporter.verbosity < -1:
        parts, colour = terminalreporter.build_summary_stats_line()
        seconds = time.perf_counter() - config.stash[_STARTED]
        terminalreporter.write_line(", ".join(text for text, _ in parts) + f" in {seconds:.2f}s", **{colour: True})
    return result


def pytest_collect_file(file_path, parent: pytest.Collector):
    if parent.config.getoption("diffcompare") and file_path.suffix in (".yaml", ".yml"):
        return ProblemFile.from_parent(parent, path=file_path)
    return None


def _shown(path: Path) -> Path:
    """The path relative to the working folder where it lies below it, so that messages read as the CLI's."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


class ProblemFile(pytest.File):
    """One problem file: an item per problem (per sweep member)."""

    def collect(self):
        from diffcompare.spec.files import load_file
        from diffcompare.spec.problem import ProblemError

        problems, errors = load_file(_shown(self.path))
        seen: set[str] = set()
        for problem in problems:
            if item_name(problem) in seen:  # two tests of one name could not be told apart
                errors.append(ProblemError(problem.file, problem.name, "name", "the name is already used in this file"))
            seen.add(item_name(problem))
        if errors:
            # Collecting nothing from a file half of whose problems are bad would hide the bad half.
            raise self.CollectError("\n".join(str(e) for e in errors))
        for problem in problems:
            yield ProblemItem.from_parent(self, name=item_name(problem), problem=problem)


def item_name(problem) -> str:
    """A problem's test id: its name, and its operator past the gradient ('hess-poly[hessian]',
    which -k hessian selects)."""
    operator = getattr(problem, "operator", "gradient")
    return problem.name if operator == "gradient" else f"{problem.name}[{operator}]"


class ProblemRowsFailed(Exception):
    """Raised by a problem's test: its rows that disagree or are errors."""

    def __init__(self, problem, frame, failing):
        super().__init__(f"{len(failing)} of {len(frame)} rows fail")
        self.problem, self.frame, self.failing = problem, frame, failing


class ProblemItem(pytest.Item):
    def __init__(self, *, problem, **kwargs):
        super().__init__(**kwargs)
        self.problem = problem

    def runtest(self) -> None:
        from diffcompare.backends import timing
        from diffcompare.running.columns import counts_of
        from diffcompare.running.runner import run_problems

        settings = self.config.stash[_SETTINGS]
        saved = timing.settings()
        # A test needs the values, not timings: one timed call per cell, not the default seven.
        timing.configure(repeat=1, budget_s=0.0)
        try:
            frame = run_problems([self.problem], settings.backends, settings.dtypes)
        finally:
            timing.configure(*saved)
        counts = counts_of(frame["verdict"])
        self.user_properties.append(("verdicts", ", ".join(f"{n} {v}" for v, n in counts.items())))
        failing = frame[frame["verdict"].isin(FAILING_VERDICTS)]
        if len(failing):
            raise ProblemRowsFailed(self.problem, frame, failing)
        # Nothing was computed (a backend not installed or not applicable): a pass would claim too much.
        if not len(frame):
            pytest.skip("no rows: none of the chosen backends and dtypes applies to this problem")
        if (frame["verdict"] == "skipped").all():
            pytest.skip(f"every row skipped: {frame['message'].iloc[0]}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ProblemRowsFailed):
            return failure_report(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"diffcompare problem {self.name}"


ROWS_SHOWN = 4  # elements listed per group; the rest are counted


def value_text(value, dtype: str = "float64") -> str:
    """A value to its last digit: the shortest text that reads back as the same number in the
    row's dtype (a float32 value as float32 prints it, 0.10499358; anything else as Python's
    repr of the float64, 0.1049935854035065), so that a value and its reference differ in their
    text wherever they differ as numbers. nan, inf and -inf as such: they are what disagrees."""
    if value is None:
        return ""
    number = float(value)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if dtype == "float32":
        import numpy as np

        return str(np.float32(number))
    return repr(number)


def _rel_error(value) -> str:
    return "" if value is None else f"{float(value):.2g}"


def _words(message: str) -> str:
    """A message without its numbers: two elements' messages that differ only there say the same."""
    return re.sub(r"[-+]?[0-9][0-9.e+-]*", "#", message)


def failure_report(failed: ProblemRowsFailed) -> str:
    """The failing rows as a table, grouped as the command line groups them (running/grouping.py):
    backends that fail in the same elements with the same message share a group, and their
    rows share a line where they printed the same value; each group's message follows its rows
    once. Values and references to their last digit. Past the gradient, or in a mode other
    than a gradient's usual one, the operator is named and each backend with its mode
    ('torch (forward)'), so that two modes' rows are never one group."""
    from diffcompare.running.columns import counts_of
    from diffcompare.running.grouping import group_rows, label
    from diffcompare.views.modes import labelled, operator_text

    problem, frame, failing = failed.problem, failed.frame, labelled(failed.failing)
    counts = ", ".join(f"{n} {verdict}" for verdict, n in counts_of(failing["verdict"]).items())
    lines = [
        f"{problem.name} ({problem.file}): {len(failing)} of {len(frame)} rows fail ({counts})",
        f"f = {problem.text}",
    ]
    if getattr(problem, "operator", "gradient") != "gradient":
        lines.append(f"operator: {problem.operator}, {operator_text(problem)}")
    header = ["backend", "dtype", "element", "value", "reference", "rel_error", "verdict"]
    table: list[list[str] | str] = []  # a row's cells, or a line of text under the rows
    for group in group_rows(failing, FAILING_VERDICTS):
        shown = group.elements[:ROWS_SHOWN]
        records = group.rows.to_dict("records")
        for element in shown:
            # One line per distinct value of this element, naming the backends that gave it.
            lines_of: dict[tuple, list[str]] = {}
            for row in records:
                if _element(row) != element:
                    continue
                if group.verdict == "error":  # the backend raised: no number to show
                    numbers = ("", "", "")
                else:
                    dtype = label(row.get("dtype"))
                    numbers = (
                        value_text(row.get("value"), dtype),
                        value_text(row.get("reference")),
                        _rel_error(row.get("rel_error")),
                    )
                lines_of.setdefault(numbers, []).append(label(row.get("backend")))
            for numbers, backends in lines_of.items():
                table.append([",".join(b for b in backends if b), group.dtype, element, *numbers, group.verdict])
        if len(group.elements) > len(shown):
            table.append(f"    … and {len(group.elements) - len(shown)} more elements")
        said: set[str] = set()
        for row in records:
            message = label(row.get("message"))
            if message and _element(row) in shown and _words(message) not in said:
                said.add(_words(message))
                table.append(f"    {message}")
    cells = [row for row in table if isinstance(row, list)]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for row in table:
        lines.append(row if isinstance(row, str) else "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def _element(row: dict) -> str:
    from diffcompare.lang.ir import element_label  # NumPy: not in every pytest run's import
    from diffcompare.running.grouping import label

    return element_label(label(row.get("variable")), label(row.get("index")))
