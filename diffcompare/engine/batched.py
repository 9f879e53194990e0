"""The IR in NumPy over many points at once, for the finite-difference backends.

Differences need f at 2n perturbed points. Instead of a Python loop over them,
the perturbed variable carries a leading batch axis: X[b] is the point with one
element moved. Every node that depends on that variable carries the axis too;
elementwise primitives and @ broadcast over it once their operands are aligned,
reductions reduce everything but it, indexing leaves it in front. Nodes
that do not depend on the variable are computed once, without it.
"""

from __future__ import annotations

import numpy as np

from diffcompare.lang.ir import Node, axis_keyword, topo_order
from diffcompare.lang.primitives import PRIMITIVES


def _align(value, batched: bool, rank: int):
    """A batched operand (B, *s) as (B, 1, …, 1, *s) so it broadcasts against rank-`rank` operands."""
    if not batched:
        return value
    return value.reshape(value.shape[:1] + (1,) * (rank - (value.ndim - 1)) + value.shape[1:])


def _matmul(a, b, a_batched: bool, b_batched: bool, a_shape, b_shape):
    """a @ b where either operand may carry the batch axis in front.

    np.matmul would read that axis as one of a 1-D operand's dimensions ((B, k) is a
    B×k matrix to it, and (B, k) @ (B, k, m) a (B, B, m) stack), or line it up with
    the wrong stack axis of the other operand. So 1-D operands become the matrices
    matmul itself makes of them ((k,) as 1×k on the left, k×1 on the right), a
    batched operand is aligned like an elementwise one (its axis in front of every
    stack axis of the result), and the added dimensions are taken off again."""
    a_vector, b_vector = len(a_shape) == 1, len(b_shape) == 1
    if a_vector:
        a = a[..., None, :]
    if b_vector:
        b = b[..., :, None]
    rank = max(len(a_shape) + a_vector, len(b_shape) + b_vector)
    out = np.matmul(_align(a, a_batched, rank), _align(b, b_batched, rank))
    if b_vector:
        out = out[..., 0]
    if a_vector:
        out = out[..., 0] if b_vector else out[..., 0, :]
    return out


