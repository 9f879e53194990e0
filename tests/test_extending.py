"""Backends through entry points: the built-ins registered like any plug-in, broken
plug-ins costing only their rows, the versions every row carries, and
examples/diffcompare-autograd-example (the backend `autograd_example`), installed as a
package of its own and found only through its entry point, beside the built-in `autograd`."""

import os
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata

import pandas as pd
import pytest
from conftest import PROBLEMS, ROOT, write

import diffcompare
from diffcompare import backends as registry
from diffcompare.spec.files import load_file

EXAMPLE = ROOT / "examples" / "diffcompare-autograd-example"
PLUGIN = "autograd_example"  # the example's backend: a name of its own beside the built-in `autograd`

# A fake installed distribution: a dist-info folder on the path is all importlib.metadata needs.
PLUGINS = """\
[diffcompare.backends]
importfails = no_such_module_for_diffcompare:Backend
raising = broken_plugin:Raising
notabackend = broken_plugin:NotABackend
baddtypes = broken_plugin:BadDtypes
torch = impostor_plugin:Impostor
"""
BROKEN_PLUGIN = """\
from diffcompare.backends import BaseBackend


class Raising(BaseBackend):
    def __init__(self):
        raise RuntimeError("no licence server")


class NotABackend:
    pass


class BadDtypes(BaseBackend):
    name = "baddtypes"

    def dtypes_for(self, problem):
        raise ValueError("cannot tell")

    def gradient(self, problem, dtype):
        raise AssertionError("never reached")
"""
IMPOSTOR_PLUGIN = "raise AssertionError('a built-in name must never load a plug-in')\n"


def fake_distribution(folder):
    dist = folder / "broken_plugins-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugins\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(PLUGINS)
    (folder / "broken_plugin.py").write_text(BROKEN_PLUGIN)
    (folder / "impostor_plugin.py").write_text(IMPOSTOR_PLUGIN)
    return folder


