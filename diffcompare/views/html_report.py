"""reports/report.html: the results as one self-contained page.

Everything is inline (CSS, SVG plots, SVG formulas), nothing is fetched and no
script runs, so the file opens offline, from a mail attachment or a CI artifact.
It is a view of the results DataFrame, plus what only the problems know: the
function as written, its LaTeX, the symbolic derivative and the chain-rule tape.

Order of the page: the overview heatmap (problems × backend/dtype, coloured by
the share of the dtype's digits that are right, problems that disagree first), the
disagreements with links, errors and bad input, scaling plots of sweep families,
then one section per problem.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pandas as pd

from diffcompare.views import palette
from diffcompare.views.html_problem import formulas_html, problem_section
from diffcompare.views.html_text import escape, verdict_html
from diffcompare.views.plots import scaling_plot
from diffcompare.views.summary import SHORT_DTYPE, cell_summary, disagreement_groups, verdict_counts, verdict_line

DETAILED_PROBLEMS = 100  # sections past this many get the gradient table only: typesetting costs ~60 ms a problem
_FAMILY = re.compile(r"^(?P<family>.+)\[(?P<params>[^\]]*)\]$")  # sweep members: name[n=1000]

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328; }
main { max-width: 1640px; margin: 0 auto; padding: 16px 24px 64px; }
h1 { font-size: 24px; margin: 8px 0 4px; } h2 { font-size: 19px; margin-top: 36px;
  border-bottom: 1px solid #d0d7de; padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
code, .num { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
.num { text-align: right; white-space: nowrap; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #d0d7de; padding: 3px 7px; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; text-align: left; }
.chip { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12.5px; margin: 0 3px 3px 0; }
.heat td { text-align: center; min-width: 42px; padding: 2px 3px; font-size: 12px; line-height: 1.15; }
.heat td a { color: inherit; text-decoration: none; display: block; }
.heat td small { display: block; font-size: 10.5px; opacity: .9; }
.heat th.problem { text-align: left; white-space: nowrap; }
.heat thead th { position: sticky; top: 0; z-index: 1; text-align: center; font-size: 12px; }
.scroll { overflow-x: auto; max-width: 100%; }
.formula { overflow-x: auto; padding: 4px 0; } .formula svg { max-width: none; }
.legend span { display: inline-block; width: 36px; text-align: center; font-size: 11px; }
.verdict { font-weight: 600; }
.message { max-width: 640px; font-size: 12.5px; }
.formula svg { vertical-align: middle; }
.muted { color: #57606a; } details summary { cursor: pointer; color: #0969da; }
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


def _problem_order(frame: pd.DataFrame) -> list[str]:
    """Problems with a disagreement first, then the rest, each in run order."""
    names = list(pd.unique(frame["problem"]))
    bad = set(frame.loc[frame["verdict"] == "disagree", "problem"])
    return [n for n in names if n in bad] + [n for n in names if n not in bad]


def _heatmap(frame: pd.DataFrame, order: list[str], ids: dict[str, str]) -> str:
    cells = cell_summary(frame)
    if cells.empty:
        return "<p>No backend rows.</p>"
    columns = list(pd.unique(cells["column"]))
    by_key = {(r.problem, r.column): r for r in cells.itertuples(index=False)}
    heads = []
    for column in columns:
        backend, dtype = column.rsplit("/", 1)  # a plug-in's name may hold a "/"; a dtype never does
        heads.append(
            f"<th title='{escape(column)}'>{escape(backend).replace('_', '_<wbr>')}<br>"
            f"<small>{escape(SHORT_DTYPE.get(dtype, dtype))}</small></th>"
        )
    head = "".join(heads)
    rows = []
    for name in order:
        tds = []
        for column in columns:
            cell = by_key.get((name, column))
            if cell is None:
                tds.append("<td></td>")
                continue
            background, colour = palette.cell_colours(cell.verdict, cell.digits, column.rsplit("/", 1)[1])
            digits = f"{cell.digits:.1f}" if cell.verdict in ("agree", "disagree") else "&nbsp;"
            title = f"{name} · {column}: {cell.verdict}" + (
                f", {cell.digits:.1f} correct digits (worst element)" if digits != "&nbsp;" else ""
            )
            mark = " ✗" if cell.verdict == "disagree" else ""
            tds.append(
                f'<td style="background:{background};color:{colour}" title="{escape(title)}">'
                f'<a href="#{ids[name]}">{digits}{mark}<small>{escape(cell.verdict)}</small></a></td>'
            )
        rows.append(f'<tr><th class="problem"><a href="#{ids[name]}">{escape(name)}</a></th>{"".join(tds)}</tr>')
    legend = "".join(
        f'<span style="background:{palette.digits_colour(d)};color:{palette.text_colour(palette.digits_colour(d))}">'
        f"{round(100 * d / palette.MAX_DIGITS_SHOWN)}%</span>"
        for d in range(0, 17, 2)
    )
    others = " ".join(
        f'<span style="background:{palette.VERDICT_BACKGROUNDS[v]};width:auto;padding:0 6px">{v}</span>'
        for v in palette.VERDICT_BACKGROUNDS
    )
    return (
        '<p class="legend muted">Each cell: the fewest correct significant digits over its gradient elements, '
        "and its worst verdict. Colour: those digits as a share of what the dtype holds "
        f"(float32 {palette.DTYPE_DIGITS['float32']}, float64 {palette.DTYPE_DIGITS['float64']}; "
        "an <code>expected</code> number is judged at the precision it was written with, so green when it agrees)."
        f'</p><p class="legend muted">{legend} &nbsp; no digits to count: {others}</p>'
        f'<div class="scroll"><table class="heat"><thead><tr><th class="problem">problem</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
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
                f"<tr>{head}<td>{escape(', '.join(backends))}</td><td>{escape(dtype)}</td>"
                f"<td><code>{escape(elements)}</code></td><td class='message'>{escape(message)}</td></tr>"
            )
    header = "<tr><th>problem</th><th>backends</th><th>dtype</th><th>elements</th><th>why</th></tr>"
    return f"<div class='scroll'><table class='disagree'>{header}{''.join(rows)}</table></div>"


def _failures(frame: pd.DataFrame, errors: list[str], ids: dict[str, str]) -> str:
    failed = frame[frame["verdict"].isin(["error", "skipped"])]
    seen = dict.fromkeys(
        zip(failed["verdict"], failed["problem"], failed["backend"], failed["dtype"], failed["message"])
    )
    items = [
        f'<li>{verdict_html(v)} <a href="#{ids[p]}">{escape(p)}</a> · {escape(b)} {escape(d)}: {escape(m)}</li>'
        for v, p, b, d, m in seen
    ]
    items += [f"<li>{verdict_html('bad input')} {escape(e)}</li>" for e in errors]
    return f"<ul>{''.join(items)}</ul>" if items else "<p>None.</p>"


def _scaling(frame: pd.DataFrame) -> str:
    # One row per cell first: the time columns are the cell's, and a scaling run has 10⁷ rows.
    cells = frame.loc[frame["backend"] != ""].drop_duplicates(["problem", "backend", "dtype"])
    cells = cells[cells["problem"].str.match(_FAMILY.pattern)].copy()
    if cells.empty:
        return ""
    cells["family"] = cells["problem"].str.extract(_FAMILY.pattern)["family"]
    figures = []
    for family, group in cells.groupby("family", sort=False):
        svg = scaling_plot(family, group)
        if svg:
            figures.append(f"<h3>{escape(family)}</h3>{svg}")
    if not figures:
        return ""
    return (
        "<h2 id='scaling'>Scaling</h2><p class='muted'>Sweep families: time of one gradient, and its ratio to the time of f, against the size.</p>"
        + "".join(figures)
    )


def render(frame: pd.DataFrame, errors: list[str], problems=(), sweeps: dict | None = None) -> str:
    """The page. problems: the Problem objects of the run (for formulas and tapes);
    sweeps: problem name -> step-sweep DataFrames found beside the report."""
    by_name = {p.name: p for p in problems}
    rows_of = dict(iter(frame.groupby("problem", sort=False, observed=True)))
    order = _problem_order(frame)
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
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>diffcompare report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>diffcompare report</h1>",
        f"<p class='muted'>{len(order)} problems · {escape(verdict_line(frame))}{versions}</p>",
        f"<p>{_chips(frame)}</p>",
        "<h2 id='overview'>Overview</h2>",
        "<p class='muted'>Problems with a disagreement come first. Click a problem for its formulas, every "
        "value against the reference, the chain-rule tape and the timings.</p>",
        _heatmap(frame, order, ids),
        "<h2 id='disagreements'>Disagreements</h2>",
        _disagreements(frame, ids),
        "<h2 id='failures'>Errors, skipped backends and bad input</h2>",
        _failures(frame, errors, ids),
        _scaling(frame),
        "<h2 id='problems'>Problems</h2>",
        *sections,
        "</main></body></html>",
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
