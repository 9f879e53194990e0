"""One problem's section of report.html: the function as written and in LaTeX,
its let steps and point, the symbolic derivative, every backend's gradient
against the reference, the chain-rule tape in each dtype (the step where digits
were lost marked), time bars and step sweeps. The section is a <details>, open
where a row disagrees or is an error.

Every formula is text as well as a picture: the function as written and SymPy's
derivative in <code> (what find-in-page and copy see), their LaTeX beside them.
Table cells leave out their optional end tags: a report has thousands of them.

Anything here that fails for an odd problem (a formula mathtext cannot set, a
tape that cannot be built) is left out with a note: the report is never lost
for the sake of one picture.
"""

from __future__ import annotations

import math
import re
import weakref

import numpy as np
import pandas as pd

from diffcompare.engine.chainrule import ChainRule, point_in
from diffcompare.engine.tape import TAPE_COLUMNS, TAPE_HOW_TO_READ, TAPE_MARK_COLUMN, marked_tape_table, tape_marks
from diffcompare.lang.ir import element_label
from diffcompare.running.columns import counts_of
from diffcompare.spec.operators import describe
from diffcompare.views.html_matrix import digit_matrices
from diffcompare.views.html_text import cell_style, escape, exact_number, json_attribute, verdict_html
from diffcompare.views.latex import expression_latex, latex_svg
from diffcompare.views.modes import labelled, operator_text
from diffcompare.views.plots import svg_of, sweep_figure, time_bars

FORMULA_CHARACTERS = 1500  # longer LaTeX is shown as a size, not typeset
ELEMENTS_SHOWN = 12  # a larger problem's table shows each cell's worst element
TAPE_STEPS_SHOWN = 60
OPEN_VERDICTS = ("disagree", "error")  # a section with such a row is open
TAPE_DTYPES = ("float64", "float32")
TAPE_BLAME_S = 1.0  # the marks' analysis, per dtype: ms for the seed problems, bounded for a 10⁶-element one
_CAUSE = re.compile(r"; likely cause in \w+: ")  # running.blame's words before the steps it names
_FORMULAS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # problem -> (definition, derivative parts)


def _formula(latex: str | None, text: str, typeset: bool = True) -> str:
    """The LaTeX typeset (nothing where it cannot be, or typeset is False), then the text as
    <code> and the LaTeX behind a toggle: searchable and copyable whatever the picture."""
    svg = latex_svg(latex) if typeset and latex and len(latex) <= FORMULA_CHARACTERS else None
    # The picture is hidden from screen readers (aria-hidden): they read the <code> text beside it.
    picture = f"<div class=formula>{svg}</div>" if svg else ""
    tex = f"<details class=tex><summary>LaTeX</summary><code>{escape(latex)}</code></details>" if latex else ""
    return f"{picture}<div class=text><code>{escape(text)}</code>{tex}</div>"


def _written(text: str) -> str:
    """An expression as written: typeset, and as text."""
    try:
        latex = expression_latex(text)
    except (SyntaxError, ValueError):
        latex = None
    return _formula(latex, text)


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


def _symbolic_parts(problem) -> str | tuple[list[tuple[str, str, str, str]], str]:
    """SymPy's derivative of the first few elements: (label, LaTeX, text, note) each, and a
    note under them; or, where there is none, the words that say why (HTML)."""
    # SymPy (a second to import) only for a report that shows a derivative.
    import sympy

    from diffcompare.exact.symbolic import MAX_ELEMENTS, readable_gradient

    if tuple(problem.function.shape) != ():
        return "<p class='muted'>none shown: f is array-valued; its SymPy derivative is shown for a scalar f.</p>"
    elements = sum(v.size for v in problem.point.values())
    if elements > MAX_ELEMENTS:
        return (
            f"<p class='muted'>none: {elements} point elements, past SymPy's "
            f"limit of {MAX_ELEMENTS}; the reference is the chain rule in long double.</p>"
        )
    try:
        derivatives = readable_gradient(problem)
    except Exception as exc:  # SymPy's own limits; the sympy rows carry the reason
        return f"<p class='muted'>not shown: {escape(type(exc).__name__)}</p>"
    if not derivatives:
        return "<p class='muted'>f is too large to typeset its derivative.</p>"
    items = []
    for label, expr in derivatives:
        latex = sympy.latex(expr)
        note = ""
        if len(latex) > FORMULA_CHARACTERS:
            note = f"<span class='muted'>{sympy.count_ops(expr)} operations: too long to typeset</span>"
        items.append((label, latex, str(expr), note))
    more = problem.size - len(derivatives)
    note = f"<p class='muted'>and {more} more elements.</p>" if more > 0 else ""
    if any(expr.has(sympy.Heaviside) for _, expr in derivatives):
        note += "<p class='muted'>θ is the Heaviside step: the derivative of max, min, clamp and relu.</p>"
    return items, note


