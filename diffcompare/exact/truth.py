"""What the exact side knows about one problem, built once per problem and kept beside it.

A Problem is the parsed file and nothing more; the expensive exact facts about it
(SymPy's form and derivatives, the reference, the kinks and undefined points) live
here, in a table keyed weakly by the problem, so that a supervised worker that runs
one problem through nine backends builds each of them once, and a problem that is
dropped takes its facts with it.

All of it runs under one deadline per problem (diffcompare.exact.budget), started at
first use. The reference is SymPy's derivative where SymPy can afford the problem, else
the IR's own chain rule in mpmath (as exact, and cheaper at size), and only past the
deadline or an argument's magnitude the long-double chain rule with its error bound,
each row noting why. SymPy's steps are stopped inside SymPy itself at its own share of
that time (exact.symbolic: SymbolicForm.bounded), and a step that ran out is not tried
again. So the decision is made once, in the problem's first cell, well before that
cell's time limit.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

from diffcompare.exact.budget import Deadline, ExactLimit
from diffcompare.exact.derived import Part, derived_parts
from diffcompare.exact.operators import first_order_basis, second_order_basis
from diffcompare.exact.reference import Reference, chain_reference, compute_reference, longdouble_reference
from diffcompare.exact.singular import Singular, judged_on_f
from diffcompare.exact.symbolic import SymbolicForm, SymbolicLimit, SymbolicTimeout
from diffcompare.exact.symbolic_operators import OperatorExprs, operator_exprs
from diffcompare.spec.operators import OPERATORS


@dataclass
class Truth:
    """One problem's exact side; each part is built on first use."""

    problem: object = field(repr=False)
    _symbolic: SymbolicForm | SymbolicLimit | None = field(default=None, repr=False)
    _reference: Reference | None = field(default=None, repr=False)
    _basis: tuple | None = field(default=None, repr=False)
    _deadline: Deadline | None = field(default=None, repr=False)
    _parts: list | None = field(default=None, repr=False)
    _exprs: object = field(default=None, repr=False)

    @property
    def deadline(self) -> Deadline:
        """The exact side's deadline, started when any part of it is first asked for."""
        if self._deadline is None:
            self._deadline = Deadline()
        return self._deadline

    @property
    def symbolic(self) -> SymbolicForm:
        """SymPy's form and derivatives of a scalar f. Raises SymbolicLimit (every time, tried
        once) past the size or time SymPy is given, or where f is array-valued (its operator's
        forms are its derived problems': operator_exprs)."""
        if self._symbolic is None:
            try:
                if self.problem.function.shape != ():
                    raise SymbolicLimit("f is array-valued: SymPy differentiates its elements (operator_exprs)")
                self._symbolic = SymbolicForm(self.problem, self.deadline)
            except SymbolicLimit as exc:
                self._symbolic = exc
        if isinstance(self._symbolic, SymbolicLimit):
            raise self._symbolic
        return self._symbolic

    @property
    def reference(self) -> Reference:
        """The exact reference: SymPy's where it can afford the problem, else the chain rule in
        mpmath; the long-double chain rule (with its error bound) only past the deadline."""
        if self._reference is None:
            why = ""
            try:
                self._reference = compute_reference(self.symbolic, self.deadline)
            except SymbolicTimeout as exc:  # a matter of time, not of size: the rows say so
                why = str(exc)
            except SymbolicLimit:
                pass
            except ExactLimit as exc:
                why = str(exc)
            except NotImplementedError as exc:  # a form of SymPy's the evaluator lacks: the chain rule has none
                why = f"SymPy's derivative cannot be evaluated: {exc}"
            if self._reference is None:
                try:
                    self._reference = chain_reference(self.problem, self.deadline, why)
                except ExactLimit as exc:
                    reason = why if str(exc) == why or not str(exc) else f"{why}; {exc}" if why else str(exc)
                    self._reference = longdouble_reference(self.problem, reason)
        return self._reference

    def judging_basis(self, describe_error) -> tuple[Reference | None, dict[tuple, Singular], str]:
        """(reference, kinks and undefined points, failure message), keyed by the operator's
        results (the wrt variables, for a gradient). A reference that cannot be built is our
        error, reported on every row: describe_error(exception) words it."""
        if self._basis is None:
            if self.problem.operator != "gradient":
                self._basis = self._operator_basis(describe_error)
            else:
                self._basis = self._gradient_basis(describe_error)
        return self._basis

    def _gradient_basis(self, describe_error):
        reference, singular, failure = None, {}, ""
        try:
            reference = self.reference
            reference, singular = judged_on_f(self.problem, reference, self.deadline)
        except Exception as exc:
            failure = f"no reference: {describe_error(exc)}"
        return reference, singular, failure

    @property
    def parts(self) -> list[tuple[Part, Truth]]:
        """A first-order operator's derived scalar problems, each with its exact side, all
        under this problem's deadline (exact.derived)."""
        if self._parts is None:
            self._parts = []
            for part in derived_parts(self.problem):
                truth = Truth(part.problem)
                truth._deadline = self.deadline
                self._parts.append((part, truth))
        return self._parts

    @property
    def operator_exprs(self) -> OperatorExprs:
        """Every entry of the operator in SymPy (exact.symbolic_operators). Raises SymbolicLimit."""
        if self._exprs is None:
            try:
                if OPERATORS[self.problem.operator].order == 2:
                    self._exprs = operator_exprs(self.problem, lambda p: self.symbolic)
                else:
                    forms = {id(part.problem): truth for part, truth in self.parts}
                    self._exprs = operator_exprs(self.problem, lambda p: forms[id(p)].symbolic, self.parts)
            except SymbolicLimit as exc:
                self._exprs = exc
        if isinstance(self._exprs, SymbolicLimit):
            raise self._exprs
        return self._exprs

    def _operator_basis(self, describe_error):
        try:
            if OPERATORS[self.problem.operator].order == 2:
                basis = self._gradient_basis(describe_error)
                if basis[2]:
                    return basis[0], {}, basis[2]
                reference, singular = second_order_basis(self.problem, self, basis, self.deadline)
                return reference, singular, ""
            bases = [truth.judging_basis(describe_error) for _, truth in self.parts]
            failure = next((b[2] for b in bases if b[2]), "")
            if failure:
                return None, {}, failure
            reference, singular = first_order_basis(self.problem, [part for part, _ in self.parts], bases)
            return reference, singular, ""
        except Exception as exc:
            return None, {}, f"no reference: {describe_error(exc)}"


_TRUTHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def truth_of(problem) -> Truth:
    """The problem's exact side, made on first use and kept while the problem lives."""
    truth = _TRUTHS.get(problem)
    if truth is None:
        truth = _TRUTHS[problem] = Truth(problem)
    return truth