class BatchedProgram:
    """f of the IR with variable `var` batched (or several: a tuple of names, each given its own
    batch of the same length), in one dtype, with the row's forward rules."""

    def __init__(self, root: Node, var: str | tuple[str, ...], forward: dict, constant):
        self.order = topo_order(root)
        self.var = var
        moved = {var} if isinstance(var, str) else set(var)
        self.forward = forward
        self.constant = constant
        slot = {id(n): i for i, n in enumerate(self.order)}
        self.args = [tuple(slot[id(a)] for a in n.args) for n in self.order]
        self.batched = [False] * len(self.order)
        for i, node in enumerate(self.order):
            if node.op == "var":
                self.batched[i] = node.attr in moved
            elif not node.is_constant:
                self.batched[i] = any(self.batched[j] for j in self.args[i])

    def __call__(self, inputs: dict[str, np.ndarray], batch: np.ndarray) -> np.ndarray:
        """f at each row of batch (B, *shape of var); returns (B, *shape of f)."""
        return self.output(self.values(inputs, batch), batch.shape[0])

    def values(self, inputs: dict[str, np.ndarray], batch) -> list:
        """Every node's value, in self.order: (B, *shape) where batched, else its one value.
        batch: (B, *shape of var), or {var: (B, *its shape)} for several batched variables."""
        values: list = [None] * len(self.order)
        with np.errstate(all="ignore"):
            for i, node in enumerate(self.order):
                if node.is_constant:
                    values[i] = self.constant(node.const_value)
                elif node.op == "var":
                    if not self.batched[i]:
                        values[i] = inputs[node.attr]
                    else:
                        values[i] = batch[node.attr] if isinstance(batch, dict) else batch
                else:
                    values[i] = self._step(i, [values[j] for j in self.args[i]])
        return values

    def _step(self, i: int, args: list):
        """Node i's value from its operands' (batched where self.batched says)."""
        node = self.order[i]
        flags = [self.batched[j] for j in self.args[i]]
        if not self.batched[i]:
            return node_value(node, args, self.forward)
        if node.op == "index":
            return args[0][(slice(None), *node.attr)]
        if PRIMITIVES[node.op].kind == "array":  # its own rule, the batch axis in front
            return PRIMITIVES[node.op].batched(args, flags, **axis_keyword(node))
        if PRIMITIVES[node.op].kind == "reduction":
            return self._reduce(node, args, flags)
        if node.op == "matmul":
            a, b = node.args
            return _matmul(args[0], args[1], flags[0], flags[1], a.shape, b.shape)
        rank = len(node.shape)
        return self.forward[node.op](*[_align(v, f, rank) for v, f in zip(args, flags)])

    def _rounding_scale(self, i: int, values: list) -> np.ndarray:
        """Primitive.rounding_scale of node i at every row: |v|, a sum's partial sums (the step
        on its operands' magnitudes, batched as the step is), or its declared forward_error."""
        node, value = self.order[i], values[i]
        prim = PRIMITIVES.get(node.op)
        if prim is not None and prim.partial_sums:
            return np.abs(np.asarray(self._step(i, [np.abs(values[j]) for j in self.args[i]]), np.float64))
        if prim is not None and prim.forward_error is not None:
            rank = len(node.shape)
            args = [_align(values[j], self.batched[j], rank) for j in self.args[i]]
            return np.abs(np.asarray(prim.forward_error(np.asarray(value, np.float64), *args), np.float64))
        return np.abs(np.asarray(value, dtype=np.float64))

    def output(self, values: list, rows: int) -> np.ndarray:
        out = values[-1]
        return out if self.batched[-1] else np.broadcast_to(out, (rows, *np.shape(out)))

    def rounding_sums(self, values: list, weights: dict[int, np.ndarray], rows: int) -> np.ndarray:
        """|f| + Σ|v|·w over the steps and their elements, for each row; weights: id(node) ->
        |v̄|, its adjoint at the unperturbed point. ε times this is the first-order rounding
        error ε·Σ|v·v̄| of f (engine.rounding) at each perturbed point: v is taken where f was
        evaluated, since a step that is 0 at the point (x / y at x = 0) is not 0 at x ± h; v̄
        moves too, but that matters only at second order."""
        with np.errstate(all="ignore"):
            total = _finite(np.abs(self.output(values, rows).astype(np.float64)))
            for i, node in enumerate(self.order):
                w = weights.get(id(node))
                if w is None:
                    continue
                terms = _finite(self._rounding_scale(i, values) * w)
                total = total + (terms.reshape(rows, -1).sum(axis=1) if self.batched[i] else terms.sum())
        return total

    def seeded_rounding_sums(self, values: list, seeded: Seeded, rows: int) -> np.ndarray:
        """rounding_sums for a function with several outputs, per seed: (rows, S). Seed s weighs
        output i of f by |seeds[s, i]| and step v by |v̄ₛ|, its adjoint in the reverse pass
        seeded with seeds[s] (e_i gives output i's own rounding; u gives <u, f>'s): a rounding
        of v reaches <seed, f> through v̄ₛ, so ε·Σ|v·v̄ₛ| is its first-order error there."""
        with np.errstate(all="ignore"):
            out = _finite(np.abs(self.output(values, rows).astype(np.float64))).reshape(rows, -1)
            total = out @ seeded.outputs.T
            for i in range(len(self.order)):
                w = seeded.steps.get(id(self.order[i]))
                if w is None:
                    continue
                v = _finite(self._rounding_scale(i, values))
                total = total + (v.reshape(rows, -1) if self.batched[i] else v.reshape(1, -1)) @ w.T
        return total

    def _reduce(self, node, args, flags):
        """The primitive's row-wise form (Primitive.rows): one operand as (B, n); two
        (dot's vectors) with a leading axis, of length 1 where not batched."""
        if len(args) > 1:
            rows = PRIMITIVES[node.op].rows
            return rows(*(v if f else v[None] for v, f in zip(args, flags)))
        # One operand: the forward rule (real or complex) along its axes, each shifted by the
        # batch axis in front: sum(A, axis=1) of (B, m, n) is along axis 2; sum(A) along 1 and 2.
        x = args[0]
        axes = range(x.ndim - 1) if node.attr is None else node.attr
        return self.forward[node.op](x, axis=tuple(a + 1 for a in axes))


class Seeded:
    """The weights of seeded_rounding_sums: outputs (S, size of f), |seeds|; steps: id(node) ->
    (S, size of node), |v̄| of each seed's reverse pass at the unperturbed point."""

    def __init__(self, outputs: np.ndarray, steps: dict[int, np.ndarray]):
        self.outputs, self.steps = outputs, steps


