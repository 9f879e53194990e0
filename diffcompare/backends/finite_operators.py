"""The operators past the gradient by differences of f, for `central` and `richardson`.

OperatorDifferences.at(factor) gives every result of the problem's operator (spec.operators)
with the steps factor·max(1, |xᵢ|) per element, and the rounding error each entry can carry:
δf/(distance) for first differences, δf/(distance²) for second ones, with δf the chain-rule
engine's ε·Σ|v·v̄| at each point evaluated (never less than at x itself), as the gradient's
(FiniteDifferences.central_with_rounding). The backends add a truncation estimate from a
second step (central) or extrapolate over a ladder of them (richardson).

- jacobian: per element j of a variable, (f(x + hⱼeⱼ) - f(x - hⱼeⱼ))/(x₊ - x₋), all of f at
  once: one column per pair of points. Each output's rounding is its own (a reverse pass
  seeded with eᵢ), since one row of f can cancel where another does not.
- vjp: the difference of the scalar <u, f>, per element: the same 2n points as the Jacobian,
  but its rounding is that of <u, f> itself (the reverse pass seeded with u, which is exactly
  how a rounding anywhere reaches <u, f>), and its truncation is <u, f>'s, where uᵀ times the
  Jacobian's own bounds would add up |u|-weighted bounds of entries whose errors cancel.
- jvp: one central difference along v, (f(x + tv) - f(x - tv))/(2t). x ± tv is rounded per
  element, so the points are x ± tw with w = (p₊ - p₋)/(2t), the direction actually taken,
  not v: a cancelling f (x - y at x = y = 1000) would see that rounding, ε·|x|/t, as an error
  far past its own rounding. So the difference along w is corrected by one along the
  remainder r = v - w (scaled to unit size and back): J·v = J·w + J·r.
- hessian, second_derivative: second differences of f, not differences of a difference-gradient:
  a cross entry is the exact rectangle (f₊₊ - f₊₋ - f₋₊ + f₋₋)/((x₊ - x₋)(y₊ - y₋)) of the
  points actually evaluated, a diagonal one the three-point (f(x+a) - 2f(x) + f(x-b)) with
  the distances a, b actually taken. Both are even in h, so Richardson's tableau applies,
  and both need f alone, as a finite-difference user would write them. The central step
  is ε^(1/4)·max(1, |x|), which balances truncation (∝ h²) against rounding (∝ ε/h²).
- hvp: the central difference in element j, taken at x ± tv and differenced along v:
  (Dⱼ(x + tv) - Dⱼ(x - tv))/(2t), 4n points; the direction is corrected as the jvp's is.
"""

from __future__ import annotations

import numpy as np

from diffcompare.backends import SkipCell
from diffcompare.backends.finite import FiniteDifferences

HESSIAN_MAX_SIZE = 100  # elements: a Hessian by differences takes f at ~2n² points


