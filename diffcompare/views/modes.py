"""Operators and modes as the views name them: which rows say their mode, and how.

A run of gradients alone reads as it always has: every backend computes the gradient in
the one mode its method implies (AD in reverse mode, SymPy symbolically, central
differences by finite differences), so the mode says nothing and no view shows it. Where
a run holds another operator (a Jacobian, a Hessian …), a backend in two modes, or a
gradient in a mode of its own (a plug-in's forward mode), every view names each backend
with its mode, "torch (forward)", as if it were a backend of its own: its own column, its
own counts, its own disagreement lines, so that no row's mode is merged away.

`labelled(frame)` does that once, by rewriting the backend column to the label; the
summaries (views/summary.py, running/grouping.py) then keep the modes apart unchanged.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from diffcompare.running.verdicts import VERDICTS
from diffcompare.spec.operators import AD_MODES, describe

# The modes a gradient goes without saying in: the AD default and the non-AD methods' own words.
USUAL_GRADIENT_MODES = ("reverse", "symbolic", "finite-difference", "complex-step", "given")
# Narrow names for the terminal's columns, where "forward-over-reverse" would take 20 of 80.
SHORT_MODE = {
    "forward": "fwd",
    "forward-dual": "fwd-dual",
    "reverse": "rev",
    "reverse-graph": "rev-graph",
    "forward-over-reverse": "fwd-rev",
    "reverse-over-reverse": "rev-rev",
    "forward-over-forward": "fwd-fwd",
    "reverse-over-forward": "rev-fwd",
    "symbolic": "sym",
    "finite-difference": "fd",
    "complex-step": "cs",
    "given": "given",
}
# A backend's modes left to right: no mode (a cell skipped), AD's, then the other methods'.
MODE_ORDER = ("", *AD_MODES, *USUAL_GRADIENT_MODES[1:])
_LABEL = re.compile(r"^(?P<backend>.*) \((?P<mode>[^()]*)\)$")


def _text(value) -> str:
    """A label as text: '' where missing (a frame read back from CSV has NaN there)."""
    return value if isinstance(value, str) else ""


# Below this many rows a frame's values are read as Python lists: a report section's few rows
# cost microseconds that way, and a millisecond or more in pandas' per-call overhead, once per
# problem of a thousand-problem run.
_SMALL = 4096


def _distinct(frame: pd.DataFrame, column: str) -> set[str]:
    """The column's values, once each (a categorical column's are at hand: no scan of its rows)."""
    if column not in frame.columns:
        return set()
    values = frame[column].tolist() if len(frame) <= _SMALL else pd.unique(frame[column])
    return {_text(v) for v in values}


def _changes(series: pd.Series) -> np.ndarray:
    """Where each row differs from the one before (the first row: always)."""
    change = series.ne(series.shift()).to_numpy(dtype=bool, copy=True)
    if len(change):
        change[0] = True
    return change


def backend_modes(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """The distinct (backend, mode) pairs of frame's rows, in order of appearance. A cell's rows
    lie together, so only the rows where either changes are read: a 10⁷-row frame costs a
    comparison of two columns with themselves shifted, not a grouping of them."""
    if len(frame) > _SMALL:
        frame = frame.loc[_changes(frame["backend"]) | _changes(frame["mode"]), ["backend", "mode"]]
    return list(dict.fromkeys(zip(map(_text, frame["backend"].tolist()), map(_text, frame["mode"].tolist()))))


def shows_modes(frame: pd.DataFrame) -> bool:
    """Whether the views name each backend's mode: the run holds an operator past the gradient,
    a backend in more than one mode, or a gradient in a mode other than its method's own."""
    if "mode" not in frame.columns or frame.empty:
        return False
    if _distinct(frame, "operator") - {"", "gradient"}:
        return True
    modes = _distinct(frame, "mode") - {""}
    if modes - set(USUAL_GRADIENT_MODES):
        return True
    if len(modes) < 2:
        return False
    named = [backend for backend, mode in backend_modes(frame) if backend and mode]
    return len(named) > len(set(named))


def backend_label(backend: str, mode: str) -> str:
    """'torch (forward)'; the backend alone where it has no mode (a cell that was skipped)."""
    return f"{backend} ({mode})" if mode else backend


