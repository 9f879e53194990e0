"""One problem's section of report.html: the function as written and in LaTeX,
its let steps and point, the symbolic derivative, every backend's gradient
against the reference, the chain-rule tape, time bars and step sweeps.

Anything here that fails for an odd problem (a formula mathtext cannot set, a
tape that cannot be built) is left out with a note: the report is never lost
for the sake of one picture.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.engine.tape import TAPE_COLUMNS, TAPE_HOW_TO_READ, tape_table
from diffcompare.lang.ir import element_label
from diffcompare.views.html_text import escape, exact_number, verdict_html
from diffcompare.views.latex import expression_latex, latex_svg
from diffcompare.views.palette import cell_colours, text_colour
from diffcompare.views.plots import svg_of, sweep_figure, time_bars

FORMULA_CHARACTERS = 1500  # longer LaTeX is shown as a size, not typeset
ELEMENTS_SHOWN = 12  # a larger problem's table shows each cell's worst element
TAPE_STEPS_SHOWN = 80
_FORMULAS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # problem -> its typeset formulas


def _formula(latex: str | None, fallback: str) -> str:
    svg = latex_svg(latex) if latex and len(latex) <= FORMULA_CHARACTERS else None
    if svg is None:
        return f"<code>{escape(fallback)}</code>"
    return f'<div class="formula" role="img" aria-label="{escape(fallback)}">{svg}</div>'


def _written(text: str) -> str:
    """An expression as written, then typeset."""
    try:
        latex = expression_latex(text)
    except (SyntaxError, ValueError):
        latex = None
    return f"<code>{escape(text)}</code>{_formula(latex, text)}"


def _definition(problem) -> str:
    rows = [f"<h3>Function</h3>{_written(problem.text)}"]
    lets = problem.document.get("let") if isinstance(problem.document, dict) else None
    if lets:
        body = "".join(
            f"<tr><th><code>{escape(k)}</code></th><td>{_written(str(v))}</td></tr>" for k, v in lets.items()
        )
        rows.append(f"<h3>let steps</h3><table>{body}</table>")
    point = []
    for name, value in problem.point.items():
        held = "" if name in problem.wrt else " <span class='muted'>(held constant)</span>"
        text = (
            repr(float(value)) if value.ndim == 0 else np.array2string(value, precision=6, threshold=8, separator=", ")
        )
        shape = "" if value.ndim == 0 else f" <span class='muted'>shape {value.shape}</span>"
        point.append(f"<tr><th><code>{escape(name)}</code></th><td><code>{escape(text)}</code>{shape}{held}</td></tr>")
    rows.append(f"<h3>Point</h3><table>{''.join(point)}</table>")
    return "".join(rows)


def _symbolic(problem) -> str:
    # SymPy (a second to import) only for a report that typesets a derivative.
    import sympy

    from diffcompare.exact.symbolic import MAX_ELEMENTS, readable_gradient

    elements = sum(v.size for v in problem.point.values())
    if elements > MAX_ELEMENTS:
        return (
            f"<h3>Symbolic derivative</h3><p class='muted'>none: {elements} point elements, past SymPy's "
            f"limit of {MAX_ELEMENTS}; the reference is the chain rule in long double.</p>"
        )
    try:
        derivatives = readable_gradient(problem)
    except Exception as exc:  # SymPy's own limits; the sympy rows carry the reason
        return f"<h3>Symbolic derivative</h3><p class='muted'>not shown: {escape(type(exc).__name__)}</p>"
    if not derivatives:
        return "<h3>Symbolic derivative</h3><p class='muted'>f is too large to typeset its derivative.</p>"
    items = []
    for label, expr in derivatives:
        latex = sympy.latex(expr)
        head = f"<span>∂f/∂<i>{escape(label)}</i> =</span>"  # text: typesetting it costs as much as a formula
        if len(latex) > FORMULA_CHARACTERS:
            body = f"<span class='muted'>{sympy.count_ops(expr)} operations: too long to typeset</span>"
        else:
            body = _formula(latex, str(expr))
        items.append(f'<div style="display:flex;gap:6px;align-items:center">{head}{body}</div>')
    more = problem.size - len(derivatives)
    note = f"<p class='muted'>and {more} more elements.</p>" if more > 0 else ""
    if any(expr.has(sympy.Heaviside) for _, expr in derivatives):
        note += "<p class='muted'>θ is the Heaviside step: the derivative of max, min, clamp and relu.</p>"
    return (
        "<h3>Symbolic derivative</h3><p class='muted'>SymPy's exact derivative, the <code>let</code> steps substituted; "
        f"the reference evaluates it to 30+ digits.</p>{''.join(items)}{note}"
    )


def formulas_html(problem) -> str:
    """The function, let steps, point and symbolic derivative: what depends on the
    problem alone, typeset once (html_report.prepare does it while the backends run)."""
    html = _FORMULAS.get(problem)
    if html is None:
        html = _FORMULAS[problem] = _definition(problem) + _symbolic(problem)
    return html


def _gradient_table(rows: pd.DataFrame, size: int) -> str:
    """Every backend's value against the reference; for a large problem, the worst element of each cell."""
    note = ""
    if size > ELEMENTS_SHOWN:
        # idxmin per cell, not a sort: a scaling problem has 10⁶ rows per cell.
        digits = rows["digits"].fillna(np.inf)  # cells without values (skipped) still show their row
        worst = digits.groupby([rows["backend"], rows["dtype"]], sort=False, observed=True).idxmin()
        rows = rows.loc[sorted(worst.to_numpy())]
        note = f"<p class='muted'>{size} elements: each cell's worst element; results.csv has every one.</p>"
    body = []
    for r in rows.itertuples(index=False):
        element = element_label(r.variable, r.index)
        digits = "" if pd.isna(r.digits) else f"{r.digits:.1f}"
        shade = cell_colours(r.verdict, r.digits, r.dtype)[0] if r.verdict in ("agree", "disagree") else ""
        style = f' style="background:{shade};color:{text_colour(shade)}"' if shade else ""
        rel = "" if pd.isna(r.rel_error) else f"{r.rel_error:.2g}"
        body.append(
            f"<tr><td>{escape(r.backend)}</td><td>{escape(r.dtype)}</td><td><code>{escape(element)}</code></td>"
            f"<td class='num'>{exact_number(r.value)}</td><td class='num'>{exact_number(r.reference)}</td>"
            f"<td class='num'>{rel}</td><td class='num'{style}>{digits}</td><td>{verdict_html(r.verdict)}</td>"
            f"<td class='message'>{escape(r.message)}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("backend", "dtype", "element", "value", "reference", "rel. error", "digits", "verdict", "why")
    )
    return f"<h3>Gradient</h3>{note}<div class='scroll'><table><tr>{head}</tr>{''.join(body)}</table></div>"


