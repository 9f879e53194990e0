"""The DataFrame summed up: one cell per problem × backend/dtype with its worst digits
and verdict, the verdict counts, the disagreements grouped, and summary.md's text.
Every other view (terminal, report.html, notebook) reads its summaries from here."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from diffcompare.lang.ir import element_label
from diffcompare.lang.printable import visible
from diffcompare.running.verdicts import VERDICTS
from diffcompare.views.modes import labelled, mode_count_lines, problem_label, problem_operators

# Worst first: the verdict a summary cell shows when its rows differ.
SEVERITY = {"error": 0, "disagree": 1, "unsettled": 2, "undefined": 3, "kink": 4, "skipped": 5, "agree": 6}
SYMBOL = {"agree": "✓", "disagree": "✗"}
SHORT_DTYPE = {"float32": "f32", "float64": "f64", "decimal": "dec"}  # column heads


def cell_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per problem × backend/dtype ("column"), in first-appearance order:
    the worst digits and the worst verdict of the cell's rows. Where the run names modes
    (views/modes.py) a backend's column is one per mode: "torch (forward)/float64"."""
    frame = labelled(frame)
    rows = (frame["backend"] != "").to_numpy(dtype=bool)
    if not rows.any():
        return pd.DataFrame(columns=["problem", "column", "digits", "verdict"])
    # The four columns it reads, and each verdict's severity through its distinct values: a copy of
    # the whole frame, or a Python string per row, is gigabytes at 10⁷ rows.
    codes, verdicts = pd.factorize(frame["verdict"])
    severity = np.array([SEVERITY.get(v, np.nan) for v in verdicts] + [np.nan])[codes]
    data = frame.loc[rows, ["problem", "backend", "dtype", "digits"]].assign(severity=severity[rows])
    grouped = data.groupby(["problem", "backend", "dtype"], sort=False, observed=True)
    cells = grouped.agg(digits=("digits", "min"), severity=("severity", "min")).reset_index()
    cells.insert(1, "column", cells["backend"].astype(str) + "/" + cells["dtype"].astype(str))
    inverse = {v: k for k, v in SEVERITY.items()}
    cells["verdict"] = cells["severity"].map(inverse)
    return cells.drop(columns=["backend", "dtype", "severity"])


def cell_table(frame: pd.DataFrame) -> pd.DataFrame:
    """problem × backend/dtype: worst digits and worst verdict of each cell, as labels."""
    cells = cell_summary(frame)
    if cells.empty:
        return pd.DataFrame()

    def label(row) -> str:
        if row["verdict"] not in SYMBOL:
            return row["verdict"]
        return f"{row['digits']:.1f} {SYMBOL[row['verdict']]}"

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


def verdict_lines(frame: pd.DataFrame) -> list[str]:
    """The verdict counts, then, where the run names modes, the counts of each operator and mode."""
    return [verdict_line(frame), *(f"  {line}" for line in mode_count_lines(frame))]


def problem_labels(frame: pd.DataFrame) -> dict[str, str]:
    """Problem -> how the tables name it: 'hess-poly · hessian' past the gradient, else its name."""
    operators = problem_operators(frame)
    return {name: problem_label(name, operators.get(name)) for name in pd.unique(frame["problem"])}


_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|~&])")


def markdown_text(text) -> str:
    """Text from a file (a problem's name, a message) as literal Markdown on one line:
    control characters and newlines visible, and the characters that would start a
    table cell, a link, an image, HTML, code or emphasis backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", visible(text))


def _markdown_table(table: pd.DataFrame, names: dict[str, str]) -> str:
    header = ["problem", *table.columns]
    lines = ["| " + " | ".join(map(markdown_text, header)) + " |", "|" + "---|" * len(header)]
    for problem, row in table.iterrows():
        lines.append("| " + " | ".join(markdown_text(v) for v in [names.get(problem, problem), *row.values]) + " |")
    return "\n".join(lines)


def summary_markdown(frame: pd.DataFrame, errors: list[str]) -> str:
    parts = [
        "# diffcompare summary",
        "",
        "Each cell: the fewest correct significant digits over the cell's gradient elements "
        "(17 = exact to float64 and beyond), then ✓ when every element agrees with the exact "
        "reference, ✗ when any disagrees. Rules: README, 'Reading the report'.",
        "",
        verdict_line(frame),
        *(f"- {line}" for line in mode_count_lines(frame)),
        "",
    ]
    table = cell_table(frame)
    if not table.empty:
        parts += [_markdown_table(table, problem_labels(frame)), ""]
    frame = labelled(frame)  # below, a backend is named with its mode where the run names modes
    problems = frame[frame["verdict"] == "disagree"]
    if len(problems):
        parts += [
            "## Disagreements",
            "",
            "| problem | backend | dtype | element | value | reference | rel. error | why |",
        ]
        parts += ["|---|---|---|---|---|---|---|---|"]
        for _, r in problems.iterrows():
            element = element_label(r["variable"], r["index"])
            text = [markdown_text(r[c]) for c in ("problem", "backend", "dtype")] + [markdown_text(element)]
            parts.append(
                f"| {' | '.join(text)} | {r['value']:.17g} "
                f"| {r['reference']:.17g} | {r['rel_error']:.2g} | {markdown_text(r['message'])} |"
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
                problem, backend, dtype, message = (
                    markdown_text(r[c]) for c in ("problem", "backend", "dtype", "message")
                )
                parts.append(f"- {r['verdict']}: {problem} · {backend} {dtype}: {message}")
        parts.append("")
    if errors:
        parts += ["## Problems that could not be loaded", ""] + [f"- {markdown_text(e)}" for e in errors] + [""]
    return "\n".join(parts)


def disagreement_groups(frame: pd.DataFrame) -> list[tuple[str, str, str, str, list[str]]]:
    """(problem, dtype, elements, message, backends): one per problem, dtype and
    backend's disagreeing elements with the first one's message; backends with the
    same elements and message share a group."""
    entries: dict[tuple, list[str]] = {}
    frame = labelled(frame)  # 'torch (forward)' and 'torch (reverse)' are two backends here
    disagree = frame[frame["verdict"] == "disagree"]
    for (problem, dtype, backend), group in disagree.groupby(["problem", "dtype", "backend"], sort=False):
        head = [element_label(v, i) for v, i in zip(group["variable"].head(4), group["index"].head(4))]
        elements = ", ".join(head) + (f" and {len(group) - 4} more" if len(group) > 4 else "")
        entries.setdefault((problem, dtype, elements, group["message"].iloc[0]), []).append(backend)
    return [(*key, backends) for key, backends in entries.items()]


def disagreement_lines(frame: pd.DataFrame) -> list[str]:
    """One line per disagreement group (the others are in summary.md and results.csv); a
    problem past the gradient is named with its operator, a backend with its mode."""
    names = problem_labels(frame)
    return [
        f"{names.get(problem, problem)} · {', '.join(backends)} {dtype} · {elements}: {message}"
        for problem, dtype, elements, message, backends in disagreement_groups(frame)
    ]


def problem_order(frame: pd.DataFrame) -> list[str]:
    """The problems as every view lists them: those with a disagreement first, then the
    rest, each in run order (report.html, the terminal table, the notebook's heatmap)."""
    names = list(pd.unique(frame["problem"]))
    bad = set(frame.loc[frame["verdict"] == "disagree", "problem"])
    return [n for n in names if n in bad] + [n for n in names if n not in bad]