def _finite(terms: np.ndarray) -> np.ndarray:
    # Where the chain rule breaks (sqrt'(0) = inf) or where() drops a NaN branch, the
    # tape says nothing of f's rounding (as in engine.rounding).
    return np.where(np.isfinite(terms), terms, 0.0)


def node_value(node: Node, args: list, forward: dict):
    if node.op == "index":
        return args[0][node.attr]
    return forward[node.op](*args, **axis_keyword(node))


CHUNK_ELEMENTS = 4_000_000  # array elements one batched evaluation may hold per node


class AllElements:
    """f with each element of a variable replaced in turn, all at once:
    at(var, new)[i] is f with element i of var set to new[i]."""

    def __init__(self, root: Node, inputs: dict[str, np.ndarray], forward: dict, constant):
        self.root, self.inputs, self.forward, self.constant = root, inputs, forward, constant
        self.largest = max(int(np.prod(n.shape)) for n in topo_order(root))
        self._programs: dict[str, BatchedProgram] = {}

    def at(self, var: str, new: np.ndarray) -> np.ndarray:
        return self._evaluate(var, new, None)[0]

    def at_with_rounding(self, var: str, new: np.ndarray, weights) -> tuple[np.ndarray, np.ndarray]:
        """at(var, new), and BatchedProgram.rounding_sums at each of those points (weights: a
        dict id(node) -> |v̄|), or its seeded_rounding_sums, (B, S) (weights: a Seeded)."""
        return self._evaluate(var, new, weights)

    def _evaluate(self, var: str, new: np.ndarray, weights) -> tuple[np.ndarray, ...]:
        if var not in self._programs:
            self._programs[var] = BatchedProgram(self.root, var, self.forward, self.constant)
        program = self._programs[var]
        base = self.inputs[var]
        new = np.asarray(new).ravel()
        dtype = np.result_type(base, new)
        chunk = max(1, CHUNK_ELEMENTS // max(self.largest, base.size))
        out = []
        for start in range(0, new.size, chunk):
            positions = np.arange(start, min(start + chunk, new.size))
            batch = np.repeat(base.reshape(1, -1), positions.size, axis=0).astype(dtype)
            batch[np.arange(positions.size), positions] = new[positions]
            values = program.values(self.inputs, batch.reshape((positions.size,) + base.shape))
            found = [program.output(values, positions.size)]
            if isinstance(weights, Seeded):
                found.append(program.seeded_rounding_sums(values, weights, positions.size))
            elif weights is not None:
                found.append(program.rounding_sums(values, weights, positions.size))
            out.append(found)
        return tuple(np.concatenate(parts) for parts in zip(*out))


class Points:
    """f at any points: each of the variables in `moved` given per point, (B, *its shape), the
    others held at inputs. For differences that move several elements or variables at once
    (a Hessian's cross entries, a step along a direction)."""

    def __init__(self, root: Node, inputs: dict[str, np.ndarray], forward: dict, constant):
        self.root, self.inputs, self.forward, self.constant = root, inputs, forward, constant
        self.largest = max(int(np.prod(n.shape)) for n in topo_order(root))
        self._programs: dict[tuple[str, ...], BatchedProgram] = {}

    def at(self, moved: dict[str, np.ndarray], seeded: Seeded | None = None) -> tuple[np.ndarray, ...]:
        """(f at each point, (B, *shape of f)), and with `seeded` its seeded_rounding_sums (B, S)."""
        names = tuple(sorted(moved))
        if names not in self._programs:
            self._programs[names] = BatchedProgram(self.root, names, self.forward, self.constant)
        program = self._programs[names]
        rows = next(iter(moved.values())).shape[0]
        width = max([self.largest] + [int(np.prod(v.shape[1:])) for v in moved.values()])
        chunk = max(1, CHUNK_ELEMENTS // width)
        out = []
        for start in range(0, rows, chunk):
            part = {k: v[start : start + chunk] for k, v in moved.items()}
            size = next(iter(part.values())).shape[0]
            values = program.values(self.inputs, part)
            found = [program.output(values, size)]
            if seeded is not None:
                found.append(program.seeded_rounding_sums(values, seeded, size))
            out.append(found)
        return tuple(np.concatenate(parts) for parts in zip(*out))