class OperatorDifferences:
    def __init__(self, fd: FiniteDifferences):
        self.fd, self.problem, self.dtype, self.eps = fd, fd.problem, fd.dtype, fd.eps
        self.wrt = list(fd.problem.wrt)
        self.x = {v: fd.inputs[v].ravel().astype(np.float64) for v in self.wrt}
        self.scale = {v: np.maximum(1.0, np.abs(self.x[v])) for v in self.wrt}
        self.out_shape = tuple(fd.problem.function.shape)
        self.m = int(np.prod(self.out_shape, dtype=np.int64))
        if fd.problem.operator in ("hessian", "second_derivative") and fd.problem.size > HESSIAN_MAX_SIZE:
            raise SkipCell(
                f"a Hessian by differences takes f at about 2n² points, n = {fd.problem.size} here: "
                f"past the cap of {HESSIAN_MAX_SIZE} elements"
            )

    def at(self, factor: float, rounding: bool) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """{result name: (value, rounding error or None)} with steps factor·max(1, |x|)."""
        operator = self.problem.operator
        if operator in ("jacobian", "vjp"):
            return self._first(factor, rounding, operator == "vjp")
        if operator == "jvp":
            value, error = self._corrected(self._along, factor, rounding)
            return {",".join(self.wrt): (value.reshape(self.out_shape), error)}
        if operator == "hvp":
            value, error = self._corrected(self._second_along, factor, rounding)
            return self._split(value, error)
        if operator in ("hessian", "second_derivative"):
            return self._hessian(factor, rounding)
        raise ValueError(f"no difference formula for operator {operator!r}")

    def steps(self, var: str, factor: float) -> np.ndarray:
        return (factor * self.scale[var]).astype(self.dtype)

    def _seeded(self, vjp: bool):
        if vjp:
            u = self.fd.inputs[self.problem.cotangent].astype(np.float64).ravel()
            return self.fd.seeded("cotangent", u[None])
        return self.fd.seeded("outputs", np.eye(self.m))

    def _delta(self, noise, sums) -> np.ndarray:
        """δf at each point: ε·sums there, never below the point's own estimate."""
        with np.errstate(all="ignore"):
            return np.maximum(noise, self.eps * sums)

    # --- first differences -------------------------------------------------------------

    def _first(self, factor: float, rounding: bool, vjp: bool):
        out = {}
        seeded, noise = self._seeded(vjp) if rounding else (None, None)
        u = self.fd.inputs[self.problem.cotangent].astype(np.float64).ravel() if vjp else None
        for var in self.wrt:
            n, shape = self.x[var].size, self.fd.inputs[var].shape
            up, down, taken = self.fd._points(var, self.steps(var, factor))
            found = [
                self.fd.every.at_with_rounding(var, p, seeded) if rounding else (self.fd.every.at(var, p),)
                for p in (up, down)
            ]
            f_up, f_down = (f[0].reshape(n, self.m).astype(np.float64) for f in found)
            with np.errstate(all="ignore"):
                if vjp:
                    value = ((f_up @ u - f_down @ u) / taken).reshape(shape)
                else:
                    value = ((f_up - f_down) / taken[:, None]).T.reshape(self.out_shape + shape)
                error = None
                if rounding:
                    error = (self._delta(noise, found[0][1]) + self._delta(noise, found[1][1])) / taken[:, None]
                    error = error[:, 0].reshape(shape) if vjp else error.T.reshape(self.out_shape + shape)
            out[var] = (value, error)
        return out

    def _direction_step(self, factor: float, d: dict[str, np.ndarray]) -> float:
        """factor·min over elements of max(1, |xₖ|)/|dₖ|: no element moves past its own step."""
        ratios = [self.scale[v][d[v] != 0] / np.abs(d[v][d[v] != 0]) for v in self.wrt]
        ratios = np.concatenate(ratios)
        return factor * float(ratios.min()) if ratios.size else factor

    def _ends(self, d: dict[str, np.ndarray], t: float):
        """p± = x ± t·d in the row's dtype, and the direction w actually taken."""
        with np.errstate(all="ignore"):
            plus = {v: (self.x[v] + t * d[v]).astype(self.dtype) for v in self.wrt}
            minus = {v: (self.x[v] - t * d[v]).astype(self.dtype) for v in self.wrt}
            taken = {v: (plus[v].astype(np.float64) - minus[v].astype(np.float64)) / (2 * t) for v in self.wrt}
        return plus, minus, taken

    def _corrected(self, along, factor: float, rounding: bool):
        """along(d, factor) corrected for the rounding of the points: the direction actually
        taken w, then the remainder v - w, scaled to unit size (its own direction error is
        then ε² of the whole, left out)."""
        v = {var: self.fd.inputs[self.problem.direction[var]].astype(np.float64).ravel() for var in self.wrt}
        value, error, w = along(v, factor, rounding)
        rest = {var: v[var] - w[var] for var in self.wrt}
        size = max(float(np.abs(r).max()) for r in rest.values())
        if size > 0 and np.isfinite(size):
            more, more_error, _ = along({var: r / size for var, r in rest.items()}, factor, rounding)
            value = value + size * more
            error = None if error is None else error + size * more_error
        return value, error

    def _along(self, d: dict[str, np.ndarray], factor: float, rounding: bool):
        """(f(p₊) - f(p₋))/(2t), its rounding, and the direction w taken."""
        t = self._direction_step(factor, d)
        plus, minus, taken = self._ends(d, t)
        moved = {v: np.stack([plus[v], minus[v]]).reshape((2, *self.fd.inputs[v].shape)) for v in self.wrt}
        seeded, noise = self._seeded(False) if rounding else (None, None)
        found = self.fd.points.at(moved, seeded)
        f = found[0].reshape(2, self.m).astype(np.float64)
        with np.errstate(all="ignore"):
            value = (f[0] - f[1]) / (2 * t)
            error = (self._delta(noise, found[1][0]) + self._delta(noise, found[1][1])) / (2 * t) if rounding else None
        return value, error, taken

    # --- second differences ------------------------------------------------------------

    def _split(self, flat: np.ndarray, error) -> dict:
        """One array over every wrt element, in wrt order, as results per variable."""
        out, start = {}, 0
        for var in self.wrt:
            n, shape = self.x[var].size, self.fd.inputs[var].shape
            part = slice(start, start + n)
            out[var] = (flat[part].reshape(shape), None if error is None else error[part].reshape(shape))
            start += n
        return out

    def _rows(self, var: str, base: np.ndarray, count: int) -> np.ndarray:
        """count copies of var's value base (flat, in the dtype), one per row."""
        return np.repeat(base.reshape(1, -1), count, axis=0).astype(self.dtype)

    def _evaluate(self, moved: dict[str, np.ndarray], rounding: bool):
        """f at the rows of moved (flat per variable), and δf at each (or None)."""
        shaped = {v: a.reshape((a.shape[0], *self.fd.inputs[v].shape)) for v, a in moved.items()}
        seeded, noise = self._seeded(False) if rounding else (None, None)
        found = self.fd.points.at(shaped, seeded)
        f = found[0].reshape(-1).astype(np.float64)
        return f, (self._delta(noise[0], found[1][:, 0]) if rounding else None)

    def _second_along(self, d: dict[str, np.ndarray], factor: float, rounding: bool):
        """(Dⱼ(p₊) - Dⱼ(p₋))/(2t) for every wrt element j, Dⱼ the central difference in j."""
        t = self._direction_step(factor, d)
        plus, minus, taken_direction = self._ends(d, t)
        values, errors = [], []
        for var in self.wrt:
            n = self.x[var].size
            h = self.steps(var, factor)
            moved = {
                v: np.concatenate([self._rows(v, plus[v], 2 * n), self._rows(v, minus[v], 2 * n)]) for v in self.wrt
            }
            distances = []
            for k, end in enumerate((plus[var], minus[var])):
                up, down = (end + h).astype(self.dtype), (end - h).astype(self.dtype)
                moved[var][2 * k * n + np.arange(n), np.arange(n)] = up
                moved[var][(2 * k + 1) * n + np.arange(n), np.arange(n)] = down
                distances.append(up.astype(np.float64) - down.astype(np.float64))
            f, delta = self._evaluate(moved, rounding)
            f, taken = f.reshape(4, n), np.stack(distances)
            with np.errstate(all="ignore"):
                values.append(((f[0] - f[1]) / taken[0] - (f[2] - f[3]) / taken[1]) / (2 * t))
                if rounding:
                    delta = delta.reshape(4, n)
                    errors.append(((delta[0] + delta[1]) / taken[0] + (delta[2] + delta[3]) / taken[1]) / (2 * t))
        return np.concatenate(values), np.concatenate(errors) if rounding else None, taken_direction

    def _hessian(self, factor: float, rounding: bool):
        out = {}
        for i, a in enumerate(self.wrt):
            for b in self.wrt[i:]:
                value, error = self._same(a, factor, rounding) if a == b else self._cross(a, b, factor, rounding)
                sa, sb = self.fd.inputs[a].shape, self.fd.inputs[b].shape
                out[a if a == b else f"{a},{b}"] = (
                    value.reshape(sa + sb),
                    None if error is None else error.reshape(sa + sb),
                )
                if a != b:
                    out[f"{b},{a}"] = (value.T.reshape(sb + sa), None if error is None else error.T.reshape(sb + sa))
        return {name: out[name] for name in self._order()}

    def _order(self) -> list[str]:
        return [a if a == b else f"{a},{b}" for a in self.wrt for b in self.wrt]

    def _cross(self, a: str, b: str, factor: float, rounding: bool):
        """The rectangles of element j of a and k of b: n_a × n_b entries, 4 points each."""
        ua, da, ta = self.fd._points(a, self.steps(a, factor))
        ub, db, tb = self.fd._points(b, self.steps(b, factor))
        na, nb = ua.size, ub.size
        j, k = np.repeat(np.arange(na), nb), np.tile(np.arange(nb), na)
        rows = np.arange(na * nb)
        moved = {
            a: self._rows(a, self.fd.inputs[a].ravel(), 4 * na * nb),
            b: self._rows(b, self.fd.inputs[b].ravel(), 4 * na * nb),
        }
        for c, (sa, sb) in enumerate(((ua, ub), (ua, db), (da, ub), (da, db))):
            moved[a][c * na * nb + rows, j] = sa[j]
            moved[b][c * na * nb + rows, k] = sb[k]
        f, delta = self._evaluate(moved, rounding)
        f, area = f.reshape(4, na, nb), ta[:, None] * tb[None, :]
        with np.errstate(all="ignore"):
            value = (f[0] - f[1] - f[2] + f[3]) / area
            return value, (delta.reshape(4, na, nb).sum(axis=0) / area if rounding else None)

    def _same(self, a: str, factor: float, rounding: bool):
        """A variable's own block: three points per diagonal entry (the centre shared),
        a rectangle per pair j < k, mirrored."""
        up, down, taken = self.fd._points(a, self.steps(a, factor))
        n = up.size
        j, k = np.triu_indices(n, 1)
        pairs = j.size
        moved = self._rows(a, self.fd.inputs[a].ravel(), 1 + 2 * n + 4 * pairs)
        moved[1 + np.arange(n), np.arange(n)] = up
        moved[1 + n + np.arange(n), np.arange(n)] = down
        for c, (sj, sk) in enumerate(((up, up), (up, down), (down, up), (down, down))):
            rows = 1 + 2 * n + c * pairs + np.arange(pairs)
            moved[rows, j], moved[rows, k] = sj[j], sk[k]
        f, delta = self._evaluate({a: moved}, rounding)
        x = self.x[a]
        ahead, behind = up.astype(np.float64) - x, x - down.astype(np.float64)
        span = ahead * behind * (ahead + behind) / 2
        value, error = np.zeros((n, n)), np.zeros((n, n)) if rounding else None
        corners = f[1 + 2 * n :].reshape(4, pairs)
        with np.errstate(all="ignore"):
            diagonal = (behind * f[1 : 1 + n] - (ahead + behind) * f[0] + ahead * f[1 + n : 1 + 2 * n]) / span
            value[np.arange(n), np.arange(n)] = diagonal
            value[j, k] = value[k, j] = (corners[0] - corners[1] - corners[2] + corners[3]) / (taken[j] * taken[k])
            if rounding:
                spread = (
                    behind * delta[1 : 1 + n] + (ahead + behind) * delta[0] + ahead * delta[1 + n : 1 + 2 * n]
                ) / span
                error[np.arange(n), np.arange(n)] = spread
                error[j, k] = error[k, j] = delta[1 + 2 * n :].reshape(4, pairs).sum(axis=0) / (taken[j] * taken[k])
        return value, error
