"""A Jacobian's or a Hessian's correct digits as matrices in report.html: one small table
per result × backend × mode × dtype, a cell per entry (output index down, input index
across for a Jacobian; row and column for a Hessian block), coloured by the one rule
(palette.cell_colours through html_text.cell_style: the verdict the hue, the digits the
strength; MATRIX_CSS is in the page's style sheet), its digits and ✗ where it disagrees as text. The tables wrap side by side, so
that a 4 × 4 Hessian's in two modes and two dtypes reads at 420 px without a script.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from diffcompare.views.html_text import cell_style, escape
from diffcompare.views.modes import backend_label

MATRIX_OPERATORS = ("jacobian", "hessian")
MATRIX_SIDE = 16  # rows and columns shown at most; results.csv has every entry
MATRIX_CSS = (
    ".matrices { display: flex; flex-wrap: wrap; gap: 4px 14px; }"
    " table.digits { margin: 2px 0; } table.digits caption { text-align: left; font-size: 12px; }"
    " table.digits td, table.digits th { padding: 1px 3px; font-size: 11px; text-align: center; }"
    " table.digits td { min-width: 2.4em; }"
)


def _row_axes(problem, variable: str, operator: str) -> int | None:
    """How many of an entry's index components name its row: f's for a Jacobian, the first
    variable's for a Hessian block; None without the problem (then the first component)."""
    if problem is None:
        return None
    if operator == "jacobian":
        return len(problem.function.shape)
    first = variable.split(",")[0]
    value = problem.point.get(first)
    return None if value is None else np.ndim(value)


def _split(index: str, row_axes: int | None) -> tuple[str, str]:
    """'1,0,2' -> ('1', '0,2') with one row axis: the entry's row and column labels."""
    parts = index.split(",") if index else []
    k = 1 if row_axes is None else row_axes
    if len(parts) < 2 and row_axes is None:
        return ("", index)  # a vector: one row
    return (",".join(parts[:k]), ",".join(parts[k:]))


def _table(rows: pd.DataFrame, caption: str, row_axes: int | None) -> str:
    labels = [_split(str(i), row_axes) for i in rows["index"]]
    order_rows = list(dict.fromkeys(r for r, _ in labels))
    order_cols = list(dict.fromkeys(c for _, c in labels))
    shown_rows, shown_cols = order_rows[:MATRIX_SIDE], order_cols[:MATRIX_SIDE]
    cells = {}
    for (r, c), verdict, digits, dtype in zip(labels, rows["verdict"], rows["digits"], rows["dtype"]):
        cells[(r, c)] = (str(verdict), digits, str(dtype))
    head = "".join(f"<th>{escape(c)}" for c in shown_cols)
    body = []
    for r in shown_rows:
        tds = []
        for c in shown_cols:
            found = cells.get((r, c))
            if found is None:
                tds.append("<td>")
                continue
            verdict, digits, dtype = found
            if verdict in ("agree", "disagree") and pd.notna(digits):
                text = f"{float(digits):.1f}" + ("✗" if verdict == "disagree" else "")
            else:
                text = f"<small>{escape(verdict)}</small>"
            tds.append(f"<td{cell_style(verdict, digits, dtype)}>{text}")
        body.append(f"<tr><th>{escape(r)}{''.join(tds)}")
    more = len(order_rows) - len(shown_rows), len(order_cols) - len(shown_cols)
    cut = f" (first {len(shown_rows)} × {len(shown_cols)})" if any(more) else ""
    return (
        f"<table class=digits><caption>{escape(caption)}{cut}</caption>"
        f"<thead><tr><th>{head}</thead><tbody>{''.join(body)}</tbody></table>"
    )


def digit_matrices(rows: pd.DataFrame, problem=None) -> str:
    """The digits of a Jacobian's or Hessian's entries as matrices, per result (`variable`)
    × backend × mode × dtype ('' for other operators, or rows without entries)."""
    if "operator" not in rows.columns or rows.empty:
        return ""
    operator = str(rows["operator"].iloc[0])
    # The entries that were computed: a skipped or failed cell is one row for its whole result.
    entries = rows[(rows["backend"] != "") & ~rows["verdict"].isin(["skipped", "error"])]
    if operator not in MATRIX_OPERATORS or entries.empty:
        return ""
    modes = entries["mode"].astype(object).where(entries["mode"].notna(), "").astype(str)
    keys = [entries["variable"].astype(str), entries["backend"].astype(str), modes, entries["dtype"].astype(str)]
    parts = []
    for variable, group in entries.groupby(keys[0], sort=False):
        tables = []
        for (_, backend, mode, dtype), cell in group.groupby([k.loc[group.index] for k in keys], sort=False):
            caption = f"{backend_label(backend, mode)} {dtype}"
            tables.append(_table(cell, caption, _row_axes(problem, variable, operator)))
        what = "∂f/∂" + variable if operator == "jacobian" else "∂²f/∂" + "∂".join(variable.split(","))
        if "," not in variable and operator == "hessian":
            what = f"∂²f/∂{variable}²"
        across = "output down, input across" if operator == "jacobian" else "row down, column across"
        parts.append(
            f"<h4>{escape(what)} <span class=muted>({across})</span></h4><div class=matrices>{''.join(tables)}</div>"
        )
    return (
        "<h3>Correct digits per entry</h3><p class='muted'>Each entry's correct digits, "
        "coloured by its verdict (✗ disagrees); one matrix per backend, mode and dtype.</p>"
        f"<div class=scroll>{''.join(parts)}</div>"
    )
