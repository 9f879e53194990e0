"""`torch`: torch.autograd on the function as written, with torch's own primitives."""

from __future__ import annotations

import time

import numpy as np
import torch

from diffcompare.backends import BaseBackend, Gradient
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


# torch's functions by the primitives' declarations (diffcompare.lang.primitives:
# torch.<name>, Python's operators, the names that differ), and torch's own adapters.
TORCH_OPS = library_ops(
    "torch",
    own={
        "min": lambda a, b: torch.minimum(*_tensors(a, b)),
        "max": lambda a, b: torch.maximum(*_tensors(a, b)),
        "clamp": _clamp,
    },
)


class TorchBackend(BaseBackend):
    name = "torch"
    library = "torch"
    description = f"torch.autograd (torch {torch.__version__})"

    def gradient(self, problem, dtype):
        start = time.perf_counter()
        torch_dtype = getattr(torch, dtype)
        program = Program(problem.function, TORCH_OPS)
        leaves = {
            k: torch.tensor(v, dtype=torch_dtype, requires_grad=k in problem.wrt) for k, v in problem.point.items()
        }
        wrt = [leaves[k] for k in problem.wrt]

        def grad():
            out = program(leaves)
            if not (isinstance(out, torch.Tensor) and out.requires_grad):
                return [None] * len(wrt)  # f does not depend on any wrt variable
            return torch.autograd.grad(out, wrt, allow_unused=True)

        grads = grad()
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
