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

from dataclasses import dataclass
from pathlib import Path

import pytest

FAILING_VERDICTS = ("disagree", "error")
_SETTINGS = pytest.StashKey["Settings"]()


@dataclass(frozen=True)
class Settings:
    backends: list[str] | None  # None: every available backend
    dtypes: list[str] | None  # None: each problem's own


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
    config.stash[_SETTINGS] = Settings(backends or None, dtypes or None)


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
            if problem.name in seen:  # two tests of one name could not be told apart
                errors.append(ProblemError(problem.file, problem.name, "name", "the name is already used in this file"))
            seen.add(problem.name)
        if errors:
            # Collecting nothing from a file half of whose problems are bad would hide the bad half.
            raise self.CollectError("\n".join(str(e) for e in errors))
        for problem in problems:
            yield ProblemItem.from_parent(self, name=problem.name, problem=problem)


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
        from diffcompare.running.runner import run_problems

        settings = self.config.stash[_SETTINGS]
        saved = timing.settings()
        # A test needs the values, not timings: one timed call per cell, not the default seven.
        timing.configure(repeat=1, budget_s=0.0)
        try:
            frame = run_problems([self.problem], settings.backends, settings.dtypes)
        finally:
            timing.configure(*saved)
        counts = frame["verdict"].value_counts()
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


def _label(value) -> str:
    """Nothing for a missing label (NaN: an error row of the whole problem has no backend, dtype or index)."""
    return "" if value is None or value != value else str(value)


def _number(value) -> str:
    """Six significant digits; a non-finite value shows as nan or inf, since that is what disagrees."""
    return "" if value is None else f"{value:.6g}"


def failure_report(failed: ProblemRowsFailed) -> str:
    """The failing rows as a table, each followed by its message: which backend, dtype and element went
    wrong, and by how much."""
    from diffcompare.lang.ir import element_label  # NumPy: not in every pytest run's import

    problem, frame, failing = failed.problem, failed.frame, failed.failing
    counts = ", ".join(f"{n} {verdict}" for verdict, n in failing["verdict"].value_counts().items())
    lines = [
        f"{problem.name} ({problem.file}): {len(failing)} of {len(frame)} rows fail ({counts})",
        f"f = {problem.text}",
    ]
    header = ["backend", "dtype", "element", "value", "reference", "rel_error", "verdict"]
    rows, messages = [], []
    for row in failing.to_dict("records"):
        element = element_label(_label(row.get("variable")), _label(row.get("index")))
        numbers = [row.get("value"), row.get("reference"), row.get("rel_error")]
        if row.get("verdict") == "error":  # the backend raised: no number to show
            numbers = [None] * 3
        labels = [_label(row.get("backend")), _label(row.get("dtype")), element]
        rows.append(labels + [_number(n) for n in numbers] + [_label(row.get("verdict"))])
        messages.append(_label(row.get("message")))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for row, message in zip(rows, messages):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if message:
            lines.append(f"    {message}")
    return "\n".join(lines)
