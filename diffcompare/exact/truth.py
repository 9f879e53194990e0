"""What the exact side knows about one problem, built once per problem and kept beside it.

A Problem is the parsed file and nothing more; the expensive exact facts about it
(SymPy's form and derivatives, the reference, the kinks and undefined points) live
here, in a table keyed weakly by the problem, so that a supervised worker that runs
one problem through nine backends builds each of them once, and a problem that is
dropped takes its facts with it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

from diffcompare.exact.reference import Reference, compute_reference, longdouble_reference
from diffcompare.exact.singular import Singular, singular_elements
from diffcompare.exact.symbolic import SymbolicForm, SymbolicLimit


@dataclass
class Truth:
    """One problem's exact side; each part is built on first use."""

    problem: object = field(repr=False)
    _symbolic: SymbolicForm | SymbolicLimit | None = field(default=None, repr=False)
    _reference: Reference | None = field(default=None, repr=False)
    _basis: tuple | None = field(default=None, repr=False)

    @property
    def symbolic(self) -> SymbolicForm:
        """SymPy's form and derivatives. Raises SymbolicLimit (every time, tried once) past
        the size or time SymPy is given."""
        if self._symbolic is None:
            try:
                self._symbolic = SymbolicForm(self.problem)
            except SymbolicLimit as exc:
                self._symbolic = exc
        if isinstance(self._symbolic, SymbolicLimit):
            raise self._symbolic
        return self._symbolic

    @property
    def reference(self) -> Reference:
        """The exact symbolic reference where SymPy can afford it, else the long-double chain rule."""
        if self._reference is None:
            try:
                self._reference = compute_reference(self.symbolic)
            except SymbolicLimit:
                self._reference = longdouble_reference(self.problem)
        return self._reference

    def judging_basis(self, describe_error) -> tuple[Reference | None, dict[tuple, Singular], str]:
        """(reference, kinks and undefined points, failure message). A reference that cannot
        be built is our error, reported on every row: describe_error(exception) words it."""
        if self._basis is None:
            reference, singular, failure = None, {}, ""
            try:
                reference = self.reference
                singular = singular_elements(self.problem, reference)
            except Exception as exc:
                failure = f"no reference: {describe_error(exc)}"
            self._basis = (reference, singular, failure)
        return self._basis


_TRUTHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def truth_of(problem) -> Truth:
    """The problem's exact side, made on first use and kept while the problem lives."""
    truth = _TRUTHS.get(problem)
    if truth is None:
        truth = _TRUTHS[problem] = Truth(problem)
    return truth
