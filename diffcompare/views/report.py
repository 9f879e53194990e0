"""Views of the results DataFrame: results.csv, summary.md, the terminal table.

Every file is written to a temporary file beside its target and moved into
place with os.replace, so a reader never sees half a report.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from diffcompare.running.verdicts import VERDICTS
from diffcompare.views.palette import VERDICT_STYLES

# Worst first: the verdict a summary cell shows when its rows differ.
DISAGREEMENTS_PER_CELL = 50  # summary.md spells out this many per cell; results.csv has them all
_SEVERITY = {"error": 0, "disagree": 1, "undefined": 2, "kink": 3, "skipped": 4, "agree": 5}
_SYMBOL = {"agree": "✓", "disagree": "✗"}


def atomic_write(path: Path, text: str | None = None, writer=None) -> None:
    """Write text (or let writer(temporary path) write) beside path, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            if text is not None:
                f.write(text)
        if writer is not None:
            writer(tmp)
        # mkstemp makes the file private (0600); a report is for sharing: the umask decides.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """results.csv through Arrow's writer: floats as their shortest exact text,
    NaN as an empty field; pandas' own writer formats 10⁶-row frames a value at a time."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    atomic_write(path, writer=lambda tmp: pa_csv.write_csv(table, tmp))


def cell_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per problem × backend/dtype ("column"), in first-appearance order:
    the worst digits and the worst verdict of the cell's rows."""
    data = frame[frame["backend"] != ""].copy()
    if data.empty:
        return pd.DataFrame(columns=["problem", "column", "digits", "verdict"])
    data["column"] = data["backend"] + "/" + data["dtype"]
    data["severity"] = data["verdict"].map(_SEVERITY)
    grouped = data.groupby(["problem", "column"], sort=False)
    cells = grouped.agg(digits=("digits", "min"), severity=("severity", "min")).reset_index()
    inverse = {v: k for k, v in _SEVERITY.items()}
    cells["verdict"] = cells["severity"].map(inverse)
    return cells.drop(columns="severity")


def cell_table(frame: pd.DataFrame) -> pd.DataFrame:
    """problem × backend/dtype: worst digits and worst verdict of each cell, as labels."""
    cells = cell_summary(frame)
    if cells.empty:
        return pd.DataFrame()

    def label(row) -> str:
        if row["verdict"] not in _SYMBOL:
            return row["verdict"]
        return f"{row['digits']:.1f} {_SYMBOL[row['verdict']]}"

    return cell_pivot(cells, cells.apply(label, axis=1))


def cell_pivot(cells: pd.DataFrame, values) -> pd.DataFrame:
    """One value per cell of cell_summary, as problem × backend/dtype in first-appearance order ("" where none)."""
    columns = list(pd.unique(cells["column"]))
    problems = list(pd.unique(cells["problem"]))
    table = cells.assign(value=values).pivot(index="problem", columns="column", values="value")
    return table.reindex(index=problems, columns=columns).fillna("")


def verdict_counts(frame: pd.DataFrame) -> dict[str, int]:
    return {v: int((frame["verdict"] == v).sum()) for v in VERDICTS}


def verdict_line(frame: pd.DataFrame) -> str:
    return f"{len(frame)} rows: " + ", ".join(f"{n} {v}" for v, n in verdict_counts(frame).items())


