"""YAML read with `yaml.SafeLoader`'s semantics and limits checked while it is read.

`LimitedLoader` is a SafeLoader (no tag can construct anything but plain data) whose
composer counts every node as it is composed, an alias as the whole subtree it stands
for, so that a file of a few hundred bytes that expands to billions of elements (an
"alias bomb") is refused before anything is built; it refuses nesting deeper than the
depth limit, an alias to a node that contains it, and integers longer than the digits
limit. Documents are composed one at a time and constructed each on its own, so a
value that cannot be constructed (`!!float abc`) costs only its document.

Two YAML 1.1 readings that surprise are turned off: `1:30` is not the base-60 number
90 but the text '1:30' (as YAML 1.2 reads it), which a number key then refuses.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from diffcompare.lang.limits import LIMITS
from diffcompare.spec.generators import SEXAGESIMAL


class LimitError(yaml.YAMLError):
    """A limit of diffcompare.lang.limits passed while reading YAML; names the line."""

    def __init__(self, message: str, mark=None):
        self.message, self.problem_mark = message, mark
        super().__init__(message)


class _Anchors(dict):
    """The composer's anchors; it registers a collection's anchor before composing its
    children, so a node found here but not yet finished is still open."""

    def __init__(self, open_nodes: set[int]):
        super().__init__()
        self.open_nodes = open_nodes

    def __setitem__(self, key, node):
        self.open_nodes.add(id(node))
        super().__setitem__(key, node)


class LimitedLoader(yaml.SafeLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self._reset_counts()

    def _reset_counts(self) -> None:
        self._expanded = 0  # nodes of the document as a tree, aliases expanded
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size
        self._open: set[int] = set()  # anchored nodes still being composed
        self._depth = 0

    def _count(self, n: int, mark) -> None:
        self._expanded += n
        if self._expanded > LIMITS["yaml_nodes"]:
            raise LimitError(
                f"the document has more than {LIMITS['yaml_nodes']} YAML values once its aliases are "
                f"expanded; the limit is {LIMITS['yaml_nodes']} (--max-yaml-nodes)",
                mark,
            )

    def compose_document(self):
        self._reset_counts()
        self.anchors = _Anchors(self._open)
        return super().compose_document()

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) in self._open:
                raise LimitError(f"the alias *{event.anchor} refers to a node that contains it", event.start_mark)
            self._count(self._sizes.get(id(node), 1), event.start_mark)
            return node
        self._depth += 1
        if self._depth > LIMITS["depth"]:
            raise LimitError(
                f"nested too deeply: more than {LIMITS['depth']} levels, the limit (--max-depth)", event.start_mark
            )
        before = self._expanded
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        if getattr(event, "anchor", None) is not None:
            self._sizes[id(node)] = self._expanded - before
            self._open.discard(id(node))
        self._depth -= 1
        return node

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except RecursionError:
            raise
        except Exception as exc:  # !!float abc, !!bool abc, !!timestamp abc …
            tag = node.tag.rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"'{node.value}' is not a valid !!{tag} ({type(exc).__name__})", node.start_mark
            ) from None


def _construct_int(loader: LimitedLoader, node):
    text = str(node.value)
    digits = sum(c.isdigit() for c in text)
    if digits > LIMITS["digits"]:
        raise LimitError(
            f"an integer of {digits} digits; the limit is {LIMITS['digits']} (--max-digits)", node.start_mark
        )
    if SEXAGESIMAL.match(text.strip()):
        return text  # YAML 1.1's base 60: kept as the text it is in YAML 1.2
    return yaml.SafeLoader.construct_yaml_int(loader, node)


class WrittenFloat(float):
    """A float from the file that keeps the text it was written as: `expected:` values are judged
    at the precision written, and 480.00000000000000 (17 digits) is not 480.0 (4 digits),
    which repr would make of it."""

    __slots__ = ("text",)

    def __new__(cls, value: float, text: str):
        number = super().__new__(cls, value)
        number.text = text
        return number

    def __reduce__(self):  # pickled with its text, to worker processes
        return (WrittenFloat, (float(self), self.text))


def _construct_float(loader: LimitedLoader, node):
    text = str(node.value)
    if len(text) > LIMITS["digits"]:
        raise LimitError(
            f"a number written with {len(text)} characters; the limit is {LIMITS['digits']} (--max-digits)",
            node.start_mark,
        )
    if SEXAGESIMAL.match(text.strip()):
        return text
    number = yaml.SafeLoader.construct_yaml_float(loader, node)
    return WrittenFloat(number, text) if math.isfinite(number) else number


LimitedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
LimitedLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


@dataclass
class Document:
    """One document: its node tree (positions, for key lines) and its value, or why it failed."""

    node: Any = None
    value: Any = None
    error: yaml.YAMLError | None = None


def documents(text: str) -> Iterator[Document]:
    """Each document of text in turn. A document that does not construct yields its error and
    the next one is read; one that does not parse (or passes a limit while composed) ends the file."""
    loader = LimitedLoader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
            except RecursionError:
                yield Document(error=LimitError("nested too deeply"))
                return
            except yaml.YAMLError as exc:
                yield Document(error=exc)
                return
            try:
                yield Document(node, loader.construct_document(node))
            except (yaml.YAMLError, RecursionError) as exc:
                loader.constructed_objects, loader.recursive_objects = {}, {}
                loader.state_generators, loader.deep_construct = [], False
                error = exc if isinstance(exc, yaml.YAMLError) else LimitError("nested too deeply")
                yield Document(node, error=error)
    finally:
        loader.dispose()
