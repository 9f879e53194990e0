from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"


@pytest.fixture(scope="session")
def seed_results():
    """Every seed problem through every backend, once per test session. The tests that
    ask for it are marked slow (below): the run alone would be a quarter of the fast lane."""
    import diffcompare

    frame = diffcompare.run(PROBLEMS)
    assert frame.attrs["errors"] == []
    return frame


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def pytest_collection_modifyitems(items):
    """A test of the whole seed run is an end-to-end test: slow, whether or not it says so."""
    for item in items:
        if "seed_results" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
