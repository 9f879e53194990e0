"""`torch`: torch.autograd on the function as written, with torch's own primitives."""

from __future__ import annotations

import functools
import time

import numpy as np
import torch

from diffcompare.backends import BaseBackend, Gradient, torch_operators
from diffcompare.backends.timing import median_time
from diffcompare.lang.primitives import library_ops
from diffcompare.lang.program import Program


def _tensors(*args):
    """torch.minimum/maximum/clamp want tensors; give numbers the tensors' dtype."""
    like = next(a for a in args if isinstance(a, torch.Tensor))
    return [a if isinstance(a, torch.Tensor) else torch.as_tensor(a, dtype=like.dtype) for a in args]


def _clamp(x, lo, hi):
    if isinstance(lo, torch.Tensor) or isinstance(hi, torch.Tensor):
        x, lo, hi = _tensors(x, lo, hi)
    return torch.clamp(x, lo, hi)


def _where(dtype: torch.dtype):
    """torch.where in the row's dtype. Given two numbers for branches, torch makes them
    tensors of its default dtype, float32, whatever the row's (0.7 became float32(0.7) in
    float64 rows); and it refuses a condition that is a number (a comparison of constants,
    folded when the problem loads)."""

    def where(cond, a, b):
        if not isinstance(cond, torch.Tensor):
            cond = torch.as_tensor(bool(cond))
        if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
            a, b = torch.as_tensor(a, dtype=dtype), torch.as_tensor(b, dtype=dtype)
        return torch.where(cond, a, b)

    return where


def torch_constant(dtype: torch.dtype):
    """Numbers stay Python numbers; a constant array ([0, 1, 0], arange(1, 4)) is a tensor
    of the row's dtype, as hand-written code writes torch.tensor([0., 1., 0.])."""
    return lambda v: torch.tensor(v, dtype=dtype) if isinstance(v, np.ndarray) else v


@functools.cache
def torch_ops(dtype: torch.dtype) -> dict:
    """torch's functions by the primitives' declarations (diffcompare.lang.primitives:
    torch.<name>, Python's operators, the names that differ), and torch's own adapters,
    for a row of this dtype. Constants stay Python numbers, as hand-written torch code
    passes them: torch then computes them in the tensors' dtype, except where no tensor
    is there to take it from (_where)."""
    # torch's binary functions that take no Python number for either operand (hypot(x, 0.01),
    # logaddexp(0.3, x), atan2(x, 2) raise TypeError): the number is given the tensor's dtype.
    tensors_only = {name: getattr(torch, name) for name in ("atan2", "hypot", "logaddexp")}
    return library_ops(
        "torch",
        own={
            "min": lambda a, b: torch.minimum(*_tensors(a, b)),
            "max": lambda a, b: torch.maximum(*_tensors(a, b)),
            "clamp": _clamp,
            "where": _where(dtype),
            **{name: _with_tensors(fn) for name, fn in tensors_only.items()},
        },
    )


def _with_tensors(fn):
    return lambda a, b: fn(*_tensors(a, b))


TORCH_OPS = torch_ops(torch.float64)  # the float64 table (tests/test_backends.py)


class TorchBackend(BaseBackend):
    name = "torch"
    library = "torch"
    description = f"torch.autograd (torch {torch.__version__})"

    def modes(self, problem):
        """gradient: reverse (autograd); the others by torch.func, jvp by dual numbers too."""
        return torch_operators.MODES[problem.operator]

    def compute(self, problem, dtype, mode):
        if problem.operator == "gradient":
            return self.gradient(problem, dtype)
        torch_dtype = getattr(torch, dtype)
        return torch_operators.compute(problem, dtype, mode, torch_ops(torch_dtype), torch_constant(torch_dtype))

    def gradient(self, problem, dtype):
        start = time.perf_counter()
        torch_dtype = getattr(torch, dtype)
        program = Program(problem.function, torch_ops(torch_dtype), constant=torch_constant(torch_dtype))
        leaves = {
            k: torch.tensor(v, dtype=torch_dtype, requires_grad=k in problem.wrt) for k, v in problem.point.items()
        }
        wrt = [leaves[k] for k in problem.wrt]

        def grad():
            out = program(leaves)
            if not (isinstance(out, torch.Tensor) and out.requires_grad):
                return [None] * len(wrt)  # f does not depend on any wrt variable
            return torch.autograd.grad(out, wrt, allow_unused=True)

        grads = torch_operators.call_or_skip(grad)  # torch.remainder has no derivative in its divisor
        setup_s = time.perf_counter() - start
        values = {
            k: np.zeros(problem.point[k].shape) if g is None else g.detach().numpy().astype(np.float64)
            for k, g in zip(problem.wrt, grads)
        }

        def forward():
            with torch.no_grad():
                return program(leaves)

        forward()
        return Gradient(values, median_time(grad), setup_s=setup_s, f_time_s=median_time(forward))
