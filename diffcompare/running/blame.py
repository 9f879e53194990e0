"""Why an exact method lost digits, element by element.

A hazardous step (a primitive whose `hazard` says it amplifies rounding at the point:
σ(1-σ) at saturation, a - b that cancels, exp that overflows, sin of a large argument)
explains a gradient element only if a rounding reaches the step (its own, or one its
operands carry: a - b and sin(x) of exact inputs are correctly rounded however much they
would amplify), the element depends on it, and the error it can cause there accounts for
the error seen. The chain-rule engine (`ChainRule.blame`) estimates, for each such step, the
absolute error its rounding in the row's dtype can put in every element of the gradient;
here each disagreeing row is told the steps whose estimate for that element is at least a
tenth of its observed error, the largest first, and nothing where no step accounts for it.
"""

from __future__ import annotations

import numpy as np

from diffcompare.engine.chainrule import Blame, ChainRule
from diffcompare.lang.memo import PerObject
from diffcompare.running.verdicts import exact_rtol
from diffcompare.spec.problem import DTYPES, Problem

# A step explains an element when its estimated error there is at least this share of the
# error seen. The estimate takes one rounding (ε, twice the unit roundoff) in the step's own
# result, or the rounding its operands carry (the point's own rounding to float32, one ε for
# a rounded step), amplified; operands carry the roundings of the steps before them too (w·x,
# …), a few units each, so the error seen can be several times the estimate of the step
# that amplified it. A step whose estimate is under a
# tenth of the error would need ten roundings' worth upstream of it: the error is then more
# the upstream steps' than this one's, and naming it would be a guess.
SHARE = 0.1
# Steps named in one message, at most.
NAMED = 3
# Analyses kept: a worker's explainer sees one problem at a time, in two dtypes.
CACHED = 8


def _size_words(relative: float) -> str:
    return "all digits lost" if relative >= 1 else f"up to ≈{relative:.0e} relative error"


class Explainer:
    """explainer(problem, dtype, var, abs_error, verdict) -> a message per element of var:
    the likely cause of each 'disagree' row of an exact method, '' on the other rows and
    where no hazardous step accounts for the error seen.

    The chain-rule analysis of a problem in a dtype is done once and kept (by the problem's
    identity, checked through a weak reference, for the last few problems), for every
    backend and variable that asks. It holds no problem: the worker creates it once."""

    def __init__(self, share: float = SHARE, seconds: float = 10.0):
        self.share = share
        self.seconds = seconds  # the most one problem's analysis in one dtype may spend
        self._cache = PerObject(CACHED)  # (problem, dtype) -> its blames; pickled empty

    def __call__(self, problem: Problem, dtype: str, var: str, abs_error, verdict) -> np.ndarray:
        verdict = np.asarray(verdict, dtype=object).ravel()
        messages = np.full(verdict.shape, "", dtype=object)
        try:
            rows = verdict == "disagree"
            if not rows.any():
                return messages
            blames = [b for b in self.analysis(problem, dtype) if var in b.error]
            if not blames:
                return messages
            return self._messages(blames, dtype, var, np.asarray(abs_error, dtype=np.float64).ravel(), rows)
        except Exception:  # an explanation must never cost a row
            return messages

    def analysis(self, problem: Problem, dtype: str) -> list[Blame]:
        """The hazardous steps of the problem in dtype and their estimated errors (cached)."""

        def analyse() -> list[Blame]:
            try:
                return self._analyse(problem, dtype)
            except Exception:  # an explanation must never cost a row, nor be tried again per row
                return []

        return self._cache.get(problem, dtype, analyse)

    def _analyse(self, problem: Problem, dtype: str) -> list[Blame]:
        if dtype not in DTYPES:
            return []
        # Steps that lose less than a hundredth of the tolerance are not analysed (as before):
        # their estimate reaches a disagreeing element's error only where the paths through
        # them are a hundred times the gradient itself.
        engine = ChainRule(problem.function, dtype)
        return engine.blame(problem.point, list(problem.wrt), floor=exact_rtol(dtype) / 100, seconds=self.seconds)

    def _messages(self, blames: list[Blame], dtype: str, var: str, error: np.ndarray, rows: np.ndarray) -> np.ndarray:
        n = rows.size
        estimates = np.stack([np.asarray(b.error[var], dtype=np.float64).ravel() for b in blames])  # steps × elements
        with np.errstate(all="ignore"):
            finite = np.isfinite(error)
            explains = np.where(finite, estimates >= self.share * error, False)
            # A value that is not finite (abs_error inf) is explained only by a step that loses
            # all its digits and that the element depends on.
            total = np.array([b.relative >= 1 for b in blames])[:, None]
            explains |= ~finite & total & (estimates > 0)
        explains &= rows & (estimates > 0)
        # One entry per step (a step may be several Blames, one per order of magnitude): its largest.
        score = np.where(explains, estimates, -1.0)
        steps: dict[int, int] = {}
        for b in blames:
            steps.setdefault(b.node, len(steps))
        by_step = np.full((len(steps), n), -1.0)
        which = np.full((len(steps), n), -1)
        for k, b in enumerate(blames):
            s = steps[b.node]
            better = score[k] > by_step[s]
            by_step[s] = np.where(better, score[k], by_step[s])
            which[s] = np.where(better, k, which[s])
        order = np.argsort(-by_step, axis=0, kind="stable")[:NAMED]  # the largest first
        chosen = np.take_along_axis(which, order, axis=0)
        chosen = np.where(np.take_along_axis(by_step, order, axis=0) >= 0, chosen, -1)
        messages = np.full(n, "", dtype=object)
        named = np.flatnonzero(chosen[0] >= 0)
        if named.size == 0:
            return messages
        # The steps named, in order, as one number per element: a message is built once per set.
        base = len(blames) + 1
        code = np.zeros(named.size, dtype=np.int64)
        for row in chosen[:, named]:
            code = code * base + (row + 1)
        codes, inverse = np.unique(code, return_inverse=True)
        texts = []
        for c in codes.tolist():
            key = []
            for _ in range(chosen.shape[0]):
                c, k = divmod(c, base)
                key.insert(0, k - 1)
            parts = [f"'{blames[k].step}': {blames[k].why} ({_size_words(blames[k].relative)})" for k in key if k >= 0]
            texts.append(f"likely cause in {dtype}: " + "; ".join(parts))
        messages[named] = np.asarray(texts, dtype=object)[np.asarray(inverse).ravel()]
        return messages