def split_label(label: str) -> tuple[str, str]:
    """('torch', 'forward') from 'torch (forward)'; (label, '') for a backend without a mode."""
    found = _LABEL.match(label)
    return (found["backend"], found["mode"]) if found else (label, "")


def mode_rank(mode: str) -> tuple[int, str]:
    return (MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER), mode)


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """frame itself where modes go without saying; else a copy whose backend column names the
    mode too ('torch (forward)'), so that every summary keeps the modes apart. A cell without
    a mode (the backend does not compute this operator: skipped) is shown under the backend's
    first mode of the run, rather than in a column of its own."""
    if not shows_modes(frame):
        return frame
    first: dict[str, str] = {}
    for backend, mode in backend_modes(frame):
        if mode and (backend not in first or mode_rank(mode) < mode_rank(first[backend])):
            first[backend] = mode
    # A label per distinct pair, taken by the pair's code: a 10⁶-row Hessian's frame costs two
    # factorisations and an Arrow take, not a string concatenation per row.
    import pyarrow as pa

    backend_codes, backends = pd.factorize(frame["backend"])  # -1: missing
    mode_codes, modes = pd.factorize(frame["mode"])
    backends, modes = [*map(_text, backends), ""], [*map(_text, modes), ""]
    table = [backend_label(b, m or first.get(b, "")) if b else b for b in backends for m in modes]
    codes = np.where(backend_codes < 0, len(backends) - 1, backend_codes) * len(modes)
    codes += np.where(mode_codes < 0, len(modes) - 1, mode_codes)
    label = pa.array(table, pa.large_string()).take(pa.array(codes))
    return frame.assign(backend=pd.array(pa.chunked_array([label]), dtype="str"))


def problem_operators(frame: pd.DataFrame) -> dict[str, str]:
    """Problem -> its operator, for the problems of frame whose operator is not the gradient."""
    if not _distinct(frame, "operator") - {"", "gradient"}:
        return {}
    rows = frame[~frame["operator"].isin(["", "gradient"]) & frame["operator"].notna()]
    pairs = rows[["problem", "operator"]].drop_duplicates("problem")
    return {_text(p): _text(o) for p, o in zip(pairs["problem"], pairs["operator"])}


def problem_label(name: str, operator: str | None) -> str:
    """'hessian-poly · hessian': a problem as the tables name it; a gradient's by its name alone."""
    return f"{name} · {operator}" if operator and operator != "gradient" else name


def mode_count_lines(frame: pd.DataFrame) -> list[str]:
    """Where modes are shown: each mode's rows and verdicts ('forward-over-reverse: 8 rows:
    8 agree'), the modes in MODE_ORDER, the verdicts without rows left out."""
    if not shows_modes(frame):
        return []
    rows = frame["backend"].notna() & (frame["backend"] != "")
    counts = frame.loc[rows, ["mode", "verdict"]].value_counts(sort=False, dropna=False)
    found: dict[str, dict[str, int]] = {}
    for (mode, verdict), n in counts.items():
        if n:
            found.setdefault(_text(mode), {})[_text(verdict)] = int(n)
    order = {v: k for k, v in enumerate(VERDICTS)}
    lines = []
    for mode in sorted(found, key=mode_rank):
        verdicts = sorted(found[mode].items(), key=lambda kv: order.get(kv[0], len(order)))
        n = sum(found[mode].values())
        words = ", ".join(f"{k} {v}" for v, k in verdicts)
        lines.append(f"{mode or 'no mode (not computed)'}: {n} row{'s' * (n != 1)}: {words}")
    return lines


def operator_text(problem) -> str:
    """What a problem's section says of its operator: 'the Hessian', 'the Hessian-vector
    product along v (for x)', 'the vector-Jacobian product with cotangent u'."""
    operator = getattr(problem, "operator", "gradient")
    text = describe(operator)
    direction = getattr(problem, "direction", None) or {}
    if direction:
        text += " along " + ", ".join(f"{v} (for {x})" for x, v in direction.items())
    cotangent = getattr(problem, "cotangent", None)
    if cotangent:
        text += f" with cotangent {cotangent}"
    return text
