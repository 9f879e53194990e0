"""reports/report.html: the results as one self-contained page.

Everything is inline (CSS, SVG, one small script), nothing is fetched (the page's
Content-Security-Policy forbids it), so the file opens offline, from a mail attachment
or a CI artifact. It is a view of the results DataFrame, plus what only the problems
know: the function as written, its LaTeX, the symbolic derivative and the chain-rule tape.

Order of the page: a sticky bar (title, links to the parts); the summary, which fits one
screen and answers "which backends are wrong where, and why": the verdict chips and the
heatmap (problems × backend/dtype, problems that disagree first, each with its likely
cause, in a box of its own that scrolls under its sticky header); the disagreements with
links, errors and bad input, scaling plots of sweep families; an index of the problems by
their worst verdict; then one section per problem, a <details> that is open where a row
disagrees or is an error. Every cell's colour is palette.cell_colours(verdict, digits, dtype).

The script only adds a filter (by verdict, backend, tag and name) and opens a section a
link points to; without it the page is whole, the index and the links still jump.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pandas as pd

from diffcompare.spec.operators import describe
from diffcompare.views import palette
from diffcompare.views.html_matrix import MATRIX_CSS
from diffcompare.views.html_problem import formulas_html, problem_section
from diffcompare.views.html_text import VERDICT_CSS, cell_style, escape, short_colour_classes, verdict_html
from diffcompare.views.latex import glyph_defs
from diffcompare.views.modes import SHORT_MODE, labelled, split_label
from diffcompare.views.plots import scaling_plot, swell_plot
from diffcompare.views.summary import (
    SHORT_DTYPE,
    SYMBOL,
    cell_summary,
    disagreement_groups,
    problem_labels,
    problem_order,
    verdict_counts,
)

DETAILED_PROBLEMS = 100  # sections past this many get the gradient table only: typesetting costs ~60 ms a problem
_FAMILY = re.compile(r"^(?P<family>.+)\[(?P<params>[^\]]*)\]$")  # sweep members: name[n=1000]
# A problem's worst verdict, worst first: the index groups problems by it.
WORST_FIRST = ("error", "disagree", "undefined", "kink", "unsettled", "skipped", "agree")
_CAUSE = re.compile(r"likely cause in (?P<dtype>\w+): (?P<cause>.*)$")
_SIZE_WORDS = re.compile(r" \((?:all digits lost|up to ≈[^)]* relative error)\)")
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

_CSS = """
html { scroll-padding-top: 64px; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328; }
main { max-width: 1640px; margin: 0 auto; padding: 0 16px 64px; }
header.bar { position: sticky; top: 0; z-index: 5; background: #fff; border-bottom: 1px solid #d0d7de;
  padding: 6px 0; display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: baseline; }