def _symbolic(parts, typeset: bool) -> str:
    if isinstance(parts, str):
        return f"<h3>Symbolic derivative</h3>{parts}"
    items, note = parts
    shown = "".join(
        # ∂f/∂x as text: typesetting it costs as much as a formula
        f"<div class=derivative><div class=wrt>∂f/∂<i>{escape(label)}</i> =</div>{warn}{_formula(latex, text, typeset)}</div>"
        for label, latex, text, warn in items
    )
    where = "" if typeset else " Typeset in the sections that open (a row disagrees or fails); here as text."
    return (
        "<h3>Symbolic derivative</h3><p class='muted'>SymPy's exact derivative, the <code>let</code> steps substituted; "
        f"the reference evaluates it to 30+ digits.{where}</p>{shown}{note}"
    )


def formulas_html(problem, typeset_derivatives: bool = True) -> str:
    """The function, let steps, point and symbolic derivative: what depends on the problem
    alone, typeset once (html_report.prepare does it while the backends run). Without
    typeset_derivatives (a closed section: the report's weight) the derivative is text only."""
    parts = _FORMULAS.get(problem)
    if parts is None:
        parts = _FORMULAS[problem] = (_definition(problem), _symbolic_parts(problem))
    return parts[0] + _symbolic(parts[1], typeset_derivatives)


def _runs(keys: list) -> list[int]:
    """For each row, the number of rows (itself included) that the run of equal keys it
    starts holds; 0 for a row inside a run (its cell is spanned from above)."""
    spans = [0] * len(keys)
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            spans[start] = i - start
            start = i
    return spans


def _spanned(span: int, html: str, cls: str = "") -> str:
    """A cell that spans its run of rows; nothing inside the run."""
    if span == 0:
        return ""
    attributes = (f" class={cls}" if cls else "") + (f" rowspan={span}" if span > 1 else "")
    return f"<td{attributes}>{html}"


def _title(operator: str) -> str:
    """'Gradient', 'Jacobian', 'Hessian-vector product': a section's values' heading."""
    words = describe(operator).removeprefix("the ")
    return words[:1].upper() + words[1:]


