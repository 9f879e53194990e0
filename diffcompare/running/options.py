"""The options of one run, as one frozen value that crosses into worker processes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from diffcompare.backends import jax_cache, timing
from diffcompare.backends import threads as thread_share
from diffcompare.exact import budget
from diffcompare.lang import limits


@dataclass(frozen=True)
class RunOptions:
    """What every cell of a run is judged with: the backends and dtypes chosen (None: all),
    tolerances that override the problems' own (None: theirs, else the defaults), and the
    parent's timing settings and input limits, which a spawned worker does not inherit,
    and the seconds the exact side of each problem is given (diffcompare.exact.budget).
    jax_cache: JAX's persistent compilation cache on or off (diffcompare.backends.jax_cache;
    by default as this process's DIFFCOMPARE_JAX_CACHE says, on unless it is 0), in
    jax_cache_dir (None: the default folder, as the worker's environment gives it)."""

    backends: tuple[str, ...] | None = None
    dtypes: tuple[str, ...] | None = None
    rtol: float | None = None
    atol: float | None = None
    timing: tuple[int, float] = (timing.DEFAULT_REPEAT, timing.DEFAULT_BUDGET_S)
    limits: tuple[int, ...] = tuple(limits.DEFAULTS.values())  # in DEFAULTS' order, as limits.current()
    exact_s: float = budget.DEFAULT_S
    threads: int | None = None  # each worker's share of the cores (backends.threads); None: in this process
    jax_cache: bool = field(default_factory=jax_cache.default_enabled)
    jax_cache_dir: str | None = None

    @classmethod
    def here(
        cls,
        backends: Iterable[str] | None = None,
        dtypes: Iterable[str] | None = None,
        rtol: float | None = None,
        atol: float | None = None,
    ) -> RunOptions:
        """The options with this process's timing settings and limits."""
        return cls(
            None if backends is None else tuple(backends),
            None if dtypes is None else tuple(dtypes),
            rtol,
            atol,
            timing.settings(),
            limits.current(),
            budget.seconds(),
            jax_cache=jax_cache.enabled(),
            jax_cache_dir=jax_cache.folder(),
        )

    def apply(self) -> None:
        """In a worker process: take the parent's timing settings and limits, its thread share
        and its JAX compilation cache (told to JAX before the worker's first compilation)."""
        timing.configure(*self.timing)
        limits.configure(*self.limits)
        budget.configure(self.exact_s)
        thread_share.configure(self.threads)
        jax_cache.configure(self.jax_cache, self.jax_cache_dir)
