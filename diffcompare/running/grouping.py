"""Failing rows grouped as a person reads them: one group per problem, verdict, dtype and
the elements that fail, with every backend that fails in those elements with the same
message (the first element's). 39 rows of one overflow (13 backend/dtype cells × 3
elements) are 7 groups; `torch, jax, chainrule float32 · v[0], v[1], v[2]` is one.

The command line's disagreement lines (views/summary.py, disagreement_groups) follow the
same rule; the pytest plugin lists each group's rows with their values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from diffcompare.lang.ir import element_label

ELEMENTS_NAMED = 4  # elements a group's text names before "and N more"


def label(value) -> str:
    """A row's label as text: nothing for a missing one (an error row of the whole problem has
    no backend, dtype or index; a frame read back from CSV has NaN there)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


@dataclass(frozen=True)
class RowGroup:
    problem: str
    verdict: str
    dtype: str
    elements: tuple[str, ...]  # every failing element of the group, in row order
    message: str  # the first element's message, the same for every backend of the group
    backends: tuple[str, ...]  # in order of first appearance
    rows: pd.DataFrame  # the group's rows, every backend's, in the frame's order

    def elements_text(self, named: int = ELEMENTS_NAMED) -> str:
        """'x[0], x[1]' or 'x[0], x[1], x[2], x[3] and 5 more'."""
        head = ", ".join(self.elements[:named])
        rest = len(self.elements) - named
        return head + (f" and {rest} more" if rest > 0 else "")

    def line(self) -> str:
        """The command line's disagreement line: 'problem · torch, jax float32 · x: message'."""
        cell = " ".join(part for part in (", ".join(b for b in self.backends if b), self.dtype) if part)
        return " · ".join(part for part in (self.problem, cell, self.elements_text()) if part) + f": {self.message}"


def group_rows(frame: pd.DataFrame, verdicts=("disagree",)) -> list[RowGroup]:
    """The rows of frame whose verdict is one of verdicts, grouped: the rows of one problem,
    verdict, dtype and backend form a cell; cells with the same elements and the same first
    message are one group. Groups are in order of their first row."""
    rows = frame[frame["verdict"].isin(list(verdicts))]
    if rows.empty:
        return []
    keys = pd.DataFrame(
        {c: rows[c].map(label) if c in rows else "" for c in ("problem", "verdict", "dtype", "backend")},
        index=rows.index,
    )
    variables = rows["variable"].map(label) if "variable" in rows else pd.Series("", index=rows.index)
    indices = rows["index"].map(label) if "index" in rows else pd.Series("", index=rows.index)
    elements = [element_label(v, i) for v, i in zip(variables, indices)]
    keys["element"] = elements
    messages = rows["message"].map(label) if "message" in rows else pd.Series("", index=rows.index)
    found: dict[tuple, list] = {}
    for (problem, verdict, dtype, backend), cell in keys.groupby(
        ["problem", "verdict", "dtype", "backend"], sort=False
    ):
        key = (problem, verdict, dtype, tuple(cell["element"]), messages.loc[cell.index[0]])
        found.setdefault(key, []).append((backend, cell.index))
    groups = []
    for (problem, verdict, dtype, element_list, message), cells in found.items():
        index = pd.Index([i for _, cell_index in cells for i in cell_index])
        ordered = rows.loc[rows.index.isin(index)]
        groups.append(RowGroup(problem, verdict, dtype, element_list, message, tuple(b for b, _ in cells), ordered))
    # Order of first row: groupby(sort=False) gives cells in order of their first row already,
    # and a group's place is that of its first cell.
    return groups
