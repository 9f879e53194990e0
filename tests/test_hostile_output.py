"""Hostile text in every output: a problem name or a message holding a newline, a `|`,
a Markdown heading, HTML, rich markup, ANSI/OSC escapes or a NUL reaches summary.md,
report.html, the terminal, stderr, results.csv and the one-line ProblemError as text,
shown, never obeyed; and a small file cannot make the report's typesetting hang."""

import io
import re

import pandas as pd
import pytest

from diffcompare.lang.printable import visible
from diffcompare.running.runner import run_problems
from diffcompare.spec.problem import ProblemError, build_problems
from diffcompare.views.files import write_reports
from diffcompare.views.summary import summary_markdown
from diffcompare.views.terminal import print_summary

EVIL = "evil|name\n# Heading \x1b[31mred\x1b]0;title\x07 [link](http://x) ![i](http://y) <b>bold</b> [bold]rich[/] \x00\u202e"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")


def test_visible_writes_control_characters_as_escapes_on_one_line():
    assert visible("plain · σ(u) ✓") == "plain · σ(u) ✓"
    assert visible("a\nb\r\tc\x1b[0m\x00\x7f\x9b\u2028\u202e") == "a\\nb\\r\\tc\\x1b[0m\\x00\\x7f\\x9b\\u2028\\u202e"
    assert visible("a\nb\tc\x1b", layout=True) == "a\nb\tc\\x1b"
    assert visible(3) == "3"


def test_a_problem_error_is_one_visible_line_whatever_the_file_holds():
    error = ProblemError("dir\n/f\x1b.yaml", "na\nme\x1b]0;t\x07", "ke\ny", "bad\nthing \x00", line=3)
    text = str(error)
    assert "\n" not in text and not CONTROL.search(text)
    assert text == "dir\\n/f\\x1b.yaml:3: problem 'na\\nme\\x1b]0;t\\x07': key 'ke\\ny': bad\\nthing \\x00"
    assert error.problem == "na\nme\x1b]0;t\x07"  # the fields keep what the file held


def _frame_with(name: str, message: str) -> pd.DataFrame:
    """A real run (an agreeing, a disagreeing and an error row), its problem named `name`
    and its messages `message`: the views must take whatever a frame holds."""
    (problem,), _ = build_problems({"function": "x**2", "point": {"x": 3.0}, "expected": {"x": 7.0}}, "f.yaml", "p")
    frame = run_problems([problem], backends=["chainrule", "expected"], dtypes=["float64"])
    frame["problem"] = name
    frame["message"] = message
    frame["verdict"] = frame["verdict"].astype(str)  # categorical: a text it does not hold is set on strings
    frame.loc[frame.index[0], "verdict"] = "error"
    return frame


def test_summary_markdown_keeps_hostile_names_inside_their_cells():
    from markdown_it import MarkdownIt

    frame = _frame_with(EVIL, "why\n## injected\n| x |")
    text = summary_markdown(frame, [f"bad input: {EVIL}"])
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    kinds = [t.type for t in tokens]
    headings = [tokens[i + 1].content for i, k in enumerate(kinds) if k == "heading_open"]
    assert headings == [
        "diffcompare summary",
        "Disagreements",
        "Errors and skipped backends",
        "Problems that could not be loaded",
    ]
    inline = [c.type for t in tokens if t.type == "inline" for c in t.children]
    assert not {"link_open", "image", "html_inline", "html_block"} & set(inline + kinds)
    assert not CONTROL.search(text)
    # Each table row has exactly its columns, the name whole in the first.
    rows = [i for i, k in enumerate(kinds) if k == "tr_open"]
    cells = [
        [tokens[j + 1].content for j in range(r, kinds.index("tr_close", r)) if kinds[j] in ("td_open", "th_open")]
        for r in rows
    ]
    assert [len(c) for c in cells[:2]] == [3, 3] and [len(c) for c in cells[2:]] == [8] * (len(cells) - 2)
    shown = visible(EVIL)
    assert cells[1][0].replace("\\", "") == shown.replace("\\", "")


def test_the_terminal_shows_hostile_text_without_obeying_it():
    from rich.console import Console

    frame = _frame_with(EVIL, "why \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ [red]no[/]")
    out = io.StringIO()
    print_summary(frame, [f"bad input \x1b[2J{EVIL}"], console=Console(file=out, width=400, force_terminal=False))
    text = out.getvalue()
    assert not CONTROL.search(text.replace("\n", ""))
    assert "\\x1b[31mred" in text and "\\x1b]8;;http://x" in text and "\\x1b[2J" in text
    assert "[bold]rich[/]" in text and "[red]no[/]" in text  # markup shown, not applied
    assert "# Heading" not in text.splitlines()[0]  # the name's newline did not start a line


def test_report_html_escapes_hostile_names_and_messages(tmp_path):
    frame = _frame_with(EVIL, "why <script>alert(1)</script> \x1b[31m")
    write_reports(frame, [f"bad {EVIL}"], tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<b>bold</b>" not in page and "<script>alert" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "&lt;script&gt;" in page
    assert not CONTROL.search(page)
    assert "\\x1b[31mred" in page


def test_the_notebook_tables_show_hostile_text_without_obeying_it():
    from diffcompare.views.notebook import heatmap, style

    frame = _frame_with(EVIL, "why <script>alert(1)</script> \x1b[31m")
    for page in (style(frame).to_html(), heatmap(frame).to_html()):
        assert "<b>bold</b>" not in page and "<script>alert" not in page
        assert not CONTROL.search(page)
        assert "\\x1b[31mred" in page


def test_results_csv_round_trips_newlines_quotes_and_commas(tmp_path):
    name = 'a "quoted", name\nsecond line\r\n\tend'
    frame = _frame_with(name, 'message, with "quotes"\nand a newline')
    write_reports(frame, [], tmp_path)
    back = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    assert len(back) == len(frame)
    assert (back["problem"] == name).all()
    assert (back["message"] == 'message, with "quotes"\nand a newline').all()


def test_results_parquet_reads_back_as_the_same_frame_and_is_not_left_behind(tmp_path):
    """--parquet: the same rows with their dtypes (categorical text, Arrow strings, floats to
    the last bit, NaN kept); a run without it removes the earlier run's file, as --no-html does
    report.html, so the folder never holds two runs."""
    frame = _frame_with('a "quoted", name\nsecond line', "message \x00 with a NUL")
    frame.loc[0, "value"] = float("nan")
    frame["verdict"] = frame["verdict"].astype("category")  # as a run holds it
    paths = write_reports(frame, [], tmp_path, html=False, parquet=True)
    assert tmp_path / "results.parquet" in paths
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "results.parquet"), frame)
    assert isinstance(pd.read_parquet(tmp_path / "results.parquet")["verdict"].dtype, pd.CategoricalDtype)
    paths = write_reports(frame, [], tmp_path, html=False)
    assert not (tmp_path / "results.parquet").exists() and tmp_path / "results.parquet" not in paths


@pytest.mark.parametrize("name", ["\x1b[31mred", "new\nline", "nul\x00"])
def test_stderr_lines_of_bad_input_are_one_visible_line(tmp_path, name):
    from diffcompare.spec.files import load_file

    escaped = name.replace("\x1b", "\\x1b").replace("\n", "\\n").replace("\x00", "\\x00")
    path = tmp_path / "bad.yaml"
    path.write_text(f'name: "{escaped}"\nfunction: x +\npoint: {{x: 1.0}}\n', encoding="utf-8")
    _, errors = load_file(path)
    (line,) = [str(e) for e in errors]
    assert "\n" not in line and not CONTROL.search(line)