def _markdown_table(table: pd.DataFrame) -> str:
    header = ["problem", *table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for problem, row in table.iterrows():
        lines.append("| " + " | ".join([str(problem), *map(str, row.values)]) + " |")
    return "\n".join(lines)


def _element(row) -> str:
    return f"{row['variable']}[{row['index']}]" if row["index"] else row["variable"]  # as ir.element_label


def summary_markdown(frame: pd.DataFrame, errors: list[str]) -> str:
    parts = [
        "# diffcompare summary",
        "",
        "Each cell: the fewest correct significant digits over the cell's gradient elements "
        "(17 = exact to float64 and beyond), then ✓ when every element agrees with the exact "
        "reference, ✗ when any disagrees. Rules: README, 'Reading the report'.",
        "",
        verdict_line(frame),
        "",
    ]
    table = cell_table(frame)
    if not table.empty:
        parts += [_markdown_table(table), ""]
    problems = frame[frame["verdict"] == "disagree"]
    if len(problems):
        parts += [
            "## Disagreements",
            "",
            "| problem | backend | dtype | element | value | reference | rel. error | why |",
        ]
        parts += ["|---|---|---|---|---|---|---|---|"]
        for _, r in problems.iterrows():
            parts.append(
                f"| {r['problem']} | {r['backend']} | {r['dtype']} | {_element(r)} | {r['value']:.17g} "
                f"| {r['reference']:.17g} | {r['rel_error']:.2g} | {r['message']} |"
            )
        parts.append("")
    failed = frame[frame["verdict"].isin(["error", "skipped"])]
    if len(failed):
        parts += ["## Errors and skipped backends", ""]
        seen = set()
        for _, r in failed.iterrows():
            key = (r["problem"], r["backend"], r["dtype"], r["message"])
            if key not in seen:
                seen.add(key)
                parts.append(f"- {r['verdict']}: {r['problem']} · {r['backend']} {r['dtype']}: {r['message']}")
        parts.append("")
    if errors:
        parts += ["## Problems that could not be loaded", ""] + [f"- {e}" for e in errors] + [""]
    return "\n".join(parts)


def write_reports(frame: pd.DataFrame, errors: list[str], out: Path, problems=()) -> list[Path]:
    """results.csv, summary.md and report.html; problems (the run's Problem objects)
    give the HTML report its formulas and tapes."""
    from diffcompare.views.html_report import write_html

    out = Path(out)
    csv_path, md_path = out / "results.csv", out / "summary.md"
    write_csv(frame, csv_path)
    atomic_write(md_path, summary_markdown(frame, errors))
    try:
        html_path = write_html(frame, errors, out / "report.html", problems)
    except Exception as exc:  # the page is a view: its failure must not cost the run its other reports
        print(f"{out / 'report.html'}: not written: {type(exc).__name__}: {exc}", file=sys.stderr)
        return [csv_path, md_path]
    return [csv_path, md_path, html_path]


def disagreement_groups(frame: pd.DataFrame) -> list[tuple[str, str, str, str, list[str]]]:
    """(problem, dtype, elements, message, backends): one per problem, dtype and
    backend's disagreeing elements with the first one's message; backends with the
    same elements and message share a group."""
    entries: dict[tuple, list[str]] = {}
    disagree = frame[frame["verdict"] == "disagree"]
    for (problem, dtype, backend), group in disagree.groupby(["problem", "dtype", "backend"], sort=False):
        head = [f"{v}[{i}]" if i else v for v, i in zip(group["variable"].head(4), group["index"].head(4))]
        elements = ", ".join(head) + (f" and {len(group) - 4} more" if len(group) > 4 else "")
        entries.setdefault((problem, dtype, elements, group["message"].iloc[0]), []).append(backend)
    return [(*key, backends) for key, backends in entries.items()]


def disagreement_lines(frame: pd.DataFrame) -> list[str]:
    """One line per disagreement group (the others are in summary.md and results.csv)."""
    return [
        f"{problem} · {', '.join(backends)} {dtype} · {elements}: {message}"
        for problem, dtype, elements, message, backends in disagreement_groups(frame)
    ]


_TERMINAL_LABEL = {"undefined": "undef", "skipped": "skip"}  # narrow columns
SHORT_DTYPE = {"float32": "f32", "float64": "f64", "decimal": "dec"}  # column heads


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
            view.add_column(f"{backend}\n{SHORT_DTYPE.get(dtype, dtype)}", justify="right", no_wrap=True)
        verdict_of_symbol = {symbol: verdict for verdict, symbol in _SYMBOL.items()}
        for problem, row in table.iterrows():
            cells = []
            for label in row.values:
                # The verdict before the label is narrowed: "undef" and "skip" would not be found.
                verdict = verdict_of_symbol.get(label[-1:], label)
                colour = VERDICT_STYLES.get(verdict, "")
                label = _TERMINAL_LABEL.get(label, label)
                cells.append(f"[{colour}]{label}[/]" if colour else label)
            view.add_row(escape(str(problem)), *cells)
        console.print(view)
    for line in disagreement_lines(frame):
        console.print(f"[{VERDICT_STYLES['disagree']}]✗[/] {escape(line)}", highlight=False)
    for e in errors:
        console.print(f"[magenta]bad input[/] {escape(e)}", highlight=False)
    console.print(verdict_line(frame), highlight=False)
