"""What a run shows in a terminal: the progress bar over problem × backend cells on
stderr, the summary table on stdout, and the one JSON document of `--format json`.

The table fits the width it is given (the terminal's; on a pipe, COLUMNS, else 120):
the backends are split into parts, each beside the problem column, and a number is
never cut. Columns keep one order from run to run (built-in backends in their report
order, then plug-ins by name; float32 before float64), the problems that of report.html.

The bar is for a person at a terminal only: where stderr is a pipe, a log file or
a test's captured output it is never drawn, and a run shorter than a second never
flashes one. The JSON document is written column-wise through Arrow, so a run of
10⁶ rows costs arrays, not a Python loop over rows.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from diffcompare.lang.printable import visible
from diffcompare.version import __version__
from diffcompare.views.modes import SHORT_MODE, mode_rank, shows_modes, split_label
from diffcompare.views.palette import VERDICT_STYLES
from diffcompare.views.summary import (
    SHORT_DTYPE,
    SYMBOL,
    cell_summary,
    cell_table,
    disagreement_lines,
    problem_labels,
    problem_order,
    verdict_counts,
    verdict_lines,
)

SHOW_AFTER_S = 1.0  # a run that ends sooner never shows the bar
# JSON has no numbers for these: strings that float() reads back (documented in the README).
NAN_JSON, INF_JSON, MINUS_INF_JSON = '"NaN"', '"Infinity"', '"-Infinity"'
JSON_CHUNK_ROWS = 100_000  # rows encoded at a time: bounds memory and Arrow's 2 GiB string arrays


class CellProgress:
    """A transient progress bar on stderr over the run's problem × backend cells (one cell
    gives a backend's rows of one problem, every dtype, variable and element: the summary
    counts those rows). It shows the cells and the problems finished, the time elapsed and
    an estimate of the time left, and a spinner from the start, while the worker processes
    start and load their backends, before the first cell is done.
    Call the instance as progress(problem, backend) once per finished cell; use it
    as a context manager around the run, so that the bar is gone (and the cursor
    back) however the run ends, Ctrl-C included."""

    def __init__(
        self,
        total: int,
        *,
        enabled: bool = True,
        console=None,
        show_after_s: float = SHOW_AFTER_S,
        problems: int = 0,
        workers: int = 1,
    ):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        # is_interactive: a terminal that is not TERM=dumb, and not TTY_INTERACTIVE=0. isatty as well:
        # FORCE_COLOR (set in many CI systems) asks for colours, not for a redrawn line.
        isatty = getattr(self.console.file, "isatty", lambda: False)
        self.enabled = enabled and total > 0 and self.console.is_interactive and isatty()
        self.total, self.show_after_s = total, show_after_s
        self.problems, self.workers = problems, workers
        self.per_problem = total // problems if problems and total % problems == 0 else 0
        self._cells_of: dict[int, int] = {}
        self.problems_done = 0
        self._lock = threading.Lock()
        self._bar = self._task = self._timer = None
        self._shown = self._closed = False

    def starting_text(self) -> str:
        """What the bar says before the first cell is done."""
        workers = f"{self.workers} worker processes" if self.workers > 1 else "the worker"
        return f"starting {workers}: loading the backends"

    def __enter__(self) -> CellProgress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            # Built now, so that its clock starts with the run; drawn only once the timer fires.
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("[bold]cells[/] (problem × backend)"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                TextColumn("{task.description}", markup=False),
                console=self.console,
                transient=True,
                redirect_stdout=False,  # stdout carries the table or the JSON document, never the bar
            )
            self._task = self._bar.add_task(self.starting_text(), total=self.total)
            self._timer = threading.Timer(self.show_after_s, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __call__(self, problem, backend: str) -> None:
        if self.per_problem:
            key = id(problem)
            self._cells_of[key] = self._cells_of.get(key, 0) + 1
            if self._cells_of[key] == self.per_problem:
                self.problems_done += 1
        if self._bar is not None:
            done = f"{self.problems_done}/{self.problems} problems · " if self.per_problem else ""
            self._bar.update(self._task, advance=1, description=visible(f"{done}{problem.name} · {backend}"))

    def _show(self) -> None:
        with self._lock:
            if not self._closed:
                self._bar.start()
                self._shown = True

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._shown:
                self._bar.stop()


def write_json(
    frame: pd.DataFrame, errors: list[str], reports: list, *, interrupted: bool = False, stream=None
) -> None:
    """One JSON document: {"diffcompare": version, "interrupted", "counts": {verdict: n},
    "errors": [bad-input lines], "reports": [paths written], "rows": [one object per row,
    every column, keyed by results.csv's header]}. Every float is its shortest exact text, so
    it reads back as the same float64; NaN, +inf and -inf, which JSON has no numbers for,
    are the strings "NaN", "Infinity" and "-Infinity" (what JavaScript's and Python's
    float() read back); a missing text is null; text is ASCII with \\u escapes."""

    stream = sys.stdout if stream is None else stream
    head = {
        "diffcompare": __version__,
        "interrupted": interrupted,
        "counts": verdict_counts(frame),
        "errors": [str(e) for e in errors],
        "reports": [str(p) for p in reports],
    }
    stream.write(json.dumps(head, allow_nan=False)[:-1] + ', "rows": [')
    separator = "\n"
    for start in range(0, len(frame), JSON_CHUNK_ROWS):
        stream.write(separator + ",\n".join(_json_rows(frame.iloc[start : start + JSON_CHUNK_ROWS])))
        separator = ",\n"
    stream.write("\n]}\n")
    stream.flush()


def _json_rows(frame: pd.DataFrame) -> list[str]:
    """Each row of frame as a JSON object, its keys in column order."""
    import pyarrow.compute as pc

    parts = []
    for i, column in enumerate(frame.columns):
        parts += [("{" if i == 0 else ",") + json.dumps(str(column)) + ":", _json_values(frame[column])]
    return pc.binary_join_element_wise(*parts, "}", "").to_pylist()


def _json_values(series: pd.Series):
    """A column as an Arrow array of JSON texts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = series.dtype.kind
    if kind == "f":
        numbers = pa.array(series.to_numpy(dtype=np.float64))
        # Arrow writes the shortest text that reads back as the same double ("0.1", "1e-300"),
        # but an integral value without its ".0" ("-0", "3") would read back as a JSON integer.
        text = pc.cast(numbers, pa.string())
        text = pc.if_else(
            pc.match_substring_regex(text, r"^-?[0-9]+$"), pc.binary_join_element_wise(text, ".0", ""), text
        )
        not_finite = pc.if_else(
            pc.is_nan(numbers), NAN_JSON, pc.if_else(pc.greater(numbers, 0.0), INF_JSON, MINUS_INF_JSON)
        )
        return pc.if_else(pc.is_finite(numbers), text, not_finite)
    if kind in "iu":
        return pc.cast(pa.array(series.to_numpy()), pa.string())
    if kind == "b":
        return pc.if_else(pa.array(series.to_numpy()), "true", "false")
    # Text: few distinct values (problem, backend, verdict …), each encoded once.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    encoded = np.array([json.dumps(str(u)) for u in uniques] + ["null"], dtype=object)
    return pa.array(encoded[codes], type=pa.string())


_TERMINAL_LABEL = {"undefined": "undef", "unsettled": "unset", "skipped": "skip"}  # narrow columns
PIPE_WIDTH = 120  # the table's width on a pipe or in a file when COLUMNS does not say
NAME_SHARE = 0.4  # of the width, at most, for the problem column (longer names wrap)
GROUP_GAP, DTYPE_GAP = 2, 1  # spaces between backends, and between one backend's dtypes
DTYPE_ORDER = ("float32", "float64", "decimal")


def table_width(console=None) -> int:
    """The summary table's width: the terminal's; on a pipe or in a file, COLUMNS where it is
    a positive number, else PIPE_WIDTH."""
    if console is not None and console.is_terminal:
        return console.width
    columns = os.environ.get("COLUMNS", "").strip()
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


def summary_console(file=None):
    """A rich Console for the summary on stdout (or file), as wide as table_width says."""
    from rich.console import Console

    console = Console(file=file)
    if not console.is_terminal:
        console = Console(file=file, width=table_width())
    return console


def column_order(columns) -> list[str]:
    """backend/dtype columns in a stable order: the built-in backends in their report order,
    then plug-ins by name; within a backend its modes ("torch (forward)/float64", where the
    run names them: views/modes.py) in modes.MODE_ORDER, then by name; within a mode float32,
    float64, decimal, then any other dtype."""
    from diffcompare.backends import BUILTIN

    builtin = list(BUILTIN)

    def key(column: str):
        label, dtype = column.rsplit("/", 1)  # a plug-in's name may hold a "/"; a dtype never does
        backend, mode = split_label(label)
        rank = builtin.index(backend) if backend in builtin else len(builtin)
        dtype_rank = DTYPE_ORDER.index(dtype) if dtype in DTYPE_ORDER else len(DTYPE_ORDER)
        return (rank, backend, *mode_rank(mode), dtype_rank, dtype)

    return sorted(columns, key=key)


@dataclass
class _Group:
    """One backend's columns in the table (one mode's, where the run names modes): its
    dtypes and each column's width. backend is the column's label ("torch (forward)")."""

    backend: str
    dtypes: list[str]
    widths: list[int]

    @property
    def head(self) -> tuple[str, str]:
        """The backend's name and its mode as the head shows it ("fwd-rev"; "" for none)."""
        backend, mode = split_label(self.backend)
        return visible(backend), visible(SHORT_MODE.get(mode, mode))

    @property
    def width(self) -> int:
        return sum(self.widths) + DTYPE_GAP * (len(self.widths) - 1)


@dataclass
class SummaryLayout:
    """The summary table laid out for a width: the problems in order, the name column's
    width, and the backends split into parts that each fit beside the name column."""

    problems: list[str]
    cells: dict  # (problem, backend/dtype) -> (label, verdict)
    name_width: int
    parts: list[list[_Group]]
    names: dict | None = None  # problem -> as shown ("hess · hessian"); the name itself where missing
    modes: bool = False  # a line of modes under the backends' names

    def lines(self):
        """The table as rich Text lines, part after part (a blank line between parts)."""
        from rich.text import Text

        out = []
        for number, groups in enumerate(self.parts):
            if number:
                out.append(Text(""))
            heads, modes, dtypes = Text(" " * self.name_width), Text(" " * self.name_width), Text()
            dtypes.append("problem".ljust(self.name_width), style="bold")
            for group in groups:
                head, mode = group.head if self.modes else (visible(group.backend), "")
                heads.append(" " * GROUP_GAP + head.rjust(group.width), style="bold")
                modes.append(" " * GROUP_GAP + mode.rjust(group.width), style="italic")
                dtypes.append(" " * GROUP_GAP)
                for i, (dtype, w) in enumerate(zip(group.dtypes, group.widths)):
                    short = visible(SHORT_DTYPE.get(dtype, dtype))
                    dtypes.append((" " * DTYPE_GAP if i else "") + short.rjust(w), style="dim")
            out += [heads, modes, dtypes] if self.modes else [heads, dtypes]
            for problem in self.problems:
                name = _chop(visible((self.names or {}).get(problem, problem)), self.name_width)
                line = Text()
                line.append(name[0], style="bold")
                line.append(" " * (self.name_width - cell_len(name[0])))
                for group in groups:
                    line.append(" " * GROUP_GAP)
                    for i, (dtype, w) in enumerate(zip(group.dtypes, group.widths)):
                        label, verdict = self.cells.get((problem, f"{group.backend}/{dtype}"), ("", ""))
                        line.append(" " * (DTYPE_GAP if i else 0) + " " * (w - cell_len(label)))
                        line.append(label, style=VERDICT_STYLES.get(verdict, ""))
                line.rstrip()
                out.append(line)
                out += [Text(rest, style="bold") for rest in name[1:]]
        return out


def _chop(text: str, width: int) -> list[str]:
    from rich.cells import chop_cells

    return chop_cells(text, width) or [""]


def cell_len(text: str) -> int:
    from rich.cells import cell_len as length

    return length(text)


def summary_layout(frame: pd.DataFrame, width: int) -> SummaryLayout:
    """Lay the problem × backend/dtype table out in width columns: every column whole (a
    number is never cut), a backend's dtypes side by side, the backends in as many parts as
    the width needs, the problem column repeated in each."""
    cells = cell_summary(frame)
    if cells.empty:
        return SummaryLayout([], {}, 0, [])
    verdict_of_symbol = {symbol: verdict for verdict, symbol in SYMBOL.items()}
    table = cell_table(frame)
    labels = {}
    for problem, row in table.iterrows():
        for column, label in row.items():
            if label:
                # The verdict before the label is narrowed: "undef" and "skip" would not be found.
                verdict = verdict_of_symbol.get(label[-1:], label)
                labels[(problem, column)] = (_TERMINAL_LABEL.get(label, label), verdict)
    problems = [p for p in problem_order(frame) if p in table.index]
    names = problem_labels(frame)
    modes = any(split_label(column.rsplit("/", 1)[0])[1] for column in table.columns)
    groups: list[_Group] = []
    for column in column_order(table.columns):
        backend, dtype = column.rsplit("/", 1)
        widths = [cell_len(label) for (p, c), (label, _) in labels.items() if c == column]
        column_width = max([cell_len(visible(SHORT_DTYPE.get(dtype, dtype))), *widths])
        if groups and groups[-1].backend == backend:
            groups[-1].dtypes.append(dtype)
            groups[-1].widths.append(column_width)
        else:
            groups.append(_Group(backend, [dtype], [column_width]))
    for group in groups:  # a backend's name (or mode) longer than its columns widens the first
        head = max(map(cell_len, group.head)) if modes else cell_len(visible(group.backend))
        group.widths[0] += max(0, head - group.width)
    longest = max([cell_len("problem"), *(cell_len(visible(names[p])) for p in problems)])
    everything = sum(GROUP_GAP + g.width for g in groups)
    if longest + everything <= width:
        name_width = longest
    else:
        name_width = min(longest, max(cell_len("problem"), int(width * NAME_SHARE)))
    parts: list[list[_Group]] = []
    used = name_width
    for group in groups:
        if parts and used + GROUP_GAP + group.width <= width:
            parts[-1].append(group)
            used += GROUP_GAP + group.width
        else:  # a new part (a backend wider than the whole line still gets one, whole)
            parts.append([group])
            used = name_width + GROUP_GAP + group.width
    return SummaryLayout(problems, labels, name_width, parts, names, modes)


def operator_tables(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(heading, rows) of each summary table: the gradients' problems in one table, as a run of
    gradients alone prints them (a column per backend, no modes), and the other operators'
    in a table of their own, a column per backend and mode; one table where a run holds one
    kind. The heading is "" for a run of gradients alone."""
    if "operator" not in frame.columns or not shows_modes(frame):
        return [("", frame)]
    gradient = (frame["operator"] == "gradient").to_numpy(dtype=bool)
    if gradient.all() or not gradient.any():
        return [("", frame)]
    return [("gradients", frame[gradient]), ("other operators, a column per backend and mode", frame[~gradient])]


def summary_text(frame: pd.DataFrame, width: int | None = None) -> str:
    """The summary tables as plain text (no colours), width columns wide (default: table_width())."""
    lines = []
    for _, rows in operator_tables(frame):
        layout = summary_layout(rows, table_width() if width is None else width)
        lines += [line.plain for line in layout.lines()]
    return "\n".join(lines)


def print_summary(frame: pd.DataFrame, errors: list[str], console=None) -> None:
    """The summary table (problems × backend/dtype, each cell the worst element's correct digits
    and ✓/✗, or the verdict), the disagreements, the bad input and the verdict counts."""
    from rich.markup import escape

    console = summary_console() if console is None else console
    for heading, rows in operator_tables(frame):
        layout = summary_layout(rows, table_width(console))
        if not layout.parts:
            continue
        title = "correct digits (worst element) and verdict: ✓ every element agrees, ✗ some element disagrees"
        if heading:
            title = f"{heading}: {title}"
        if len(layout.parts) > 1:
            title += f"; the backends in {len(layout.parts)} parts"
        if layout.modes:
            title += "; under each backend its mode: " + mode_legend(layout)
        console.print(title, style="italic", highlight=False)
        for line in layout.lines():
            # Never wrapped nor cropped: each part fits the width, and a number is never cut.
            console.print(line, no_wrap=True, crop=False, soft_wrap=True, highlight=False)
    tables = operator_tables(frame)
    for line in (line for _, rows in tables for line in disagreement_lines(rows)):  # each table's in its words
        console.print(f"[{VERDICT_STYLES['disagree']}]✗[/] {escape(visible(line))}", highlight=False)
    for e in errors:
        console.print(f"[{VERDICT_STYLES['error']}]bad input[/] {escape(visible(e))}", highlight=False)
    for line in verdict_lines(frame):
        console.print(line, highlight=False)


def mode_legend(layout: SummaryLayout) -> str:
    """'fwd forward, rev reverse': the short modes of the table's heads, in their order."""
    modes = dict.fromkeys(split_label(g.backend)[1] for groups in layout.parts for g in groups)
    return ", ".join(f"{SHORT_MODE[m]} {m}" if SHORT_MODE.get(m, m) != m else visible(m) for m in modes if m)


def report_link(path) -> str:
    """The line that ends a run on a terminal: the report as a file:// URL to open."""
    return f"open {Path(path).resolve().as_uri()}"


def _longest_word(texts) -> int:
    return max((cell_len(word) for text in texts for word in str(text).split()), default=0)


def tape_title(problem, dtype: str) -> str:
    """The title of `explain`'s tape: the problem and f; past the gradient, its operator and
    what the tape is (reverse mode's, of f; for an array f seeded with a 1 per element, so that
    its inputs' adjoints are the column sums of the Jacobian, not the operator's result)."""
    title = f"{problem.name}: f = {problem.text}  ({dtype})"
    operator = getattr(problem, "operator", "gradient")
    if operator == "gradient":
        return title
    if operator == "jvp":
        along = ", ".join(f"{v} along {x}" for x, v in problem.direction.items())
        return f"{title}; operator jvp: forward mode's tape, each step's tangent along the direction ({along})"
    seeded = ", seeded with 1 for each element of f" if tuple(problem.function.shape) else ""
    return f"{title}; operator {operator}: this is reverse mode's tape of f{seeded}"


NAME_FOLD = 10  # columns at most for a tape step's name and its ∂/∂ labels, folded past that


def print_tape(console, title: str, steps, forward: bool = False) -> None:
    """The chain-rule tape as a table that fits the console, a number never cut: the six
    columns side by side where every number fits whole; else the value, the local
    derivatives and the adjoint stacked in one column (label, number). Only names fold
    (past NAME_FOLD columns, and names inside an operation past its longest constant);
    an operation's constants stay whole. Where even that is wider than the console, it is printed wider.
    forward: the forward-mode tape, each step's tangent along the direction in place of its adjoint."""
    from rich.markup import escape
    from rich.table import Table

    from diffcompare.engine.tape import FORWARD_TAPE_COLUMNS, TAPE_COLUMNS, forward_tape_table, tape_table

    rows = forward_tape_table(steps) if forward else tape_table(steps)
    last, last_label = (FORWARD_TAPE_COLUMNS[-1], "tangent") if forward else (TAPE_COLUMNS[-1], "adjoint")
    numbers = _longest_word(t for row in rows for t in (row[3], *row[4], row[5]))
    # An operation's words with a digit (its constants) stay whole; the rest (names) may fold.
    operations = max(8, _longest_word(w for row in rows for w in visible(row[2]).split() if any(map(str.isdigit, w))))
    names = min(NAME_FOLD, max(4, _longest_word(visible(row[1]) for row in rows)))
    title = escape(visible(title))

    def table_of(*more) -> Table:
        """step, name and operation, then more (header, min width, max width): left-aligned."""
        table = Table(title=title, title_justify="left", box=None, pad_edge=False, show_edge=False)
        table.add_column("step", justify="right")
        # min_width: never narrower (a number, an operation's constants); max_width: a name folds past it.
        table.add_column("name", overflow="fold", max_width=names)
        table.add_column("operation", overflow="fold", min_width=operations, max_width=max(operations, 16))
        for header, low, high in more:
            table.add_column(header, overflow="fold", min_width=low, max_width=high)
        return table

    def wide() -> Table:
        table = table_of(("value", numbers, None), ("local derivatives", numbers, None), (last, numbers, None))
        for step, name, operation, value, local, adjoint in rows:
            table.add_row(step, escape(visible(name)), escape(visible(operation)), value, "\n".join(local), adjoint)
        return table

    def stacked() -> Table:
        # The labels (value, ∂/∂operand, adjoint), then their numbers.
        table = table_of(("", None, NAME_FOLD), (f"value · local derivatives · {last}", numbers, None))
        for step, name, operation, value, local, adjoint in rows:
            labels, texts = ["value"], [value]
            for entry in local:  # '∂/∂t7 = -0.0877…'
                label, _, number = entry.partition(" = ")
                labels.append(escape(visible(label)))
                texts.append(number)
            labels.append(last_label)
            texts.append(adjoint)
            # Each entry as many lines as its text has (an array's rows) or its label folds into.
            label_lines, text_lines = [], []
            for label, text in zip(labels, texts):
                label_part = _chop(label, NAME_FOLD)
                text_part = str(text).split("\n")
                height = max(len(label_part), len(text_part))
                label_lines += label_part + [""] * (height - len(label_part))
                text_lines += text_part + [""] * (height - len(text_part))
            table.add_row(
                step, escape(visible(name)), escape(visible(operation)), "\n".join(label_lines), "\n".join(text_lines)
            )
        return table

    width = console.width
    for build in (wide, stacked):
        table = build()
        need = _least_width(table)
        if need <= width:
            console.print(table)
            return
    console.width = need  # wider than the console: the terminal wraps lines, no number is cut
    try:
        console.print(table)
    finally:
        console.width = width


def _least_width(table) -> int:
    """The narrowest a borderless table can be with no word of any cell (header included) cut:
    each column its longest word (or its min_width; a column that folds, its max_width at
    most), two spaces between columns."""
    widths = []
    for column in table.columns:
        longest = _longest_word([column.header, *(str(c) for c in column.cells)])
        if column.max_width:
            longest = min(longest, column.max_width)
        widths.append(max(column.min_width or 0, longest))
    return sum(widths) + 2 * (len(widths) - 1)
