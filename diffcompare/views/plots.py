"""The HTML report's plots as inline SVG text: matplotlib draws the scaling and
step-sweep plots; the per-problem time bars are an HTML table (see time_bars).

Text stays text in the SVG (svg.fonttype = none): it is smaller, sharp at any zoom
and searchable; the browser draws it in its own sans-serif.
"""

from __future__ import annotations

import io
import itertools
import re

import numpy as np
import pandas as pd

from diffcompare.lang.printable import visible

_PATH_DATA = re.compile(r' d="[^"]*"')
_COORDINATE = re.compile(r"-?\d+\.\d{2,}")  # a number with more than one decimal
_SVG_STYLE = {"svg.fonttype": "none", "svg.hashsalt": "diffcompare"}
_FIGURE_NUMBERS = itertools.count(1)
FLOOR = 1e-17  # where a step sweep's error of exactly 0 is drawn on the log scale


def svg_of(fig) -> str:
    """The figure as an <svg> element (no prolog), its ids unique to this figure:
    many figures share one HTML page, and matplotlib names its clip paths alike."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    with plt.rc_context(_SVG_STYLE):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :].replace("<svg ", '<svg class="plot" ', 1)  # the report's CSS fits it to the page
    svg = _PATH_DATA.sub(lambda m: _COORDINATE.sub(_tenth, m.group()), svg)  # paths to 0.1 px: enough
    prefix = f"f{next(_FIGURE_NUMBERS)}-"
    return re.sub(r'(id="|url\(#|href="#)', lambda m: m.group(1) + prefix, svg)


def _tenth(match: re.Match) -> str:
    text = f"{float(match.group()):.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def literal(text: str) -> str:
    """Text for matplotlib as it is: a problem name holding two `$` would otherwise be
    typeset as mathtext, and a malformed one would fail the whole figure."""
    return visible(text).replace("$", r"\$")


def _pyplot():
    import matplotlib

    matplotlib.use("agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _plain_log_ticks(axis, label) -> None:
    """Decade ticks labelled in plain text: matplotlib's default 10^k labels go
    through mathtext, which costs more than the rest of the figure together."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax = axis.axes
    low, high = ax.get_xlim() if axis is ax.xaxis else ax.get_ylim()  # the limits as autoscaled
    # Within two decades, label 1-2-5 steps too: a single decade would show one label or none.
    subs = (1.0,) if high > 100 * low else (1.0, 2.0, 5.0)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: label(v)))
    axis.set_minor_formatter(NullFormatter())


def _scientific(value: float) -> str:
    return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def time_bars(cells: pd.DataFrame, what: str = "gradient") -> str | None:
    """One bar per backend and dtype: the median seconds of one warm evaluation of the
    operator (time_s; what names it: "gradient", "Hessian"), on a log scale, as an HTML table (a bar is a styled <i>, float32's lighter; the
    report's CSS draws it): it narrows with the page, and its numbers are text.
    cells: one row per cell, in display order."""
    from html import escape

    times = cells["time_s"].to_numpy(dtype=float)
    keep = np.isfinite(times) & (times > 0)
    if not keep.any():
        return None
    cells, times = cells[keep], times[keep]
    low, high = np.floor(np.log10(times.min())), np.ceil(np.log10(times.max()))
    high = max(high, low + 1)
    rows = []
    for backend, dtype, t in zip(cells["backend"], cells["dtype"], times):
        share = 78 * (np.log10(t) - low) / (high - low)  # of the cell's width: the rest is for the number
        rows.append(
            f"<tr><th>{escape(visible(f'{backend} {dtype}'))}<td><i{' class=f32' if dtype == 'float32' else ''} "
            f"style=width:{max(share, 0.5):.0f}%></i>{_duration(t)}"
        )
    return (
        f"<table class=bars>{''.join(rows)}</table><p class='muted'>Median time of one warm {escape(what)} evaluation; "
        f"bars on a log scale from {_duration(10.0**low)} to {_duration(10.0**high)}.</p>"
    )


def scaling_plot(family: str, cells: pd.DataFrame, what: str = "gradient") -> str | None:
    """Log-log time and cost ratio against the problem's size for one sweep family.
    cells: one row per problem × backend × dtype with size, time_s, cost_ratio; backend is
    the line's label ("torch (forward)" where the run names modes: a line per mode).
    what: the operator timed, as the titles name it ("gradient", "Hessian")."""
    cells = cells[np.isfinite(cells["time_s"].astype(float)) & (cells["time_s"].astype(float) > 0)]
    if cells["size"].nunique() < 2:
        return None
    plt = _pyplot()
    with plt.rc_context({"font.size": 9}):  # this figure's, not the process's: the step sweep draws too
        return svg_of(_scaling_figure(plt, family, cells, what))


