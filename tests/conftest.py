from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"


@pytest.fixture(scope="session")
def seed_results():
    """Every seed problem through every backend, once per test session."""
    import diffcompare

    frame = diffcompare.run(PROBLEMS)
    assert frame.attrs["errors"] == []
    return frame


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