def python(*args, paths=(), cwd=ROOT, **env) -> subprocess.CompletedProcess:
    """This interpreter with args, in a fresh process whose PYTHONPATH starts with paths."""
    env = {**os.environ, **env}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*map(str, paths), env.get("PYTHONPATH", "")]))
    command = [sys.executable, *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_builtins_are_declared_as_entry_points_with_the_registry_targets():
    tomllib = pytest.importorskip("tomllib")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["diffcompare.backends"]
    assert declared == {name: spec.target for name, spec in registry.BUILTIN.items()}


def test_builtins_load_through_diffcompare_s_installed_entry_points():
    found = registry.registrations().entry_points
    installed = [found[name] for name in registry.BUILTIN if getattr(found[name], "dist", None) is not None]
    if not installed:
        pytest.skip("diffcompare's metadata is not installed (pip install -e .)")
    assert [ep.name for ep in installed] == list(registry.BUILTIN)
    assert {ep.dist.name for ep in installed} == {"diffcompare"}
    for name in ("chainrule", "expected"):
        backend = registry.load(name)
        assert not isinstance(backend, registry.Unavailable)
        assert backend.library == registry.BUILTIN[name].library


def test_every_builtin_names_the_library_its_rows_come_from():
    for name, spec in registry.BUILTIN.items():
        module, cls = spec.target.split(":")
        if name in ("torch", "jax", "tensorflow"):
            # reading the class would import torch, jax or TensorFlow (6 s): the source says it
            assert f'library = "{spec.library}"' in (ROOT / (module.replace(".", "/") + ".py")).read_text()
        else:
            assert getattr(__import__(module, fromlist=[cls]), cls).library == spec.library, name


def test_a_broken_plugin_costs_its_own_rows_only(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(fake_distribution(tmp_path)))
    names = ["sympy", "torch", "importfails", "raising", "notabackend", "baddtypes"]
    listed = registry.available_names()
    plugins = listed[len(registry.BUILTIN) :]
    assert listed[: len(registry.BUILTIN)] == list(registry.BUILTIN) and plugins == sorted(plugins)
    assert {"importfails", "raising", "notabackend", "baddtypes"} <= set(plugins)
    frame = diffcompare.compare("sin(x)", point={"x": 1.0}, backends=names, dtypes=["float64"])
    by = {name: frame[frame["backend"] == name] for name in names}
    assert (by["sympy"]["verdict"] == "agree").all() and (by["torch"]["verdict"] == "agree").all()
    assert "impostor_plugin" not in sys.modules  # the built-in torch ran
    assert by["torch"]["library_version"].str.startswith("torch ").all()
    expected = {
        "importfails": "cannot import no_such_module_for_diffcompare",
        "raising": "failed to load broken_plugin:Raising: RuntimeError: no licence server",
        "notabackend": "broken_plugin:NotABackend is not a backend: it has no name, method, description, library",
    }
    for name, message in expected.items():
        assert (by[name]["verdict"] == "skipped").all() and len(by[name]) == 1, name
        assert by[name]["message"].str.startswith(message).all(), by[name]["message"].tolist()
        assert (by[name]["library_version"] == "").all()
        assert (by[name]["diffcompare_version"] == diffcompare.__version__).all()
    assert (by["baddtypes"]["verdict"] == "error").all()
    assert (by["baddtypes"]["message"] == "ValueError: cannot tell").all()

    ok, note = registry.status("torch")
    assert ok and "torch = impostor_plugin:Impostor of broken-plugins 0.1 is not used" in note
    assert registry.status("importfails") == (
        False,
        "broken-plugins 0.1, entry point no_such_module_for_diffcompare:Backend; missing no_such_module_for_diffcompare",
    )
    assert registry.status("raising") == (True, "broken-plugins 0.1, entry point broken_plugin:Raising")


def test_an_unknown_method_is_an_error_not_the_exact_rule():
    """A method the judge does not know ("symbolic", a typo) must not be judged as exact."""
    from diffcompare.backends import BaseBackend, Gradient, Method
    from diffcompare.running.cells import problem_blocks
    from diffcompare.running.columns import blocks_to_frame
    from diffcompare.spec.problem import build_problem

    class Guessing(BaseBackend):
        name = "guessing"
        method = "symbolic"

        def gradient(self, problem, dtype):
            return Gradient({"x": problem.point["x"] * 0 + 0.5403023058681398})

    class Spelled(Guessing):
        method = "complex-step"  # a value of the enum, written as text: fine, judged as exact

    problem = build_problem({"function": "sin(x)", "point": {"x": 1.0}}, "<test>", "sin")
    frame = blocks_to_frame(problem_blocks(problem, {"guessing": Guessing(), "spelled": Spelled()}, ["float64"]))
    guessing, spelled = frame[frame["backend"] == "guessing"], frame[frame["backend"] == "spelled"]
    assert (guessing["verdict"] == "error").all(), guessing[["verdict", "message"]]
    assert guessing["message"].str.contains("method 'symbolic' is not one of exact, complex-step").all()
    assert (spelled["method"] == Method.COMPLEX_STEP.value).all() and (spelled["verdict"] == "agree").all()


@pytest.mark.slow
def test_listing_backends_imports_none_of_them(tmp_path):
    code = (
        "import sys\n"
        "from diffcompare.cli import main\n"
        "main(['backends'])\n"
        "loaded = {'torch', 'jax', 'broken_plugin', 'impostor_plugin'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    result = python("-c", code, paths=[fake_distribution(tmp_path)])
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert list(lines)[: len(registry.BUILTIN)] == list(registry.BUILTIN)
    assert "impostor_plugin:Impostor of broken-plugins 0.1 is not used" in lines["torch"]
    assert re.match(r"importfails +unavailable +broken-plugins 0.1, .*; missing no_such_module", lines["importfails"])


@pytest.mark.slow
def test_rows_carry_the_versions_in_results_csv_also_when_skipped_or_dead(tmp_path):
    (tmp_path / "problems").mkdir()
    write(tmp_path / "problems", "p.yaml", "function: sin(x**2) * y\npoint: {x: 4.0, y: 2.0}\n")
    out = tmp_path / "out"
    result = python(
        *("-m", "diffcompare", tmp_path / "problems", "--out", out, "--jobs", "1", "--timeout", "60"),
        *("--backends", "sympy,chainrule,exiter,raising"),
        paths=[ROOT / "tests", fake_distribution(tmp_path / "plugins")],
        DIFFCOMPARE_BACKENDS="exiter=misbehaving:Exiter",
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out / "results.csv", keep_default_na=False, dtype=str)
    assert list(frame.columns[-6:-3]) == ["diffcompare_version", "library_version", "python_version"]
    assert list(frame.columns[-3:]) == ["operator", "mode", "threads"]  # newer columns follow the older ones
    assert set(frame["operator"]) == {"gradient"}
    assert (frame["diffcompare_version"] == diffcompare.__version__).all()
    assert (frame["python_version"] == platform.python_version()).all()
    library = frame.groupby("backend")["library_version"].agg(set).to_dict()
    assert library == {
        "sympy": {f"sympy {metadata.version('sympy')}"},
        "chainrule": {f"numpy {metadata.version('numpy')}"},
        "exiter": {""},  # its worker died: the parent never loaded it
        "raising": {""},
    }
    assert frame.loc[frame["backend"] == "exiter", "message"].str.contains("process died").all()
    assert frame.loc[frame["backend"] == "raising", "message"].str.contains("no licence server").all()


def test_the_guide_holds_the_example_package_verbatim():
    guide = (ROOT / "docs" / "extending.md").read_text()
    blocks = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", guide, flags=re.S)
    assert {path for path, _ in blocks} == {
        f"examples/diffcompare-autograd-example/{name}"
        for name in ("pyproject.toml", "diffcompare_autograd_example.py", "test_diffcompare_autograd_example.py")
    }
    for path, body in blocks:
        assert body == (ROOT / path).read_text(), f"docs/extending.md's copy of {path} differs from the file"


# --- examples/diffcompare-autograd-example, installed as a package of its own -------------


@pytest.fixture(scope="module")
def autograd_package(tmp_path_factory):
    """The example installed into a folder of its own (the environment other tests use is
    not touched), built from a copy so that no build files land in the source tree. No
    network: the build uses this environment's setuptools."""
    pytest.importorskip("autograd", reason="pip install -e '.[test]'")
    pytest.importorskip("scipy")
    base = tmp_path_factory.mktemp("autograd")
    source = shutil.copytree(EXAMPLE, base / "source", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = base / "site"
    result = python(
        *("-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-index"),
        *("--no-build-isolation", "--target", target, source),
    )
    assert result.returncode == 0, result.stderr
    return source, target


def seed_problem_files() -> list[str]:
    """The problems from the seed notebooks (their `source:` names one), not the hard cases."""
    files = []
    for path in sorted(PROBLEMS.glob("*.yaml")):
        found, _ = load_file(path)
        if any(p.source.startswith("seeds/") for p in found):
            files.append(str(path.relative_to(ROOT)))
    return files


@pytest.fixture(scope="module")
def autograd_run(autograd_package, tmp_path_factory):
    _, target = autograd_package
    out = tmp_path_factory.mktemp("autograd-report")
    result = python("-m", "diffcompare", *seed_problem_files(), "--out", out, paths=[target])
    assert result.returncode == 0, result.stderr[-3000:]
    return pd.read_csv(out / "results.csv", keep_default_na=False, dtype={"index": str})


@pytest.mark.slow
def test_the_example_is_listed_from_its_own_package_beside_the_builtin(autograd_package):
    _, target = autograd_package
    result = python("-m", "diffcompare", "backends", paths=[target])
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert list(lines)[-1] == PLUGIN  # after the built-ins
    assert re.match(
        r"autograd_example +available +diffcompare-autograd-example 0\.1\.0, "
        r"entry point diffcompare_autograd_example:AutogradExampleBackend$",
        lines[PLUGIN],
    )
    assert re.match(r"autograd +available", lines["autograd"]) and "not used" not in lines["autograd"]
    # the package is nowhere but in its own folder
    plain = python("-m", "diffcompare", "backends")
    assert PLUGIN not in plain.stdout and re.search(r"^autograd +available", plain.stdout, flags=re.M)


@pytest.mark.slow
def test_the_example_s_rows_stand_beside_every_other_backend_on_the_seed_problems(autograd_run):
    frame = autograd_run
    assert set(registry.BUILTIN) <= set(frame["backend"])
    for problem, rows in frame.groupby("problem", sort=False):
        assert list(pd.unique(rows["backend"]))[-1] == PLUGIN, problem  # after the built-ins
    key = ["problem", "dtype", "variable", "index"]
    autograd = frame[frame["backend"] == PLUGIN].set_index(key)
    # the built-in autograd gives its rows too, and the same gradients: the plug-in's code is its gradient()
    builtin = frame[frame["backend"] == "autograd"].set_index(key)
    assert sorted(builtin.index) == sorted(autograd.index)
    assert (builtin.loc[autograd.index, "value"] == autograd["value"]).all()
    assert (builtin.loc[autograd.index, "verdict"] == autograd["verdict"]).all()
    torch = frame[frame["backend"] == "torch"].set_index(key)
    assert len(autograd) > 0 and sorted(autograd.index) == sorted(torch.index)
    assert (autograd["library_version"] == f"autograd {metadata.version('autograd')}").all()
    assert not autograd["message"].str.contains("autograd returned").any()  # float32 stays float32
    for dtype in ("float32", "float64"):
        agreed = torch[(torch["verdict"] == "agree") & (torch.index.get_level_values("dtype") == dtype)].index
        assert len(agreed) > 20
        assert (autograd.loc[agreed, "verdict"] == "agree").all(), autograd.loc[agreed, ["verdict", "message"]]
    agreed64 = torch[(torch["verdict"] == "agree") & (torch.index.get_level_values("dtype") == "float64")].index
    ours, theirs = autograd.loc[agreed64, "value"].astype(float), torch.loc[agreed64, "value"].astype(float)
    assert ((ours - theirs).abs() <= 1e-13 * theirs.abs()).all()


@pytest.mark.slow
def test_the_example_through_every_primitive(autograd_package, monkeypatch):
    """In-process this time, still found through the installed entry point."""
    from construct_cases import CASES, through

    monkeypatch.syspath_prepend(str(autograd_package[1]))
    frame = through([PLUGIN])
    assert set(frame["problem"]) == set(CASES) and set(frame["dtype"]) == {"float32", "float64"}
    skipped = frame[frame["verdict"] == "skipped"]
    assert set(skipped["problem"]) == {"cbrt"} and skipped["message"].str.contains("has no VJP").all()
    wrong = frame[~frame["verdict"].isin(["agree", "skipped"])]
    # autograd's rule for prod divides the product by each element: 0/0 at the zero
    assert set(zip(wrong["problem"], wrong["index"])) == {("prod-with-a-zero", "0")}
    assert wrong["message"].str.startswith("non-finite value").all()
    assert frame.loc[(frame["dtype"] == "float64") & (frame["verdict"] == "agree"), "rel_error"].max() < 1e-13


@pytest.mark.slow
def test_the_example_s_own_tests_pass_once_installed(autograd_package):
    source, target = autograd_package
    result = python(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "test_diffcompare_autograd_example.py",
        paths=[target],
        cwd=source,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "3 passed" in result.stdout