def _scaling_figure(plt, family: str, cells: pd.DataFrame, what: str):
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for (backend, dtype), group in cells.groupby(["backend", "dtype"], sort=False):
        group = group.sort_values("size")
        style = "-" if dtype == "float64" else "--"
        label = literal(f"{backend} {dtype}")
        left.plot(group["size"], group["time_s"], style, marker="o", markersize=3, label=label)
        ratio = group["cost_ratio"].astype(float)
        if np.isfinite(ratio).any():
            right.plot(group["size"], ratio, style, marker="o", markersize=3, label=label)
    left.set(xscale="log", yscale="log", xlabel="elements differentiated", ylabel=literal(f"{what} time"))
    right.set(xscale="log", yscale="log", xlabel="elements differentiated", ylabel=literal(f"cost ratio: {what} / f"))
    for ax in (left, right):
        _plain_log_ticks(ax.xaxis, _scientific)
    _plain_log_ticks(left.yaxis, _duration)
    _plain_log_ticks(right.yaxis, lambda v: f"{v:g}")
    left.set_title(literal(f"{family}: time of one {what}"), fontsize=9)
    right.set_title(literal(f"cost ratio: time of the {what} / time of f"), fontsize=9)
    for ax in (left, right):
        ax.grid(True, which="major", alpha=0.3)
    right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return fig


def swell_plot(family: str, cells: pd.DataFrame, parameter: str) -> str | None:
    """Expression swell and setup cost of one sweep family: the derivative's operation count
    (expr_ops, solid; after common-subexpression elimination, expr_ops_cse, dashed) and the
    backend's setup_s, against the sweep's parameter, a line per backend that reports a
    derivative size (the symbolic ones: sympy, symengine, casadi; "casadi (forward)" where the
    run names modes: a line per mode). cells: one row per problem × backend with the parameter's
    value in column `param` and expr_ops, expr_ops_cse, setup_s. None where fewer than two
    values of the parameter have a size to draw."""
    sizes = cells["expr_ops"].astype(float)
    cells = cells[np.isfinite(sizes)]
    if cells["param"].nunique() < 2:
        return None
    plt = _pyplot()
    with plt.rc_context({"font.size": 9}):
        return svg_of(_swell_figure(plt, family, cells, parameter))


def _positive(values: pd.Series) -> np.ndarray:
    """Values for a log axis: 0 (the derivative of x is the constant 1) and NaN are not drawn."""
    out = values.astype(float).to_numpy(copy=True)
    out[~(out > 0)] = np.nan
    return out


def _swell_figure(plt, family: str, cells: pd.DataFrame, parameter: str):
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    colours = itertools.cycle(plt.rcParams["axes.prop_cycle"].by_key()["color"])
    for backend, group in cells.groupby("backend", sort=False):
        group = group.sort_values("param")
        colour = next(colours)
        label = literal(backend)
        x = group["param"].to_numpy(dtype=float)
        left.plot(x, _positive(group["expr_ops"]), "-", color=colour, marker="o", markersize=3, label=label)
        cse = _positive(group["expr_ops_cse"])
        if np.isfinite(cse).any():
            left.plot(x, cse, "--", color=colour, marker="s", markersize=3, label=literal(f"{backend} after CSE"))
        right.plot(x, _positive(group["setup_s"]), "-", color=colour, marker="o", markersize=3, label=label)
    low, high = float(cells["param"].min()), float(cells["param"].max())
    spread = low > 0 and high >= 100 * low  # a sweep over decades (n = 10 … 10⁶); else a count (depth 1 … 14)
    name = literal(parameter)
    for ax in (left, right):
        ax.set_yscale("log")
        if spread:
            ax.set_xscale("log")
            _plain_log_ticks(ax.xaxis, _scientific)
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel(name)
        ax.grid(True, which="major", alpha=0.3)
    left.set(ylabel="operations in the derivative")
    right.set(ylabel="setup time")
    _plain_log_ticks(left.yaxis, lambda v: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    _plain_log_ticks(right.yaxis, _duration)
    left.set_title(literal(f"{family}: size of the derivative (dashed: after CSE)"), fontsize=9)
    right.set_title(literal(f"{family}: setup (differentiate, build, first call)"), fontsize=9)
    left.legend(fontsize=7, frameon=False)
    right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return fig


def sweep_figure(frame: pd.DataFrame):
    """The V-curves of a sweep: error against h per method and dtype, ε^(1/2) and ε^(1/3) marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=110)
    colours = {"forward": "tab:blue", "central": "tab:orange", "complex_step": "tab:green"}
    styles = {"float64": "-", "float32": "--"}
    for (method, dtype), group in frame.groupby(["method", "dtype"], sort=False):
        errors_ = np.clip(group["rel_error"].replace(np.inf, 1e3).to_numpy(), FLOOR, 1e3)
        ax.loglog(
            group["h"], errors_, styles[dtype], color=colours[method], marker="o", ms=3, label=f"{method} {dtype}"
        )
    for dtype, style in styles.items():
        eps = float(np.finfo(dtype).eps)
        for power, label in ((1 / 2, "ε^(1/2)"), (1 / 3, "ε^(1/3)")):
            ax.axvline(eps**power, color="grey", linestyle=style, linewidth=0.8)
            ax.annotate(
                f"{label} {dtype}",
                (eps**power, 5e1),
                rotation=90,
                fontsize=7,
                color="dimgrey",
                ha="right",
                va="top",
            )
    ax.invert_xaxis()
    ax.set_xlabel("step h (large to small)")
    ax.set_ylabel("relative error against the exact derivative")
    ax.set_ylim(FLOOR / 2, 1e2)
    first = frame.iloc[0]
    ax.set_title(literal(f"{first['problem']}: ∂f/∂{first['element']} = {first['reference']:.6g}"), fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(
        fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="gaps: x + h rounds to x", title_fontsize=7
    )
    fig.tight_layout()
    return fig
