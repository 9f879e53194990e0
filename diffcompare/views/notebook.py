"""The results DataFrame in Jupyter: run() and compare() return a Results, a
pandas DataFrame whose HTML view is a styled table of the columns a reader
needs (digits coloured on the palette's scale, verdicts as coloured words,
values to the last digit, messages wrapped), while its data, its text repr and
everything done with it (filtering, groupby, attrs, to_csv) stay the tidy
DataFrame's.

Only the rows shown are styled: a frame longer than pandas' display.max_rows
shows its first display.min_rows, as pandas does, so a 10⁶-row frame costs a
head, not a million styled rows.
"""

from __future__ import annotations

import hashlib
import html
import math

import numpy as np
import pandas as pd

from diffcompare.engine.tape import exact_text
from diffcompare.lang.printable import visible
from diffcompare.running.columns import COLUMNS, EXTRA_COLUMNS
from diffcompare.running.verdicts import VERDICTS
from diffcompare.views.modes import shows_modes
from diffcompare.views.palette import VERDICT_COLOURS, cell_colours, digits_colour, text_colour
from diffcompare.views.summary import cell_pivot, cell_summary, cell_table

# The columns the HTML view shows of a whole results frame; the others (timing,
# sizes, file) are in the DataFrame and in results.csv.
KEY_COLUMNS = [c for c in COLUMNS if c != "time_s"]
# Never style more rows than this, whatever display.max_rows says (None: unlimited):
# the Styler costs milliseconds a row.
MAX_STYLED_ROWS = 1000
MESSAGE_CSS = {"white-space": "normal", "min-width": "24em", "max-width": "48em", "text-align": "left"}


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _exact(value) -> str:
    """The shortest text that reads back as the same float64: every digit a backend returned."""
    return exact_text(value, nan="")


def _general(spec: str):
    def format_number(value) -> str:
        if isinstance(value, (float, np.floating, int, np.integer)):
            return "" if isinstance(value, (float, np.floating)) and math.isnan(value) else format(value, spec)
        return str(value)

    return format_number


def _digits(value) -> str:
    number = _finite(value)
    return "" if number is None else f"{number + 0.0:.1f}"  # + 0.0: -0.0 reads as 0.0


FORMATS = {
    "value": _exact,
    "reference": _exact,
    "abs_error": _general(".2g"),
    "rel_error": _general(".2g"),
    "digits": _digits,
    "ulps": _general(".3g"),
    "tolerance": _general(".2g"),
    "error_estimate": _general(".2g"),
    "time_s": _general(".2g"),
    "setup_s": _general(".2g"),
    "f_time_s": _general(".2g"),
    "cost_ratio": _general(".3g"),
    "expr_ops": _general(".0f"),
    "expr_ops_cse": _general(".0f"),
}


def _uuid(view: pd.DataFrame) -> str:
    """An id from the content, so that a notebook executed twice stores the same HTML."""
    digest = hashlib.sha1(pd.util.hash_pandas_object(view, index=True).to_numpy().tobytes())
    digest.update(repr(list(view.columns)).encode())
    return "dc" + digest.hexdigest()[:12]


def shown_columns(frame: pd.DataFrame) -> list:
    """A whole results frame shows its key columns (and any a user added), and after the
    dtype its operator and mode where the run names them (views/modes.py); a frame cut down
    to chosen columns shows exactly those."""
    if not set(COLUMNS) <= set(frame.columns):
        return list(frame.columns)
    tidy = set(COLUMNS + EXTRA_COLUMNS)
    shown = [c for c in frame.columns if c in KEY_COLUMNS or c not in tidy]
    if shows_modes(frame):
        at = shown.index("dtype") + 1
        shown[at:at] = ["operator", "mode"]
    return shown


def _row_limits() -> tuple[int, int]:
    """(longest frame shown whole, rows shown of a longer one), as pandas' options say."""
    longest = pd.get_option("display.max_rows")
    longest = MAX_STYLED_ROWS if longest is None else min(longest, MAX_STYLED_ROWS)
    head = pd.get_option("display.min_rows") or longest
    return longest, min(head, longest)


