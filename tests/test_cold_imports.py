"""Issue 18: compare() cold as cheap as the backends it asks for.

`import diffcompare` imports none of the libraries; compare(..., backends=[one]) imports that
backend's library and what every call needs (NumPy, pandas for the result, SymPy and mpmath
for the exact reference), never another backend's, the plots or the HTML report, and starts
no process: one problem in the API is run in the caller's process. Each case runs in a fresh
interpreter (an import is once per process).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ["numpy", "pandas", "sympy", "mpmath", "torch", "jax", "matplotlib", "scipy", "numdifftools", "pyarrow"]
NEVER_FOR_ONE_BACKEND = [
    "matplotlib",
    "diffcompare.views.html_report",
    "diffcompare.views.plots",
    "diffcompare.views.latex",
    "diffcompare.cli",
]

PROBE = """
import json, sys
import multiprocessing.process, subprocess
started = []
_start, _popen = multiprocessing.process.BaseProcess.start, subprocess.Popen.__init__
multiprocessing.process.BaseProcess.start = lambda self: (started.append("process"), _start(self))[1]
def popen(self, *args, **kwargs):
    started.append("subprocess")
    return _popen(self, *args, **kwargs)
subprocess.Popen.__init__ = popen
import diffcompare
after_import = sorted(sys.modules)
backends = {backends!r}
rows = 0
if backends:
    import numpy as np
    frame = diffcompare.compare(
        "sum(100*(x[1:]-x[:-1]**2)**2 + (1-x[:-1])**2)", point={{"x": np.linspace(-1, 1, 6)}},
        backends=backends, dtypes=["float64"],
    )
    rows = int((frame["verdict"] == "agree").sum())
print(json.dumps({{"after_import": after_import, "after_compare": sorted(sys.modules), "started": started, "rows": rows}}))
"""


def _probe(backends: list[str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(backends=backends)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _roots(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_import_diffcompare_imports_no_library():
    seen = _probe([])
    assert _roots(seen["after_import"]) & set(HEAVY) == set()
    assert seen["started"] == []


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "other"), [("torch", "jax"), ("jax", "torch")])
def test_compare_imports_only_the_backend_it_asks_for(backend, other):
    seen = _probe([backend])
    assert seen["rows"] == 6  # the gradient's six elements, float64, every one agreeing
    modules = set(seen["after_compare"])
    assert backend in _roots(modules)
    assert other not in _roots(modules)
    assert not modules & set(NEVER_FOR_ONE_BACKEND)
    assert not {m for m in modules if m.startswith("diffcompare.backends.")} - {
        f"diffcompare.backends.{backend}_backend",
        f"diffcompare.backends.{backend}_operators",
        f"diffcompare.backends.{backend}_cache",
        "diffcompare.backends.operator_values",
        "diffcompare.backends.protocol",
        "diffcompare.backends.registry",
        "diffcompare.backends.timing",
        "diffcompare.backends.threads",  # the libraries' thread settings: imports nothing but os
        "diffcompare.backends.jax_cache",  # the cache setting RunOptions carries: imports no jax
    }
    assert seen["started"] == []  # no worker process: one call, in the caller's process
