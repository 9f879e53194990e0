"""The HTML report in a real browser: headless Chromium, the network cut off.

.ci/run installs Debian's chromium; where it is missing (a developer's laptop)
the test is skipped with that reason rather than pretending to pass.
"""

from __future__ import annotations

import pytest
from browser import blank_share, chromium_path, visit
from conftest import PROBLEMS

pytestmark = pytest.mark.slow  # a real browser: end to end
pytest.importorskip("playwright")
if chromium_path() is None:
    pytest.skip("no chromium on PATH (.ci/run installs Debian's chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def report(seed_results, tmp_path_factory):
    from diffcompare.running.runner import load_problems
    from diffcompare.views.files import write_reports

    problems, _ = load_problems([PROBLEMS])
    out = tmp_path_factory.mktemp("report")
    write_reports(seed_results, [], out, problems)
    return out / "report.html"


@pytest.fixture(scope="module")
def seen(report):
    return visit(report, width=1400, height=1000)


def test_renders_without_console_errors_or_requests(seen):
    assert seen.page_errors == []
    assert seen.console_errors == []
    assert seen.outside_requests == [], "the report must open offline"
    assert seen.failed_requests == []


def test_screenshot_is_not_blank(seen):
    assert len(seen.screenshot) > 10_000
    # The top of the page is the title, the verdict chips and the coloured heatmap:
    # far from a white page.
    assert blank_share(seen.screenshot) < 0.85


def test_layout(seen, seed_results):
    layout = seen.layout
    problems = seed_results["problem"].nunique()
    assert layout["sections"] == problems
    assert layout["broken_links"] == []
    assert layout["svgs"] > problems  # formulas and time bars
    assert layout["visible_svgs"] >= problems  # not collapsed to nothing (the tapes' are inside <details>)
    columns = seed_results.loc[seed_results["backend"] != ""].eval("backend + dtype").nunique()
    assert layout["heat_cells"] == problems * columns