def style(frame: pd.DataFrame, rows: int | None = None):
    """A pandas Styler of frame's shown columns and first rows (default: as many as
    pandas would print). Works on any results frame, e.g. one read from results.csv."""
    from pandas.io.formats.style import Styler

    if rows is None:
        longest, head = _row_limits()
        rows = len(frame) if len(frame) <= longest else head
    view = pd.DataFrame(frame.iloc[: min(rows, MAX_STYLED_ROWS)][shown_columns(frame)])
    for column in ("problem", "variable", "message", "file"):  # text from files: control characters shown, not obeyed
        if column in view.columns:
            view[column] = view[column].map(lambda v: visible(v) if isinstance(v, str) else v)
    labels = view.index
    if not labels.is_unique:  # pd.concat of two results: Styler.apply needs unique labels, the reader wants these
        view = view.reset_index(drop=True)
    styler = Styler(view, uuid=_uuid(view), cell_ids=False)
    # Columns without a format of their own get the default one, escaped (messages quote expressions).
    styler.format({c: f for c, f in FORMATS.items() if c in view.columns}, na_rep="", escape="html")
    styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    if view.index is not labels:
        styler.relabel_index([html.escape(str(label)) for label in labels])
    styler.apply(_cell_css, axis=None)
    # Column-wide rules, written once per column rather than once per cell.
    text = [c for c in view.columns if pd.api.types.is_string_dtype(view[c]) or view[c].dtype == object]
    numbers = [("text-align", "right"), ("font-variant-numeric", "tabular-nums")]  # digits line up
    rules = {c: [{"selector": "", "props": [("text-align", "left")] if c in text else numbers}] for c in view.columns}
    if "message" in view.columns:
        rules["message"] = [{"selector": "", "props": list(MESSAGE_CSS.items())}]
    # Numbers and names on one line each; only the message wraps.
    styler.set_table_styles([{"selector": "td, th", "props": [("white-space", "nowrap")]}])
    styler.set_table_styles(rules, overwrite=False)
    return styler


def _cell_css(view: pd.DataFrame) -> pd.DataFrame:
    css = pd.DataFrame("", index=view.index, columns=view.columns)
    verdicts = view["verdict"].astype(str) if "verdict" in view.columns else None
    if "digits" in view.columns:
        digits = pd.to_numeric(view["digits"], errors="coerce")
        dtypes = view["dtype"].astype(str) if "dtype" in view.columns else None
        colours = []
        for position, d in enumerate(digits.to_numpy(dtype=float)):
            if verdicts is not None:
                dtype = dtypes.iloc[position] if dtypes is not None else "float64"
                background, text = cell_colours(verdicts.iloc[position], d, dtype)
            else:
                background = digits_colour(d, verdict=None)  # no verdict, no hue: the neutral ramp
                text = text_colour(background)
            colours.append(f"background-color: {background}; color: {text}" if background else "")
        css["digits"] = colours
    if verdicts is not None:
        css["verdict"] = [
            f"color: {VERDICT_COLOURS[v]}; font-weight: bold" if v in VERDICT_COLOURS else "" for v in verdicts
        ]
    return css


def verdict_counts_html(frame: pd.DataFrame) -> str:
    """'725 rows: 535 agree, 81 disagree, …', each verdict in its colour; zeros left out."""
    counts = frame["verdict"].value_counts()
    known = [v for v in VERDICTS if counts.get(v, 0)]
    other = [v for v in counts.index if v not in VERDICT_COLOURS]
    parts = [
        f'{counts[v]:,} <span style="color: {VERDICT_COLOURS.get(v, "inherit")}; font-weight: bold">'
        f"{html.escape(str(v))}</span>"
        for v in known + other
    ]
    return f"{len(frame):,} {'row' if len(frame) == 1 else 'rows'}: " + ", ".join(parts)


def results_html(frame: pd.DataFrame) -> str:
    """The styled table, and a line that says what it leaves out."""
    styler = style(frame)
    shown_rows, shown = len(styler.data), shown_columns(frame)
    notes = []
    if "verdict" in frame.columns:
        notes.append(verdict_counts_html(frame))
    if shown_rows < len(frame):
        notes.append(
            f"the first {shown_rows:,} of {len(frame):,} rows shown (pd.set_option('display.max_rows', …) "
            "shows more; filter the frame, or .heatmap() for one cell per problem × backend)"
        )
    if len(shown) < len(frame.columns):
        notes.append(f"{len(shown)} of {len(frame.columns)} columns shown; the DataFrame holds them all")
    note = f'<p style="font-size: smaller">{"; ".join(notes)}</p>' if notes else ""
    return f"<div>{styler.to_html()}{note}</div>"