def _gradient_table(rows: pd.DataFrame, size: int) -> str:
    """Every backend's value against the reference; for a large problem, the worst element of
    each cell. A backend, a dtype and a reason repeated on consecutive rows span them. Where
    the modes are named (views/modes.py) a backend is one per mode: 'torch (forward)'."""
    operator = str(rows["operator"].iloc[0]) if "operator" in rows.columns and len(rows) else "gradient"
    rows = labelled(rows)
    note = ""
    if size > ELEMENTS_SHOWN:
        # idxmin per cell, not a sort: a scaling problem has 10⁶ rows per cell.
        digits = rows["digits"].fillna(np.inf)  # cells without values (skipped) still show their row
        worst = digits.groupby([rows["backend"], rows["dtype"]], sort=False, observed=True).idxmin()
        rows = rows.loc[sorted(worst.to_numpy())]
        note = f"<p class='muted'>{size} elements: each cell's worst element; results.csv has every one.</p>"
    records = list(
        rows[
            ["backend", "dtype", "variable", "index", "value", "reference", "rel_error", "digits", "verdict", "message"]
        ].itertuples(index=False)
    )
    cells = [(r.backend, r.dtype) for r in records]
    # "relative error …; likely cause in float32: …": the cause, the same on many rows, spans them;
    # each column's runs are its own (a table's row spans need not line up).
    split = [_CAUSE.split(str(r.message), maxsplit=1) for r in records]
    whys = [parts[0] for parts in split]
    causes = [parts[-1] if len(parts) > 1 else "" for parts in split]
    # The verdict, its digits and the relative error they come from, one cell: equal ones (a
    # Hessian's exact zeros, a Jacobian's entries all 17 digits right) span their run in a cell.
    verdicts = [
        f"{r.verdict}{'' if pd.isna(r.digits) else f' {r.digits:.1f}'}"
        + ("" if pd.isna(r.rel_error) else f" ({r.rel_error:.2g})")
        for r in records
    ]
    backend_spans = _runs([r.backend for r in records])
    cell_spans = _runs(cells)
    verdict_spans = _runs(list(zip(cells, verdicts)))
    why_spans = _runs(list(zip(cells, whys)))
    cause_spans = _runs(list(zip(cells, causes)))
    body = []
    for k, r in enumerate(records):
        if why_spans[k] and why_spans[k] == cause_spans[k] and not whys[k] and not causes[k]:
            reasons = f"<td colspan=2{f' rowspan={why_spans[k]}' if why_spans[k] > 1 else ''}>"  # nothing to say
        else:
            reasons = _spanned(why_spans[k], escape(whys[k]), "why" if whys[k] else "")
            reasons += _spanned(cause_spans[k], escape(causes[k]), "why" if causes[k] else "")
        verdict = ""
        if verdict_spans[k]:
            span = f" rowspan={verdict_spans[k]}" if verdict_spans[k] > 1 else ""
            verdict = f"<td{cell_style(r.verdict, r.digits, r.dtype, 'v')}{span}>{escape(verdicts[k])}"
        body.append(
            f"<tr>{_spanned(backend_spans[k], escape(r.backend))}{_spanned(cell_spans[k], escape(r.dtype))}"
            f"<td>{escape(element_label(r.variable, r.index))}"
            f"<td>{exact_number(r.value)}<td>{exact_number(r.reference)}{verdict}{reasons}"
        )
    head = "".join(
        f"<th>{h}"
        for h in (
            "backend",
            "dtype",
            "element",
            "value",
            "reference",
            "verdict, digits (rel. error)",
            "why",
            "likely cause",
        )
    )
    return (
        f"<h3>{escape(_title(operator))}</h3>{note}<div class=scroll><table class=grad><thead><tr>{head}</thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _digits_left(relative: float) -> float:
    """The correct digits a relative error leaves (0 where it takes them all)."""
    return 0.0 if relative >= 1 or not relative > 0 else -math.log10(relative)


def _tape(problem) -> str:
    """The chain-rule tape in each dtype of the problem, a step's rows side by side, the step
    where digits were lost marked with the hazard that explains it (the blame analysis the
    disagreeing rows were told, running.blame.Explainer)."""
    from diffcompare.running.blame import Explainer

    if tuple(problem.function.shape) != ():  # the tape is reverse mode's: of a scalar f
        return ""
    explainer = Explainer(seconds=TAPE_BLAME_S)
    tapes = {}
    for dtype in [d for d in TAPE_DTYPES if d in problem.dtypes]:
        try:
            steps = ChainRule(problem.function, dtype).tape(point_in(problem.point, dtype), problem.wrt)
        except Exception as exc:  # the chainrule rows say what went wrong
            return f"<p class='muted'>No tape: {escape(type(exc).__name__)}: {escape(exc)}</p>"
        marks = tape_marks(steps, explainer.analysis(problem, dtype))
        tapes[dtype] = (steps, marks, marked_tape_table(steps[:TAPE_STEPS_SHOWN], marks))
    if not tapes:
        return ""
    dtypes = list(tapes)
    steps = tapes[dtypes[0]][0]
    span = f" rowspan={len(dtypes)}" if len(dtypes) > 1 else ""
    shown = [(k, dtype) for k in range(min(len(steps), TAPE_STEPS_SHOWN)) for dtype in dtypes]
    found = [tapes[dtype][1].get(int(tapes[dtype][2][k][0])) for k, dtype in shown]
    # Most steps lose nothing: a run of them shares one empty "digits lost" cell.
    unmarked = _runs([None if f is None else i for i, f in enumerate(found)])
    body = []
    for i, (k, dtype) in enumerate(shown):
        j = dtypes.index(dtype)
        step, name, operation, value, local, adjoint, mark = tapes[dtype][2][k]
        shared = f"<td{span}>{step}<td{span}>{escape(name)}<td{span}>{escape(operation)}" if j == 0 else ""
        if found[i]:
            lost = f"<td{cell_style('disagree', _digits_left(found[i].relative), dtype, 'lost')}>{escape(mark)}"
        else:
            lost = _spanned(unmarked[i], "")
        body.append(
            f"<tr{' class=first' if j == 0 else ''}>{shared}<td>{dtype}<td>{escape(value)}"
            f"<td>{'<br>'.join(map(escape, local))}<td>{escape(adjoint)}{lost}"
        )
    more = (
        f"<p class='muted'>… {len(steps) - TAPE_STEPS_SHOWN} more steps.</p>" if len(steps) > TAPE_STEPS_SHOWN else ""
    )
    lost = [
        f"{dtype} at step {n} ({escape(tapes[dtype][0][n - 1].name)} = {escape(tapes[dtype][0][n - 1].operation)})"
        for dtype in dtypes
        for n in sorted(tapes[dtype][1])
    ]
    where = f"; digits lost in {', '.join(lost)}" if lost else ""
    head = "".join(f"<th>{h}" for h in (*TAPE_COLUMNS[:3], "dtype", *TAPE_COLUMNS[3:], TAPE_MARK_COLUMN))
    return (
        f"<details class=tape><summary>Chain-rule tape, {' and '.join(dtypes)} ({len(steps)} steps){where}</summary>"
        f"<p class='muted'>{escape(TAPE_HOW_TO_READ)} A step marked in the last column lost its digits there, "
        "for the reason given (the cause named in the disagreeing rows).</p>"
        f"<div class=scroll><table class=tape><thead><tr>{head}</thead><tbody>{''.join(body)}</tbody></table></div>{more}</details>"
    )


def _timings(rows: pd.DataFrame) -> str:
    cells = labelled(rows).drop_duplicates(["backend", "dtype"])[["backend", "dtype", "time_s"]]
    operator = str(rows["operator"].iloc[0]) if "operator" in rows.columns and len(rows) else "gradient"
    bars = time_bars(cells, _title(operator).lower() if operator != "gradient" else "gradient")
    return f"<h3>Time</h3>{bars}" if bars else ""


def _sweeps(sweeps: list[pd.DataFrame]) -> str:
    figures = "".join(svg_of(sweep_figure(sweep)) for sweep in sweeps)
    if not figures:
        return ""
    return (
        "<h3>Finite-difference step sweep</h3><p class='muted'>From <code>python -m diffcompare sweep</code>: "
        "error against h, truncation falling with h until rounding takes over.</p>" + figures
    )


def section_opens(rows: pd.DataFrame) -> bool:
    """A problem's section is open where one of its rows disagrees or is an error."""
    return bool(rows["verdict"].isin(OPEN_VERDICTS).any())


def problem_section(name: str, rows: pd.DataFrame, problem, anchor: str, sweeps, detailed: bool = True) -> str:
    """The section of one problem: a <details>, open where a row disagrees or is an error.
    problem may be None (a frame without its problems): then only what the rows hold is
    shown. Its data-cells (backend:verdict pairs) and data-tags are what the page's filter reads."""
    backends = rows[rows["backend"] != ""]
    verdicts = counts_of(backends["verdict"])
    counts = " · ".join(verdict_html(v, f"{n} {v}") for v, n in verdicts.items())
    pairs = sorted({f"{b}:{v}" for b, v in zip(backends["backend"], backends["verdict"])})
    opens = section_opens(backends)
    tags = list(problem.tags) if problem is not None else []
    operators = set(rows["operator"].dropna().astype(str)) - {"", "gradient"} if "operator" in rows.columns else ()
    operator = "".join(f" <span class=muted>{escape(o)}</span>" for o in sorted(operators))
    parts = [
        f'<section id="{anchor}" data-cells={json_attribute(pairs)} data-tags={json_attribute(tags)}>'
        f"<details{' open' if opens else ''}><summary><h2>{escape(name)}</h2>{operator} "
        f"<span class=counts>{counts}</span> <a class=top href='#top'>↑ top</a></summary>"
    ]
    if problem is not None:
        labels = [problem.description, f"source: {problem.source}" if problem.source else "", f"file: {problem.file}"]
        if problem.tags:
            labels.append("tags: " + ", ".join(problem.tags))
        if problem.operator != "gradient":
            labels.insert(0, f"operator: {problem.operator}, {operator_text(problem)}")
        parts.append("<p>" + "<br>".join(escape(t) for t in labels if t) + "</p>")
        if detailed:
            parts.append(formulas_html(problem, typeset_derivatives=opens))
    size = problem.size if problem is not None else int(backends.groupby(["backend", "dtype"]).size().max() or 0)
    parts.append(_gradient_table(backends, size))
    if detailed:
        parts.append(digit_matrices(backends, problem))
        if problem is not None:
            parts.append(_tape(problem))
        parts += [_timings(backends), _sweeps(sweeps)]
    elif problem is not None:
        parts.append("<p class='muted'>Formulas, tape and timings are shown for the first problems only.</p>")
    parts.append("</details></section>")
    return "\n".join(p for p in parts if p)
