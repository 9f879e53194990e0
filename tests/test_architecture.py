"""The folder tree is the architecture: each subpackage is a layer, a layer imports
only the layers below it, and no module imports itself back through others.

Imports are read with `ast` from every module, those inside functions included, so
an import hidden in a function to dodge a circle is still an edge here. (Importing
a heavy library lazily, inside a function, is fine: those are not diffcompare's.)
"""

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import diffcompare

PACKAGE = Path(diffcompare.__file__).parent

# Lowest first. A module may import modules of its own layer or of a layer below.
LAYERS = ["version", "lang", "spec", "engine", "exact", "backends", "running", "views", "tools", "surface"]
SURFACE = {"diffcompare", "diffcompare.__main__", "diffcompare.api", "diffcompare.cli", "diffcompare.pytest_plugin"}


def module_names() -> list[str]:
    names = ["diffcompare"]
    names += [m.name for m in pkgutil.walk_packages(diffcompare.__path__, "diffcompare.")]
    return sorted(names)


def module_path(name: str) -> Path:
    parts = name.split(".")[1:]
    folder = PACKAGE.joinpath(*parts)
    return folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")


def layer_of(name: str) -> str:
    if name in SURFACE:
        return "surface"
    return name.split(".")[1]


def imports_of(name: str, known: set[str]) -> set[str]:
    """The diffcompare modules that module `name` imports, anywhere in its body."""
    package = name if module_path(name).name == "__init__.py" else name.rsplit(".", 1)[0]
    found = imports_in(module_path(name).read_text(encoding="utf-8"), package, known)
    found.discard(name)
    return found


def imports_in(source: str, package: str, known: set[str]) -> set[str]:
    tree = ast.parse(source)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("diffcompare"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from .y import z
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("diffcompare"):
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {m for m in found if m in known}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = set(module_names())
    return {name: imports_of(name, known) for name in known}


def test_every_module_imports():
    for name in module_names():
        if name != "diffcompare.__main__":  # runs the CLI
            importlib.import_module(name)


def test_every_module_sits_in_a_layer():
    assert {layer_of(name) for name in module_names()} <= set(LAYERS)


def test_no_layer_imports_a_layer_above_it(graph):
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    upward = [
        f"{a} ({layer_of(a)}) imports {b} ({layer_of(b)})"
        for a, targets in graph.items()
        for b in targets
        if rank[layer_of(b)] > rank[layer_of(a)]
    ]
    assert not upward, "\n".join(sorted(upward))


def test_no_import_circle(graph):
    """A depth-first search for a back edge; the circle found is printed whole."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            circle = visit(name)
            assert circle is None, " -> ".join(circle)


def test_the_graph_sees_imports_inside_functions_and_relative_ones():
    """The checks above would be blind if they read only module-level, absolute imports."""
    known = set(module_names())
    source = "def f():\n    from diffcompare.views import summary\n    from ..running import cells\n"
    found = imports_in(source, "diffcompare.lang", known)
    assert found == {"diffcompare.views.summary", "diffcompare.running.cells"}
