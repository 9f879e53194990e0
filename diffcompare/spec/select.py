"""Choosing problems by name and tag: the command line's `-k` and `--tags`, and the
pytest plugin's, share this one rule.

- A pattern is a case-insensitive substring of the problem's name (a sweep member's
  name includes its parameters, as `rosenbrock[n=1000]`). A pattern that starts with
  `not ` excludes the problems whose names contain the rest.
- Several patterns: a problem is kept when it contains at least one of the plain
  patterns (or there are none) and none of the `not` ones.
- Tags: a problem is kept when it carries at least one of them (case-insensitive).
- Patterns and tags together: both must keep it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

P = TypeVar("P")  # a Problem, or anything with .name and .tags

NOT = "not "


def _folded(text: str) -> str:
    return str(text).casefold()


def split_patterns(patterns: Iterable[str]) -> tuple[list[str], list[str]]:
    """(wanted, excluded) substrings, case-folded; empty patterns are ignored."""
    wanted: list[str] = []
    excluded: list[str] = []
    for pattern in patterns or ():
        text = str(pattern).strip()
        if text[: len(NOT)].casefold() == NOT:
            rest = text[len(NOT) :].strip()
            if rest:
                excluded.append(_folded(rest))
        elif text:
            wanted.append(_folded(text))
    return wanted, excluded


def name_selected(name: str, patterns: Iterable[str]) -> bool:
    """Whether a name passes the patterns (the rule of the module's docstring)."""
    wanted, excluded = split_patterns(patterns)
    folded = _folded(name)
    if wanted and not any(w in folded for w in wanted):
        return False
    return not any(x in folded for x in excluded)


def tags_selected(tags: Iterable[str], wanted: Iterable[str]) -> bool:
    """Whether a problem's tags hold one of the wanted tags (no wanted tags: yes)."""
    wanted_set = {_folded(t).strip() for t in wanted or () if str(t).strip()}
    return not wanted_set or bool(wanted_set & {_folded(t).strip() for t in tags or ()})


def select_problems(problems: Sequence[P], patterns: Iterable[str] = (), tags: Iterable[str] = ()) -> list[P]:
    """The problems that pass the name patterns and the tags, in their given order."""
    patterns, tags = list(patterns or ()), list(tags or ())
    return [p for p in problems if name_selected(p.name, patterns) and tags_selected(getattr(p, "tags", ()), tags)]
