"""What a run shows besides the summary table: the progress bar over problem ×
backend cells on stderr, and the one JSON document of `--format json` on stdout.

The bar is for a person at a terminal only: where stderr is a pipe, a log file or
a test's captured output it is never drawn, and a run shorter than a second never
flashes one. The JSON document is written column-wise through Arrow, so a run of
10⁶ rows costs arrays, not a Python loop over rows.
"""

from __future__ import annotations

import json
import sys
import threading

import numpy as np
import pandas as pd

from diffcompare.lang.printable import visible
from diffcompare.version import __version__
from diffcompare.views.palette import VERDICT_STYLES
from diffcompare.views.summary import SHORT_DTYPE, SYMBOL, cell_table, disagreement_lines, verdict_counts, verdict_line

SHOW_AFTER_S = 1.0  # a run that ends sooner never shows the bar
JSON_CHUNK_ROWS = 100_000  # rows encoded at a time: bounds memory and Arrow's 2 GiB string arrays


class CellProgress:
    """A transient progress bar on stderr over total problem × backend cells.
    Call the instance as progress(problem, backend) once per finished cell; use it
    as a context manager around the run, so that the bar is gone (and the cursor
    back) however the run ends, Ctrl-C included."""

    def __init__(self, total: int, *, enabled: bool = True, console=None, show_after_s: float = SHOW_AFTER_S):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        # is_interactive: a terminal that is not TERM=dumb, and not TTY_INTERACTIVE=0. isatty as well:
        # FORCE_COLOR (set in many CI systems) asks for colours, not for a redrawn line.
        isatty = getattr(self.console.file, "isatty", lambda: False)
        self.enabled = enabled and total > 0 and self.console.is_interactive and isatty()
        self.total, self.show_after_s = total, show_after_s
        self._lock = threading.Lock()
        self._bar = self._task = self._timer = None
        self._shown = self._closed = False

    def __enter__(self) -> CellProgress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            # Built now, so that its clock starts with the run; drawn only once the timer fires.
            self._bar = Progress(
                TextColumn("[bold]cells"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}", markup=False),
                console=self.console,
                transient=True,
                redirect_stdout=False,  # stdout carries the table or the JSON document, never the bar
            )
            self._task = self._bar.add_task("", total=self.total)
            self._timer = threading.Timer(self.show_after_s, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __call__(self, problem, backend: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=visible(f"{problem.name} · {backend}"))

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
    every column]}. NaN and ±inf are null; every float is its shortest exact text, so it
    reads back as the same float64; text is ASCII with \\u escapes."""

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
        return pc.if_else(pc.is_finite(numbers), text, "null")
    if kind in "iu":
        return pc.cast(pa.array(series.to_numpy()), pa.string())
    if kind == "b":
        return pc.if_else(pa.array(series.to_numpy()), "true", "false")
    # Text: few distinct values (problem, backend, verdict …), each encoded once.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    encoded = np.array([json.dumps(str(u)) for u in uniques] + ["null"], dtype=object)
    return pa.array(encoded[codes], type=pa.string())


_TERMINAL_LABEL = {"undefined": "undef", "unsettled": "unset", "skipped": "skip"}  # narrow columns


def print_summary(frame: pd.DataFrame, errors: list[str], console=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:  # a log file or a pipe: no need to squeeze
            console = Console(width=200)
    table = cell_table(frame)
    if not table.empty:
        view = Table(title="correct digits (worst element) and verdict", title_justify="left")
        view.add_column("problem", style="bold", no_wrap=True)
        for col in table.columns:
            backend, dtype = col.rsplit("/", 1)  # a plug-in's name may hold a "/"; a dtype never does
            head = f"{escape(visible(backend))}\n{escape(visible(SHORT_DTYPE.get(dtype, dtype)))}"
            view.add_column(head, justify="right", no_wrap=True)
        verdict_of_symbol = {symbol: verdict for verdict, symbol in SYMBOL.items()}
        for problem, row in table.iterrows():
            cells = []
            for label in row.values:
                # The verdict before the label is narrowed: "undef" and "skip" would not be found.
                verdict = verdict_of_symbol.get(label[-1:], label)
                colour = VERDICT_STYLES.get(verdict, "")
                label = _TERMINAL_LABEL.get(label, label)
                cells.append(f"[{colour}]{label}[/]" if colour else label)
            view.add_row(escape(visible(problem)), *cells)
        console.print(view)
    for line in disagreement_lines(frame):
        console.print(f"[{VERDICT_STYLES['disagree']}]✗[/] {escape(visible(line))}", highlight=False)
    for e in errors:
        console.print(f"[magenta]bad input[/] {escape(visible(e))}", highlight=False)
    console.print(verdict_line(frame), highlight=False)
