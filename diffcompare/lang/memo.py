"""Bounded memos: what a process keeps between problems, the least recently used forgotten first.

Kept maps a key to a value built once (a backend's compiled program under the structure key of
the function, lang/structure.py; SymPy's forms). PerObject keeps a figure per object (a
problem) and key, checking through a weak reference that the object is the one it was measured
for: an object that is gone, or another at its address, is measured afresh, and nothing keeps
a problem alive. Both are thread-safe (the report's typesetting thread shares SymPy's forms).
They live in the lowest layer so that the backends, the exact side and the running layer keep
what they build the same way. A memo pickles as an empty one of its size (what it holds is
its process's own).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class Kept:
    """At most `size` values by key, the least recently used forgotten first."""

    def __init__(self, size: int):
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value kept under key (now the most recently used), or default."""
        with self._lock:
            if key not in self._values:
                return default
            self._values.move_to_end(key)
            return self._values[key]

    def put(self, key: Hashable, value: Any) -> Any:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def keep(self, key: Hashable, build: Callable[[], Any]) -> tuple[Any, bool]:
        """(the value kept under key, True), or (build(), False), now kept under key. A build
        that raises keeps nothing. build runs outside the lock: two threads asking at once may
        both build, and the later one is kept."""
        missing = object()
        found = self.get(key, missing)
        if found is not missing:
            return found, True
        return self.put(key, build()), False

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)

    def __getstate__(self):  # what a memo holds is its process's: it crosses into a worker empty
        return {"size": self.size}

    def __setstate__(self, state):
        self.__init__(state["size"])

    def __contains__(self, key: Hashable) -> bool:
        return key in self._values


class PerObject:
    """A figure measured once per object (the very object, not an equal one) and key."""

    def __init__(self, size: int):
        self._kept = Kept(size)

    @property
    def size(self) -> int:
        return self._kept.size

    def get(self, obj: object, key: Hashable, measure: Callable[[], Any]) -> Any:
        """measure()'s value for (obj, key), measured once while obj lives and stays kept."""
        slot = (id(obj), key)
        found = self._kept.get(slot)
        if found is not None and found[0]() is obj:
            return found[1]
        value = measure()
        self._kept.put(slot, (weakref.ref(obj), value))
        return value

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
