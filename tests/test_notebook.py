"""The results DataFrame in Jupyter (diffcompare.views.notebook) and examples/tour.ipynb,
executed as a reader would run it."""

import html
import pickle
import re
import time

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

import diffcompare
from diffcompare.views.notebook import Results
from diffcompare.views.palette import VERDICT_BACKGROUNDS, VERDICT_COLOURS, cell_colours

pytest.importorskip("jinja2")

TOUR = ROOT / "examples" / "tour.ipynb"
SATURATED = {"w": 2.0, "x": 4.0, "b": 1.5}


@pytest.fixture(scope="module")
def saturated():
    return diffcompare.compare("sigmoid(w * x**2) + 1 / b**3", point=SATURATED, backends=["sympy", "chainrule"])


def table_rows(page: str) -> list[list[str]]:
    """The text of each body row's cells, header cell (the row label) first."""
    body = page.split("<tbody>", 1)[1]
    return [
        [html.unescape(re.sub(r"<[^>]*>", "", cell)).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_html_view_shows_verdicts_as_words_digits_as_palette_colours_and_every_digit(saturated):
    page = saturated._repr_html_()
    rows = {tuple(row[2:5]): row for row in table_rows(page)}  # (backend, dtype, variable)
    float32_w = rows[("chainrule", "float32", "w")]
    assert float32_w[6:8] == ["0.0", "2.0262664878550168e-13"]  # value and reference, repr-exact
    assert float32_w[10:12] == ["0.0", "disagree"]  # digits (never "-0.0") and the verdict as a word
    assert "σ(u) rounds to exactly 1" in float32_w[12]
    assert rows[("sympy", "float64", "w")][11] == "agree"
    # No correct digit and a disagreement: the deepest colour of the disagree family.
    assert f"background-color: {cell_colours('disagree', 0.0, 'float32')[0]}" in page
    assert f"color: {VERDICT_COLOURS['disagree']}" in page and f"color: {VERDICT_COLOURS['agree']}" in page
    assert "white-space: normal" in page  # long messages wrap
    assert "9 rows: " in page and "12 of " in page  # verdict counts, and what the view leaves out


def test_the_verdict_picks_the_hue_the_digits_only_its_strength():
    """0.0 digits that agree (a finite difference within its bound) are a pale agree, never
    the colour of a failure: the rule every view follows (diffcompare.views.palette)."""
    frame = Results(
        {
            "problem": ["p", "p"],
            "backend": ["central", "torch"],
            "dtype": ["float32", "float32"],
            "digits": [0.0, 0.0],
            "verdict": ["agree", "disagree"],
            "message": ["", ""],
        }
    )
    page = frame._repr_html_()
    agree, disagree = cell_colours("agree", 0.0, "float32")[0], cell_colours("disagree", 0.0, "float32")[0]
    assert agree != disagree
    assert page.count(f"background-color: {agree}") == 1 and page.count(f"background-color: {disagree}") == 1
    heat = frame.heatmap().to_html()
    assert f"background-color: {agree}" in heat and f"background-color: {disagree}" in heat


def test_a_kink_colours_its_digits_cell_by_its_verdict():
    frame = diffcompare.compare("abs(x)", point={"x": 0.0}, backends=["chainrule"], dtypes=["float64"])
    assert list(frame["verdict"]) == ["kink"]
    assert f"background-color: {VERDICT_BACKGROUNDS['kink']}" in frame._repr_html_()


def test_the_text_repr_stays_plain_and_the_data_stays_the_tidy_frame(saturated, tmp_path):
    assert repr(saturated) == repr(pd.DataFrame(saturated))
    assert "<table" not in repr(saturated) and "<style" not in repr(saturated)
    saturated.to_csv(tmp_path / "r.csv", index=False)
    assert len(pd.read_csv(tmp_path / "r.csv")) == len(saturated)
    assert type(pickle.loads(pickle.dumps(saturated))) is Results


def test_filtering_keeps_the_styling_the_data_and_the_attrs():
    frame = diffcompare.run(ROOT / "problems" / "saturated_sigmoid.yaml", backends=["chainrule"])
    mask = frame["verdict"] == "disagree"
    part = frame[mask]
    assert isinstance(part, Results) and part.attrs == {"errors": []}
    pd.testing.assert_frame_equal(pd.DataFrame(part), pd.DataFrame(frame)[mask])
    verdicts = {row[11] for row in table_rows(part._repr_html_())}
    assert verdicts == {"disagree"}
    chosen = frame[["problem", "time_s", "verdict"]]  # chosen columns are shown, all of them
    assert re.findall(r'class="col_heading[^"]*" >([^<]*)<', chosen._repr_html_()) == ["problem", "time_s", "verdict"]
    counts = frame.groupby("backend")[["digits"]].min()  # nothing of ours: pandas' own table
    assert 'class="dataframe"' in counts._repr_html_()


def test_a_million_rows_render_as_a_head_quickly(saturated):
    big = saturated.iloc[np.resize(np.arange(len(saturated)), 1_000_000)]
    assert isinstance(big, Results)
    start = time.perf_counter()
    page = big._repr_html_()
    assert time.perf_counter() - start < 2.0
    assert [row[0] for row in table_rows(page)] == [str(i % len(saturated)) for i in range(10)]  # labels repeat
    assert "the first 10 of 1,000,000 rows shown" in page


def test_text_is_escaped():
    frame = Results({"problem": ["p"], "verdict": ["error"], "message": ["<b>x</b> & y"]}, index=["<i>"])
    page = frame._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in page and "&lt;i&gt;" in page and "<b>" not in page
    named = diffcompare.compare("x**2", point={"x": 1.0}, backends=["chainrule"], name="a<b>")
    assert "a&lt;b&gt;" in named.heatmap().to_html() and "a<b>" not in named.heatmap().to_html()


def test_the_heatmap_is_one_coloured_cell_per_problem_backend_and_dtype(saturated):
    page = saturated.heatmap().to_html()
    assert table_rows(page) == [["problem", "16.3 ✓", "0.0 ✗", "3.2 ✗"]]
    for verdict, digits, dtype in (
        ("agree", 16.3, "float64"),
        ("disagree", 0.0, "float32"),
        ("disagree", 3.2, "float64"),
    ):
        background = cell_colours(verdict, digits, dtype)[0]
        assert f"background-color: {background}" in page, (verdict, digits, dtype)


def test_the_heatmap_printed_from_a_script_is_a_readable_table(saturated, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    text = str(saturated.heatmap())
    assert "Styler" not in text and "<" not in text
    lines = text.splitlines()
    assert lines[0].split() == ["sympy", "chainrule"] and lines[1].split() == ["problem", "f64", "f32", "f64"]
    assert lines[2].split() == ["problem", "16.3", "✓", "0.0", "✗", "3.2", "✗"]
    assert repr(saturated.heatmap()) == text
    assert all(len(line) <= 80 for line in lines)


def executed_tour():
    """examples/tour.ipynb run from examples/ in the current interpreter's ipykernel,
    as `jupyter execute` would; its stored copy is left as it is."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    import tempfile

    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    notebook = nbformat.read(TOUR, as_version=4)
    with tempfile.TemporaryDirectory() as kernels:
        write_kernel_spec(f"{kernels}/python3")  # argv: this sys.executable -m ipykernel_launcher
        manager = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels]))
        client = nbclient.NotebookClient(
            notebook, km=manager, timeout=300, resources={"metadata": {"path": str(TOUR.parent)}}
        )
        client.execute()  # raises CellExecutionError on the first cell that fails
    return notebook


def outputs_of(notebook) -> list[str]:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            data = output.get("data", {})
            texts.append(data.get("text/html") or data.get("text/plain") or output.get("text", ""))
    return texts


@pytest.mark.slow
def test_the_tour_runs_from_examples_and_shows_the_saturated_sigmoid():
    outputs = outputs_of(executed_tour())
    sigmoid = next(page for page in outputs if "saturated-sigmoid" in page and "<tbody>" in page)
    rows = {tuple(row[2:5]): row for row in table_rows(sigmoid)}
    assert rows[("torch", "float32", "w")][6] == "0.0"
    assert rows[("torch", "float32", "w")][11] == "disagree"
    assert rows[("torch", "float64", "w")][10] == "3.2"
    assert any("hand-dfdy-as-dfdx" in page and "disagree" in page for page in outputs)
    assert any("logistic-bce" in page and "skipped" in page for page in outputs)


def test_the_stored_tour_holds_its_outputs():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(TOUR, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert any("0.0 ✗" in page for page in outputs_of(notebook))  # readers on GitHub see results