def _heatmap_class():
    from pandas.io.formats.style import Styler

    class Heatmap(Styler):
        """The heatmap's Styler: HTML in a notebook, the terminal's table as text when printed."""

        text = ""

        def __repr__(self) -> str:
            return self.text or "(no backend rows)"

        __str__ = __repr__

    return Heatmap


def heatmap(frame: pd.DataFrame):
    """problem × backend, dtype: the worst element's digits and the cell's worst
    verdict, as in summary.md and the terminal table, coloured by the palette's one rule
    (the verdict the hue, the digits the strength). Printed (from a script, where there is
    no HTML), it is the terminal's table as plain text."""
    from diffcompare.views.terminal import column_order, problem_order, summary_text

    Heatmap = _heatmap_class()
    table = cell_table(frame)
    if table.empty:
        return Heatmap(table)
    # The terminal's and the report's orders: problems with a disagreement first, columns stable.
    table = table.reindex(
        index=[p for p in problem_order(frame) if p in table.index], columns=column_order(table.columns)
    )
    cells = cell_summary(frame)
    styles = [
        _cell_style(verdict, digits, column.rsplit("/", 1)[1])
        for verdict, digits, column in zip(cells["verdict"], cells["digits"], cells["column"])
    ]
    css = cell_pivot(cells, styles).reindex(index=table.index, columns=table.columns)
    header = pd.MultiIndex.from_tuples([tuple(c.rsplit("/", 1)) for c in table.columns], names=["", ""])
    table.columns = css.columns = header
    table.index, css.index = table.index.map(visible), css.index.map(visible)
    table.index.name = None
    styler = Heatmap(table, uuid=_uuid(table), cell_ids=False, escape="html")
    styler.text = summary_text(frame)
    styler.apply(lambda _: css.set_axis(table.index, axis=0), axis=None)
    styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    styler.set_properties(**{"text-align": "right", "white-space": "nowrap"})
    styler.set_caption("correct digits (worst element) and verdict: ✓ every element agrees, ✗ some element disagrees")
    caption = [("caption-side", "bottom"), ("text-align", "left"), ("white-space", "nowrap"), ("font-size", "smaller")]
    styler.set_table_styles([{"selector": "caption", "props": caption}])
    return styler


def _cell_style(verdict: str, digits: float, dtype: str) -> str:
    """A heatmap cell's CSS, from its verdict and digits as the palette colours them."""
    background, text = cell_colours(verdict, digits, dtype)
    return f"background-color: {background}; color: {text}" if background else ""


class Results(pd.DataFrame):
    """The tidy results DataFrame (one row per problem × backend × dtype × variable ×
    element), shown in Jupyter as a styled table. Filtering, slicing and choosing
    columns keep it a Results; pd.DataFrame(results) is the plain frame."""

    _metadata: list[str] = []  # attrs (the load errors) travel through pandas' own __finalize__

    @property
    def _constructor(self):
        return Results

    def _repr_html_(self) -> str | None:
        if not pd.get_option("display.notebook_repr_html"):
            return None
        if not {"problem", "verdict", "message"} & set(self.columns) or not self.columns.is_unique:
            return super()._repr_html_()  # rows no longer results rows (describe(), a groupby's minima)
        try:
            return results_html(self)
        except ImportError:  # no jinja2: pandas' own table is better than none
            return super()._repr_html_()

    def styled(self, rows: int | None = None):
        """The Styler behind the HTML view, to chain further pandas styling or to_html()."""
        return style(self, rows)

    def heatmap(self):
        """The compact pivot: one coloured cell per problem × backend × dtype."""
        return heatmap(self)


def as_results(frame: pd.DataFrame) -> Results:
    """frame as a Results, sharing its data, attrs included."""
    results = Results(frame)
    results.attrs.update(frame.attrs)
    return results
