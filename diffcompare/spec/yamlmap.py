"""Where each key of a problem file is: line numbers for error messages, and
keys written twice (which PyYAML would silently collapse to the last one).

The node tree is the one diffcompare.spec.safeyaml composes (with the safe loader
and its limits): nodes carry their positions, and the same tree is then constructed
into the document's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml


@dataclass
class KeyMap:
    lines: dict[str, int] = field(default_factory=dict)  # "point.x" -> 1-based line of the key
    repeated: list[tuple[str, int, int]] = field(default_factory=list)  # (path, first line, repeat line)

    def line_of(self, path: str) -> int | None:
        """The line of path, or of its nearest enclosing key that the file has."""
        parts = path.split(".") if path else []
        while parts:
            line = self.lines.get(".".join(parts))
            if line is not None:
                return line
            parts.pop()
        return None


def _walk(node, prefix: str, keys: KeyMap, depth: int = 0) -> None:
    if depth > 50 or not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        path = f"{prefix}.{key_node.value}" if prefix else key_node.value
        line = key_node.start_mark.line + 1
        if path in keys.lines:
            keys.repeated.append((path, keys.lines[path], line))
        else:
            keys.lines[path] = line
        _walk(value_node, path, keys, depth + 1)


def key_map(node) -> KeyMap:
    """The key lines of one document's node tree (diffcompare.spec.safeyaml.documents)."""
    keys = KeyMap()
    _walk(node, "", keys)
    return keys
