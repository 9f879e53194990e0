"""JAX's compilations through one persistent cache (diffcompare.backends.jax_cache), the jax
backend's programs kept per process (jax_operators.compute), and f timed once per problem ×
dtype for all of a problem's modes, jax's and torch's (issue 18).

The session's cache folder is a temporary one (tests/conftest.py sets DIFFCOMPARE_CACHE_DIR);
the tests here give each their own."""

import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, write

import diffcompare
from diffcompare.backends import jax_cache
from diffcompare.running.options import RunOptions
from diffcompare.spec.problem import build_problem

TIME_COLUMNS = ["time_s", "setup_s", "f_time_s", "cost_ratio"]
_fresh = itertools.count()


def fresh_function() -> str:
    """A function no earlier test compiled (a constant of its own): the compilation is JAX's to do."""
    return f"sin(x ** 2) * {next(_fresh) + random.random() + 1:.15f}"


@pytest.fixture
def cache_setting():
    """Put this process's cache setting back as it was after the test."""
    wanted = dict(jax_cache._wanted)
    yield
    jax_cache.configure(wanted["enabled"], wanted["folder"])


def entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def jax_rows(function: str, point=None):
    return diffcompare.compare(function, point or {"x": 0.7}, backends=["jax"])


def test_the_default_folder_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("DIFFCOMPARE_CACHE_DIR", str(tmp_path / "root"))
    assert jax_cache.default_folder() == tmp_path / "root" / "jax"
    monkeypatch.delenv("DIFFCOMPARE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert jax_cache.default_folder() == tmp_path / "xdg" / "diffcompare" / "jax"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # the XDG spec: a relative one is ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert jax_cache.default_folder() == tmp_path / "home" / ".cache" / "diffcompare" / "jax"


def test_the_switch_the_options_and_a_worker(monkeypatch, cache_setting, tmp_path):
    """DIFFCOMPARE_JAX_CACHE=0 turns it off by default; configure() overrides that; RunOptions
    carries this process's setting to a worker, whose apply() gives it to its jax."""
    jax_cache.configure(None)
    monkeypatch.setenv("DIFFCOMPARE_JAX_CACHE", "0")
    assert not jax_cache.enabled() and not RunOptions().jax_cache and not RunOptions.here().jax_cache
    monkeypatch.setenv("DIFFCOMPARE_JAX_CACHE", "1")
    assert jax_cache.enabled() and RunOptions().jax_cache and RunOptions.here().jax_cache
    jax_cache.configure(False)
    assert RunOptions.here().jax_cache is False
    jax_cache.configure(True, tmp_path / "chosen")
    options = RunOptions.here()
    assert (options.jax_cache, options.jax_cache_dir) == (True, str(tmp_path / "chosen"))

    jax_cache.configure(False)  # as a worker finds itself before the parent's options arrive
    options.apply()
    import diffcompare.backends.jax_backend  # noqa: F401  (loads jax, which takes the setting)

    assert jax_cache.in_use() == str(tmp_path / "chosen")
    RunOptions(jax_cache=False).apply()
    assert jax_cache.in_use() is None


def test_compilations_land_in_the_folder_and_off_writes_nothing(cache_setting, tmp_path):
    jax_cache.configure(True, tmp_path / "on")
    rows = jax_rows(fresh_function())
    assert (rows["verdict"] == "agree").all()
    assert any(name.startswith("jit_") for name in entries(tmp_path / "on")), entries(tmp_path / "on")

    jax_cache.configure(False, tmp_path / "off")
    jax_rows(fresh_function())
    assert not (tmp_path / "off").exists()
    assert jax_cache.in_use() is None


def test_a_folder_that_cannot_be_written_costs_only_the_cache(cache_setting, tmp_path):
    """A path under a plain file can be made by no one (root included): no cache, same rows."""
    from diffcompare.backends import jax_operators

    function = fresh_function()
    jax_cache.configure(False)
    expected = jax_rows(function).drop(columns=TIME_COLUMNS)
    (tmp_path / "file").write_text("not a folder")
    jax_cache.configure(True, tmp_path / "file" / "jax")
    assert jax_cache.in_use() is None
    jax_operators.forget()  # build it again, under the cache that is not there
    got = jax_rows(function).drop(columns=TIME_COLUMNS)
    assert got.equals(expected)
    assert (got["message"] == "").all() or got["message"].equals(expected["message"])


def problem(function: str, point: dict, **keys):
    return build_problem({"function": function, "point": point, **keys}, "<t>", "t")


def test_a_kept_program_gives_the_same_values_and_setup(monkeypatch):
    """The same computation at another point, written otherwise, calls the program kept for
    the first: its values are those of a program built for it, its setup_s the first's."""
    from diffcompare.backends import jax_operators
    from diffcompare.backends.jax_backend import JaxBackend

    jax_operators.forget()
    backend = JaxBackend()
    constant = fresh_function()
    first = backend.compute(problem(f"{constant} + y", {"x": 0.5, "y": 2.0}), "float64", "reverse")
    again = backend.compute(problem(f"{constant} + y", {"x": 0.5, "y": 2.0}), "float64", "reverse")
    assert again.setup_s == first.setup_s
    assert again.values["x"] == first.values["x"]
    assert len(jax_operators._OPERATORS) == 1

    other = problem("u + y", {"x": 1.3, "y": -1.0}, let={"u": constant})
    kept = backend.compute(other, "float64", "reverse")
    assert len(jax_operators._OPERATORS) == 1 and kept.setup_s == first.setup_s
    jax_operators.forget()
    built = backend.compute(other, "float64", "reverse")
    assert kept.values["x"].tobytes() == built.values["x"].tobytes()
    assert kept.values["x"] != first.values["x"]

    # another dtype, shape or operator is another program
    backend.compute(other, "float32", "reverse")
    backend.compute(problem(f"sum({constant.replace('x', 'z')})", {"z": [0.5, 1.0]}), "float64", "reverse")
    assert len(jax_operators._OPERATORS) == 3

    monkeypatch.setattr(jax_operators._OPERATORS, "size", 2)
    monkeypatch.setattr(jax_operators._FUNCTIONS, "size", 2)
    backend.compute(problem("cos(x) * 3", {"x": 0.5}), "float64", "reverse")
    assert len(jax_operators._OPERATORS) == 2 and len(jax_operators._FUNCTIONS) <= 2


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_f_is_timed_once_per_problem_and_dtype(name):
    """An operator problem's modes carry the same f_time_s: f was timed once, for both."""
    from diffcompare import backends as registry

    backend = registry.load(name)
    jacobian = problem("[r * cos(t), r * sin(t)]", {"r": 2.0, "t": 0.5}, operator="jacobian")
    forward = registry.compute(backend, jacobian, "float64", "forward")
    reverse = registry.compute(backend, jacobian, "float64", "reverse")
    assert forward.f_time_s == reverse.f_time_s > 0
    assert registry.compute(backend, jacobian, "float32", "forward").f_time_s > 0


CHILD = """
import json, sys
import jax.monitoring
hits = []
jax.monitoring.register_event_listener(
    lambda event, **_: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None
)
import diffcompare
from diffcompare.backends import jax_cache
frame = diffcompare.run(sys.argv[1], backends=["jax"])
print(json.dumps({"hits": len(hits), "in_use": jax_cache.in_use(),
                  "values": frame["value"].tolist(), "verdicts": frame["verdict"].tolist()}))
"""


def fresh_process(path: Path, env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_second_process_reads_what_the_first_compiled(tmp_path):
    path = write(tmp_path, "p.yaml", "name: p\nfunction: sin(x ** 2) * exp(x)\npoint: {x: 0.3}\n")
    env = {"DIFFCOMPARE_CACHE_DIR": str(tmp_path / "cache"), "DIFFCOMPARE_JAX_CACHE": "1"}
    first = fresh_process(path, env)
    written = entries(tmp_path / "cache" / "jax")
    assert first["in_use"] == str(tmp_path / "cache" / "jax") and first["hits"] == 0 and written
    second = fresh_process(path, env)
    assert second["hits"] >= 2  # the operator and f, in both dtypes
    assert entries(tmp_path / "cache" / "jax") == written  # read, nothing compiled anew
    assert second["values"] == first["values"] and second["verdicts"] == first["verdicts"]

    off = fresh_process(path, {"DIFFCOMPARE_CACHE_DIR": str(tmp_path / "off"), "DIFFCOMPARE_JAX_CACHE": "0"})
    assert off["in_use"] is None and off["hits"] == 0 and not (tmp_path / "off").exists()
    assert off["values"] == first["values"]


@pytest.mark.slow
def test_a_supervised_worker_compiles_into_the_parents_folder(cache_setting, tmp_path):
    """The main job's path: the worker is told the folder through RunOptions.apply()."""
    path = write(tmp_path, "p.yaml", f"name: p\nfunction: {fresh_function()}\npoint: {{x: 0.3}}\n")
    jax_cache.configure(True, tmp_path / "chosen")
    frame = diffcompare.run(path, backends=["jax"], timeout=120)
    assert (frame["verdict"] == "agree").all()
    assert any(name.startswith("jit_") for name in entries(tmp_path / "chosen"))


def test_a_backend_with_its_own_table_never_gets_the_built_ins_programs():
    """A plug-in that subclasses the jax backend with a table of its own (sin replaced) computes
    with its table, though the built-in kept a program for the same computation."""
    import jax.numpy as jnp

    from diffcompare.backends import jax_operators
    from diffcompare.backends.jax_backend import JaxBackend, jax_constant, jax_ops

    own = {**jax_ops("float64"), "sin": jnp.cos}

    class CosineJax(JaxBackend):
        def compute(self, problem, dtype, mode):
            return jax_operators.compute(problem, dtype, mode, own, jax_constant(dtype))

    p = problem("sin(x)", {"x": 0.5})
    built_in = JaxBackend().compute(p, "float64", "reverse").values["x"]
    theirs = CosineJax().compute(p, "float64", "reverse").values["x"]
    assert float(built_in) == pytest.approx(0.8775825618903728)  # cos(0.5)
    assert float(theirs) == pytest.approx(-0.479425538604203)  # d/dx cos(x) = -sin(0.5)
