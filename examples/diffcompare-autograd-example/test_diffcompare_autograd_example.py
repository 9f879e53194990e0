"""The backend as diffcompare sees it: found through its entry point. Install the
package (`pip install -e .`), then run `python -m pytest`."""

from diffcompare_autograd_example import AUTOGRAD_OPS

import diffcompare
from diffcompare import backends
from diffcompare.lang.primitives import PRIMITIVES


def test_every_primitive_has_an_autograd_function():
    assert set(AUTOGRAD_OPS) == set(PRIMITIVES)


def test_found_through_its_entry_point():
    assert "autograd_example" in backends.available_names()
    installed, note = backends.status("autograd_example")
    assert installed, note


def test_agrees_with_the_exact_derivative_in_both_dtypes():
    frame = diffcompare.compare("sum(sin(x**2) * y)", point={"x": 4.0, "y": [1.0, 2.0]}, backends=["autograd_example"])
    assert set(frame["dtype"]) == {"float32", "float64"}
    assert (frame["verdict"] == "agree").all(), frame[["dtype", "variable", "index", "value", "message"]]
    assert frame["library_version"].str.startswith("autograd ").all()
