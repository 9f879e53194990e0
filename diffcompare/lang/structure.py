"""What an expression computes, as one key: two IR graphs with the same key run the same
operations on the same constants, in the same shapes, whatever their text says.

A worker that runs many problems keeps what it built for one (a compiled JAX program, a
SymPy derivative) under this key, so that the thousand members of a sweep that differ only
in their point build once. The key covers every field a backend reads (operation, its
attribute, shape, folded constant, operands by position in the DAG), so two graphs that
share it are interchangeable for any backend; it leaves out the text and the `let` labels,
which only messages and the tape show.
"""

from __future__ import annotations

import hashlib

import numpy as np

from diffcompare.lang.ir import Node, topo_order


def _constant(value) -> bytes:
    if isinstance(value, np.ndarray):
        return b"a" + str(value.dtype).encode() + repr(value.shape).encode() + np.ascontiguousarray(value).tobytes()
    if isinstance(value, bool):  # before int: bool is an int in Python
        return b"b" + repr(value).encode()
    if isinstance(value, int):  # an int constant stays an int in every table (x ** 2 is not x ** 2.0)
        return b"i" + repr(value).encode()
    return b"f" + float(value).hex().encode()


def structure_key(root: Node) -> str:
    """A digest of the graph under root: operations, attributes, shapes, constants and the
    DAG's sharing (an operand is named by its position in topological order)."""
    digest = hashlib.sha256()
    slot: dict[int, int] = {}
    for i, node in enumerate(topo_order(root)):
        slot[id(node)] = i
        digest.update(node.op.encode())
        digest.update(repr(node.attr).encode())
        digest.update(repr(node.shape).encode())
        if node.const_value is not None:
            digest.update(_constant(node.const_value))
        digest.update(repr(tuple(slot[id(arg)] for arg in node.args)).encode())
        digest.update(b";")
    return digest.hexdigest()