def _tape(problem) -> str:
    try:
        steps = ChainRule(problem.function, "float64").tape(point_in(problem.point, "float64"), problem.wrt)
    except Exception as exc:  # the chainrule rows say what went wrong
        return f"<p class='muted'>No tape: {escape(type(exc).__name__)}: {escape(exc)}</p>"
    body = []
    for step, name, operation, value, local, adjoint in tape_table(steps[:TAPE_STEPS_SHOWN]):
        body.append(
            f"<tr><td class='num'>{step}</td><td><code>{escape(name)}</code></td><td><code>{escape(operation)}</code></td>"
            f"<td class='num'>{escape(value)}</td><td class='num'>{'<br>'.join(map(escape, local))}</td>"
            f"<td class='num'>{escape(adjoint)}</td></tr>"
        )
    more = (
        f"<p class='muted'>… {len(steps) - TAPE_STEPS_SHOWN} more steps.</p>" if len(steps) > TAPE_STEPS_SHOWN else ""
    )
    head = "".join(f"<th>{h}</th>" for h in TAPE_COLUMNS)
    return (
        f"<details><summary>Chain-rule tape, float64 ({len(steps)} steps)</summary>"
        f"<p class='muted'>{escape(TAPE_HOW_TO_READ)} "
        "<code>python -m diffcompare explain FILE --dtype float32</code> prints the float32 tape.</p>"
        f"<div class='scroll'><table><tr>{head}</tr>{''.join(body)}</table></div>{more}</details>"
    )


def _timings(rows: pd.DataFrame) -> str:
    cells = rows.drop_duplicates(["backend", "dtype"])[["backend", "dtype", "time_s"]]
    svg = time_bars(cells)
    return f"<h3>Time</h3>{svg}" if svg else ""


def _sweeps(sweeps: list[pd.DataFrame]) -> str:
    figures = "".join(svg_of(sweep_figure(sweep)) for sweep in sweeps)
    if not figures:
        return ""
    return (
        "<h3>Finite-difference step sweep</h3><p class='muted'>From <code>python -m diffcompare sweep</code>: "
        "error against h, truncation falling with h until rounding takes over.</p>" + figures
    )


def problem_section(name: str, rows: pd.DataFrame, problem, anchor: str, sweeps, detailed: bool = True) -> str:
    """The section of one problem. problem may be None (a frame without its problems):
    then only what the rows hold is shown."""
    backends = rows[rows["backend"] != ""]
    verdicts = backends["verdict"].value_counts()
    summary = ", ".join(f"{n} {v}" for v, n in verdicts.items())
    parts = [f'<section id="{anchor}"><h2>{escape(name)}</h2><p class="muted">{escape(summary)}</p>']
    if problem is not None:
        labels = [problem.description, f"source: {problem.source}" if problem.source else "", f"file: {problem.file}"]
        parts.append("<p>" + "<br>".join(escape(t) for t in labels if t) + "</p>")
        if detailed:
            parts.append(formulas_html(problem))
    size = problem.size if problem is not None else int(backends.groupby(["backend", "dtype"]).size().max() or 0)
    parts.append(_gradient_table(backends, size))
    if detailed:
        if problem is not None:
            parts.append(_tape(problem))
        parts += [_timings(backends), _sweeps(sweeps)]
    elif problem is not None:
        parts.append("<p class='muted'>Formulas, tape and timings are shown for the first problems only.</p>")
    parts.append("</section>")
    return "\n".join(p for p in parts if p)