header.bar b { font-size: 17px; } header.bar nav a { margin-right: 10px; }
.filter select, .filter input { font: inherit; font-size: 12.5px; max-width: 11em; }
header.bar h1 { font-size: 20px; margin: 0; }
h2 { font-size: 19px; margin: 28px 0 6px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
a { color: #0969da; }
code, .n { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
code, p, li { overflow-wrap: anywhere; }
.n { text-align: right; white-space: nowrap; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #d0d7de; padding: 3px 7px; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; text-align: left; }
.chip { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12.5px; margin: 0 3px 3px 0; }
.scroll { overflow-x: auto; max-width: 100%; }
.heatbox { overflow: auto; max-width: 100%; max-height: max(300px, calc(100vh - 150px)); border: 1px solid #d0d7de; }
#summary { margin: 8px 0 4px; } #summary + p { margin: 4px 0 8px; }
.heat { margin: 0; }
.heat td { text-align: center; padding: 2px 3px; font-size: 11.5px; line-height: 1.2; white-space: nowrap; }
.heat td small { font-size: 10px; }
.heat th { padding: 2px 3px; }
.heat th.problem { text-align: left; position: sticky; left: 0; z-index: 1; font-weight: 500;
  font-size: 12px; min-width: 12em; max-width: 16em; line-height: 1.15; }
.heat thead th { position: sticky; top: 0; z-index: 2; text-align: center; font-size: 10.5px; line-height: 1.15;
  font-weight: 600; }
.heat thead th.problem { z-index: 3; }
.heat td.why { text-align: left; font-size: 11px; line-height: 1.15; }
.heat td.why div { max-width: 40em; overflow: hidden; text-overflow: ellipsis; }
.legend span { display: inline-block; min-width: 34px; padding: 0 4px; text-align: center; font-size: 11px; }
.verdict { font-weight: 600; }
.why { max-width: 640px; min-width: 14em; font-size: 12.5px; }
.formula { overflow-x: auto; padding: 2px 0; } .formula svg { max-width: none; vertical-align: middle; }
.text { display: flex; flex-wrap: wrap; gap: 2px 10px; align-items: baseline; }
.derivative { display: flex; flex-wrap: wrap; gap: 0 8px; align-items: center; margin: 4px 0; }
.derivative .text { flex-basis: 100%; }
details.tex { font-size: 12px; } details.tex summary { color: #57606a; }
.muted { color: #57606a; }
details > summary { cursor: pointer; }
section > details > summary { padding: 4px 0; border-bottom: 1px solid #d0d7de; margin-top: 10px; }
section > details > summary h2 { display: inline; border: 0; font-size: 17px; margin: 0; }
section > details > summary .counts { font-size: 12.5px; }
section > details > summary a.top { font-size: 12px; float: right; }
details.tape > summary { color: #0969da; }
table.tape tr.first td, table.tape tr.first th { border-top: 2px solid #8c959f; }
td.lost { min-width: 14em; font-size: 12.5px; }
table.grad td, table.tape td { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 12.5px; white-space: nowrap; }
table.grad td.why, table.tape td.lost { font-family: inherit; white-space: normal; }
table.grad td.v { font-family: inherit; }
table.bars { border: 0; width: 100%; max-width: 560px; table-layout: fixed; }
table.bars th, table.bars td { border: 0; padding: 1px 4px; font-weight: 400; background: none; font-size: 12.5px; }
table.bars th { text-align: right; width: 10em; overflow-wrap: anywhere; } table.bars td { white-space: nowrap; overflow: hidden; }
table.bars i { display: inline-block; height: 11px; margin-right: 4px; background: #1f5f99; }
table.bars i.f32 { background: #8fb8de; }
svg.plot { max-width: 100%; height: auto; }
nav.index p { margin: 4px 0; } nav.index a { margin-right: 8px; white-space: nowrap; }
.filtered-out { display: none; }
@media (max-width: 600px) { main { padding: 0 8px 48px; } .why { min-width: 11em; } header.bar h1 { font-size: 16px; } }
"""

# The filter: problems shown by verdict, backend, tag and name (data-cells holds a section's
# backend:verdict pairs, data-tags its tags); and a link to a closed section opens it.
_SCRIPT = """
(() => {
  const sections = [...document.querySelectorAll('section[data-cells]')];
  const read = (s, key) => JSON.parse(s.dataset[key] || '[]');
  const values = key => [...new Set(sections.flatMap(s => read(s, key)))].sort();
  const backends = [...new Set(values('cells').map(c => c.slice(0, c.lastIndexOf(':'))))];
  const verdicts = [...new Set(values('cells').map(c => c.slice(c.lastIndexOf(':') + 1)))];
  const box = document.querySelector('.filter');
  const choose = (label, options) => {
    const s = document.createElement('select');
    s.setAttribute('aria-label', label);
    [label, ...options].forEach((o, i) => s.add(new Option(o, i ? o : '')));
    s.onchange = apply; box.append(s, ' '); return s;
  };
  const verdict = choose('any verdict', verdicts), backend = choose('any backend', backends);
  const tag = choose('any tag', values('tags'));
  const name = document.createElement('input');
  name.type = 'search'; name.placeholder = 'problem name'; name.oninput = apply;
  const count = document.createElement('span');
  count.className = 'muted';
  box.append(name, ' ', count);
  function apply() {
    let shown = 0;
    for (const s of sections) {
      const cells = read(s, 'cells');
      const ok = (!verdict.value && !backend.value ? true : cells.some(c => {
          const i = c.lastIndexOf(':');
          return (!backend.value || c.slice(0, i) === backend.value) && (!verdict.value || c.slice(i + 1) === verdict.value);
        }))
        && (!tag.value || read(s, 'tags').includes(tag.value))
        && (!name.value || s.querySelector('h2').textContent.toLowerCase().includes(name.value.toLowerCase()));
      shown += ok;
      s.classList.toggle('filtered-out', !ok);
      for (const a of document.querySelectorAll(`a[data-p="${s.id}"]`)) {
        (a.closest('tr') || a).classList.toggle('filtered-out', !ok);
      }
    }
    count.textContent = shown + ' of ' + sections.length + ' problems';
  }
  apply();
  const reveal = () => {
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    const details = target && (target.matches('section') ? target.querySelector('details') : target.closest('details'));
    if (details && !details.open) { details.open = true; target.scrollIntoView(); }
  };
  addEventListener('hashchange', reveal); reveal();
})();
"""


def anchors(names) -> dict[str, str]:
    """An HTML id per problem name: problem names may hold any character."""
    out: dict[str, str] = {}
    for name in names:
        base = "p-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
        anchor, k = base, 2
        while anchor in out.values():
            anchor, k = f"{base}-{k}", k + 1
        out[name] = anchor
    return out


def _chips(frame: pd.DataFrame) -> str:
    return "".join(
        f'<span class="chip" style="background:{palette.VERDICT_COLOURS[v]}">{n} {v}</span>'
        for v, n in verdict_counts(frame).items()
    )


def _causes(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Problem -> why its rows disagree or fail, one line each, with its dtypes: the likely
    cause where the rows name one (without how many digits it costs: the cell says), else
    their message's first clause; errors' messages."""
    out: dict[str, dict[str, list[str]]] = {}
    for problem, dtype, _elements, message, _backends in disagreement_groups(frame):
        found = _CAUSE.search(message)
        text = _SIZE_WORDS.sub("", found["cause"]) if found else message.split(";")[0]
        causes = out.setdefault(problem, {})
        causes.setdefault(text, [])
        if dtype not in causes[text]:
            causes[text].append(dtype)
    failed = frame[frame["verdict"] == "error"]
    for problem, backend, message in zip(failed["problem"], failed["backend"], failed["message"]):
        out.setdefault(problem, {}).setdefault(f"{backend} error: {message}", [])
    return {
        problem: [f"{', '.join(dtypes)}: {text}" if dtypes else text for text, dtypes in causes.items()]
        for problem, causes in out.items()
    }


def _legend() -> str:
    """Swatches painted by the same rule as the cells (palette.cell_colours): each family
    from none to all of the dtype's digits right, then the verdicts that have no digits."""
    full = palette.DTYPE_DIGITS["float64"]
    scales = " ".join(
        f"{verdict_html(v)} "
        + "".join(
            f"<span{cell_style(v, share * full, 'float64')}>{share:.0%}</span>" for share in (0, 0.25, 0.5, 0.75, 1)
        )
        for v in ("agree", "disagree")
    )
    others = " ".join(
        f"<span{cell_style(v, float('nan'), 'float64')}>{v}</span>"
        for v in palette.VERDICT_COLOURS
        if v not in ("agree", "disagree")
    )
    return (
        "<p class='legend muted'>Each cell: the fewest correct significant digits over its gradient elements "
        "and its worst verdict: ✓ every element agrees, ✗ one disagrees, or the verdict's word. The verdict decides the colour, the share of the dtype's digits "
        f"that are right its strength (float64 holds {palette.DTYPE_DIGITS['float64']}, float32 "
        f"{palette.DTYPE_DIGITS['float32']}; an <code>expected</code> number is judged at the precision it was "
        f"written with). {scales} &nbsp; no digits to count: {others}. A column's head counts the problems it "
        "disagrees in or fails. Click a problem for its values, tape and timings.</p>"
    )


def _heatmap(frame: pd.DataFrame, order: list[str], ids: dict[str, str]) -> str:
    """Problems × backend/dtype, each cell its fewest correct digits and worst verdict, a
    column's head the number of problems it disagrees in, a row's last cell the likely cause;
    in a box that scrolls both ways under its sticky head and problem column."""
    cells = cell_summary(frame)
    if cells.empty:
        return "<p>No backend rows.</p>"
    columns = list(pd.unique(cells["column"]))
    by_key = {(r.problem, r.column): r for r in cells.itertuples(index=False)}
    wrong = cells[cells["verdict"].isin(["disagree", "error"])].groupby("column")["problem"].nunique()
    heads = []
    for column in columns:
        label, dtype = column.rsplit("/", 1)  # a plug-in's name may hold a "/"; a dtype never does
        backend, mode = split_label(label)  # a mode where the run names them (views/modes.py)
        mode = f"<br><i>{escape(SHORT_MODE.get(mode, mode))}</i>" if mode else ""
        bad = int(wrong.get(column, 0))
        heads.append(
            f"<th title='{escape(column)}'>{escape(backend).replace('_', '_<wbr>')}{mode}<br>"
            f"<small>{escape(SHORT_DTYPE.get(dtype, dtype))}<br>{f'{bad}✗' if bad else '&nbsp;'}</small>"
        )
    causes, names = _causes(frame), problem_labels(frame)
    rows = []
    for name in order:
        tds, empty = [], 0
        for column in columns:
            cell = by_key.get((name, column))
            if cell is None:  # not asked of this column (a gradient in a Hessian's mode): one cell spans a run
                empty += 1
                continue
            if empty:
                tds.append(f"<td colspan={empty}>" if empty > 1 else "<td>")
                empty = 0
            style = cell_style(cell.verdict, cell.digits, column.rsplit("/", 1)[1])
            if cell.verdict in SYMBOL:  # agree, disagree: digits and ✓ or ✗
                text = (f"{cell.digits:.1f}" if pd.notna(cell.digits) else "") + SYMBOL[cell.verdict]
            else:
                text = f"<small>{escape(cell.verdict)}</small>"
            tds.append(f"<td{style}>{text}")
        if empty:
            tds.append(f"<td colspan={empty}>" if empty > 1 else "<td>")
        why = " · ".join(causes.get(name, []))
        tds.append(f"<td class=why title='{escape(why)}'><div>{escape(why)}</div>" if why else "<td class=why>")
        rows.append(
            f'<tr><th class=problem><a href="#{ids[name]}" data-p="{ids[name]}">{escape(names[name])}</a>{"".join(tds)}'
        )
    return (
        f"<div class=heatbox><table class=heat><thead><tr><th class=problem>problem{''.join(heads)}<th>why (likely cause)"
        f"</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _headline(frame: pd.DataFrame, order: list[str]) -> str:
    """One sentence: how many problems go wrong, and the backends (and modes) wrong most often."""
    frame = labelled(frame)
    backends = frame[frame["backend"] != ""]
    bad = backends[backends["verdict"].isin(["disagree", "error"])]
    if bad.empty:
        return "<p>No backend disagrees with the reference or fails.</p>"
    per = bad.assign(
        cell=bad["backend"].astype(str) + " " + bad["dtype"].astype(str).map(lambda d: SHORT_DTYPE.get(d, d))
    )
    counts = per.groupby("cell")["problem"].nunique().sort_values(ascending=False, kind="stable")
    most = ", ".join(f"{escape(c)} ({n})" for c, n in counts.head(3).items())
    return (
        f"<p><b>{bad['problem'].nunique()} of {len(order)} problems</b> have a backend that disagrees or fails: "
        f"first below, with the likely cause. Wrong most often: {most}.</p>"
    )


def _disagreements(frame: pd.DataFrame, ids: dict[str, str]) -> str:
    """A table of disagreement groups, one problem cell spanning its groups."""
    groups = disagreement_groups(frame)
    if not groups:
        compared = frame["verdict"].isin(["agree", "disagree"]).any()
        return "<p>Every comparable row agrees with the reference.</p>" if compared else "<p>No row to compare.</p>"
    by_problem: dict[str, list] = {}
    for problem, dtype, elements, message, backends in groups:
        by_problem.setdefault(problem, []).append((dtype, elements, message, backends))
    rows = []
    for problem, entries in by_problem.items():
        for k, (dtype, elements, message, backends) in enumerate(entries):
            head = (
                f'<th rowspan="{len(entries)}"><a href="#{ids[problem]}">{escape(problem)}</a></th>' if k == 0 else ""
            )
            rows.append(
                f"<tr>{head}<td>{escape(', '.join(backends))}<td>{escape(dtype)}"
                f"<td><code>{escape(elements)}</code><td class=why>{escape(message)}"
            )
    header = "<tr><th>problem<th>backends<th>dtype<th>elements<th>why"
    return (
        f"<div class=scroll><table class=disagree><thead>{header}</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _failures(frame: pd.DataFrame, errors: list[str], ids: dict[str, str]) -> str:
    """Each failed or skipped cell's message, once for the dtypes that share it (a backend that
    does not compute an operator says so in every dtype)."""
    failed = labelled(frame)
    failed = failed[failed["verdict"].isin(["error", "skipped"])]
    seen: dict[tuple, list[str]] = {}
    for v, p, b, d, m in zip(
        failed["verdict"], failed["problem"], failed["backend"], failed["dtype"], failed["message"]
    ):
        dtypes = seen.setdefault((v, p, b, m), [])
        if d not in dtypes:
            dtypes.append(d)
    items = [
        f'<li>{verdict_html(v)} <a href="#{ids[p]}">{escape(p)}</a> · {escape(b)} {escape(", ".join(d))}: {escape(m)}</li>'
        for (v, p, b, m), d in seen.items()
    ]
    items += [f"<li>{verdict_html('bad input')} {escape(e)}</li>" for e in errors]
    return f"<ul>{''.join(items)}</ul>" if items else "<p>None.</p>"


def _scaling(frame: pd.DataFrame) -> str:
    # One row per cell first: the time columns are the cell's, and a scaling run has 10⁷ rows.
    # A line per backend × mode × dtype where the run names modes (the backend is then its label).
    keys = ["problem", "backend", "dtype", *(["mode"] if "mode" in frame.columns else [])]
    cells = frame.loc[frame["backend"] != ""].drop_duplicates(keys)
    cells = labelled(cells[cells["problem"].str.match(_FAMILY.pattern)]).copy()
    if cells.empty:
        return ""
    members = cells["problem"].str.extract(_FAMILY.pattern)
    cells["family"], cells["params"] = members["family"], members["params"]
    figures = []
    for family, group in cells.groupby("family", sort=False):
        operator = str(group["operator"].iloc[0]) if "operator" in group.columns else "gradient"
        svgs = [scaling_plot(family, group, "gradient" if operator == "gradient" else describe(operator)[4:])]
        svgs.append(_swell(family, group))
        if any(svgs):
            figures.append(f"<h3>{escape(family)}</h3>" + "".join(s for s in svgs if s))
    if not figures:
        return ""
    return (
        "<h2 id='scaling'>Scaling</h2><p class='muted'>Sweep families: time of one gradient (or the family's "
        "operator, in each mode), and its ratio to the time of f (cost ratio), against the size; where backends "
        "report the size of their derivative (the symbolic ones), its operations as differentiated (solid) and after "
        "common-subexpression elimination (dashed; casadi's one line is its Function's instructions, each shared "
        "node once), and their setup time, against the sweep's parameter.</p>" + "".join(figures)
    )


def sweep_parameter(params: pd.Series) -> tuple[str, pd.Series] | None:
    """The one parameter a family's members differ in, and each member's value of it (members
    named name[n=10], name[n=100]; with several parameters, the one that varies), or None where
    none or more than one varies, or a value is no number."""
    values: dict[str, list[float]] = {}
    for text in params:
        pairs = [pair.partition("=") for pair in str(text).split(",")]
        for key, _, value in pairs:
            try:
                values.setdefault(key, []).append(float(value))
            except ValueError:
                return None
    varying = [k for k, v in values.items() if len(v) == len(params) and len(set(v)) > 1]
    if len(varying) != 1:
        return None
    return varying[0], pd.Series(values[varying[0]], index=params.index)


def _swell(family: str, cells: pd.DataFrame) -> str | None:
    """The symbolic backends' derivative size and setup time against the sweep's parameter: the
    backends whose rows carry expr_ops, in float64 where they have it (a backend's size does not
    depend on the dtype)."""
    if "expr_ops" not in cells.columns:
        return None
    sized = cells[pd.to_numeric(cells["expr_ops"], errors="coerce").notna()]
    if sized.empty:
        return None
    members = cells.drop_duplicates("problem")
    found = sweep_parameter(members["params"])
    if found is None:
        return None
    parameter, values = found
    of_problem = dict(zip(members["problem"].astype(str), values))
    backend, dtype = sized["backend"].astype(str), sized["dtype"].astype(str)
    # float64 where the backend has it, else its first dtype
    chosen = {b: "float64" if "float64" in set(d) else d.iloc[0] for b, d in dtype.groupby(backend, sort=False)}
    sized = sized[(dtype == backend.map(chosen)).to_numpy()]
    sized = sized.assign(
        backend=sized["backend"].astype(str), param=sized["problem"].astype(str).map(of_problem).astype(float)
    )
    return swell_plot(family, sized, parameter)


def worst_verdict(verdicts) -> str:
    """The worst of a problem's verdicts, in WORST_FIRST's order ('' for none)."""
    present = set(verdicts)
    return next((v for v in WORST_FIRST if v in present), next(iter(sorted(present)), ""))


def _index(order: list[str], rows_of: dict, ids: dict[str, str]) -> str:
    """Every problem, a link to its section, grouped by its worst verdict: no script needed."""
    groups: dict[str, list[str]] = {}
    for name in order:
        rows = rows_of[name]
        groups.setdefault(worst_verdict(rows.loc[rows["backend"] != "", "verdict"]), []).append(name)
    lines = []
    for verdict in sorted(groups, key=lambda v: WORST_FIRST.index(v) if v in WORST_FIRST else len(WORST_FIRST)):
        names = groups[verdict]
        links = " ".join(f'<a href="#{ids[n]}" data-p="{ids[n]}">{escape(n)}</a>' for n in names)
        word = verdict or "no rows"
        lines.append(f"<p>{verdict_html(word, f'{word} ({len(names)})')}: {links}</p>")
    return (
        "<h2 id='index'>Index</h2><nav class=index><p class='muted'>Each problem by its worst verdict; "
        "a problem's section is open where a row disagrees or is an error.</p>" + "".join(lines) + "</nav>"
    )


def render(frame: pd.DataFrame, errors: list[str], problems=(), sweeps: dict | None = None) -> str:
    """The page. problems: the Problem objects of the run (for formulas and tapes);
    sweeps: problem name -> step-sweep DataFrames found beside the report."""
    by_name = {p.name: p for p in problems}
    rows_of = dict(iter(frame.groupby("problem", sort=False, observed=True)))
    order = problem_order(frame)
    ids = anchors(order)
    versions = ""
    if "diffcompare_version" in frame.columns and len(frame):
        first = frame.iloc[0]
        versions = f" · diffcompare {escape(first['diffcompare_version'])}"
        if "python_version" in frame.columns:
            versions += f" · Python {escape(first['python_version'])}"
        if "library_version" in frame.columns:
            libraries = sorted({str(v) for v in pd.unique(frame["library_version"]) if isinstance(v, str) and v})
            versions += "".join(f" · {escape(v)}" for v in libraries)
    sections = [
        problem_section(
            name,
            rows_of[name],
            by_name.get(name),
            ids[name],
            (sweeps or {}).get(name, []),
            detailed=i < DETAILED_PROBLEMS,
        )
        for i, name in enumerate(order)
    ]
    links = (("summary", "Summary"), ("disagreements", "Disagreements"), ("failures", "Errors"), ("index", "Index"))
    body = [
        "<header class=bar><h1>diffcompare report</h1><nav>"
        + "".join(f'<a href="#{k}">{t}</a>' for k, t in links)
        + "</nav></header>",
        f"<p id=summary>{_chips(frame)} <span class=filter></span></p>",
        _headline(frame, order),
        _heatmap(frame, order, ids),
        _legend(),
        f"<p class='muted'>{len(order)} problems · {len(frame)} rows{versions}</p>",
        "<h2 id='disagreements'>Disagreements</h2>",
        _disagreements(frame, ids),
        "<h2 id='failures'>Errors, skipped backends and bad input</h2>",
        _failures(frame, errors, ids),
        _scaling(frame),
        _index(order, rows_of, ids),
        "<h2 id='problems'>Problems</h2>",
        *sections,
    ]
    content, colours = short_colour_classes("\n".join(p for p in body if p))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>diffcompare report</title>",
        f"<style>{_CSS}{MATRIX_CSS}{VERDICT_CSS}{colours}</style></head><body><div id=top></div>",
        glyph_defs(content),
        f"<main>{content}</main>",
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)


class Typesetting:
    """The report's formulas typeset in a thread while the backends run: the parent process
    mostly waits on its workers then, and the typesetting is most of the report's cost
    (mathtext parses each formula). `stop` ends it between two problems: a run interrupted
    must not leave it inside matplotlib while the interpreter shuts down (a segfault, not
    exit 130, seen under load)."""

    def __init__(self, problems):
        self._problems = list(problems)[:DETAILED_PROBLEMS]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._typeset, name="diffcompare-typeset", daemon=True)
        self._thread.start()

    def _typeset(self) -> None:
        for problem in self._problems:
            if self._stopping.is_set():
                return
            try:
                formulas_html(problem)
            except Exception:  # the report, written later, tries again and shows what fails
                pass

    def join(self) -> None:
        self._thread.join()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()


def prepare(problems) -> Typesetting:
    """Start typesetting the problems' formulas and symbolic derivatives (see Typesetting)."""
    return Typesetting(problems)


def find_sweeps(folder: Path) -> dict[str, list[pd.DataFrame]]:
    """Step sweeps written by `diffcompare sweep` into the report folder, by problem."""
    found: dict[str, list[pd.DataFrame]] = {}
    for path in sorted(Path(folder).glob("sweep-*.csv")):
        try:
            sweep = pd.read_csv(path)
            name = str(sweep["problem"].iloc[0])
        except Exception:  # a stray or half-written file is not the report's business
            continue
        found.setdefault(name, []).append(sweep)
    return found
