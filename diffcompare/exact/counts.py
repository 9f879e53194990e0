"""Operation counts by sympy.count_ops's rules, on SymPy's and SymEngine's expressions alike.

sympy.count_ops walks a tree, every node as often as the tree holds it. A derivative is a DAG
whose tree swells: the logistic map's at depth 14 holds 10⁶ operations, and SymPy's walk takes
45 s over it. `count_ops` here is the same loop (a - b is one SUB, -x a NEG, x/y a DIV, exp(-x)
a DIV and an EXP, max(a, b, c) two, relations and a Piecewise's conditions nothing of their own),
each distinct subexpression taken once and its count multiplied by how often the tree holds it:
the same number, in time linear in the distinct subexpressions.

The loop is written once. What the two libraries do differently (a rational's numerator and
denominator, what a negative coefficient is, SymPy's `fraction`, which classes are lattices) is a
`_Rules` for each, made when the first expression of that library is counted: neither library is
imported before, and SymEngine, which is optional, is imported only to count its own expressions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class _Rules:
    """What sympy.count_ops's loop asks of a node, as one library answers it."""

    is_one: Callable  # the number 1 (counts nothing)
    is_minus_one: Callable
    num_den: Callable  # a rational's (numerator, denominator), as integers that compare with 0 and 1
    coeff_isneg: Callable  # SymPy's _coeff_isneg: a negative number, or a product with a negative coefficient
    negated: Callable  # -a of a product whose coefficient is negative, as SymPy's loop takes it
    fraction: Callable  # SymPy's fraction(a): (numerator, denominator)
    exp1: object  # the constant E
    lattice: tuple  # SymPy's LatticeOps (Max, Min, And, Or): n - 1 operations for n operands
    applied: tuple  # counted as one operation beside what is_Function says (Derivative …)
    is_expr: Callable  # a root counted by the loop (SymPy: an Expr that is no relation)
    is_logic: Callable  # a relation or a boolean function: its operands' counts and 1
    parts: Callable  # the elements of a collection (SymPy's Tuple, Dict: their counts summed), else None


@cache
def _sympy_rules() -> _Rules:
    import sympy
    from sympy.core.function import _coeff_isneg
    from sympy.core.operations import LatticeOp
    from sympy.core.relational import Relational
    from sympy.logic.boolalg import BooleanFunction
    from sympy.simplify.radsimp import fraction
    from sympy.utilities.iterables import iterable

    one, minus_one = sympy.S.One, sympy.S.NegativeOne
    return _Rules(
        is_one=lambda a: a is one,
        is_minus_one=lambda a: a is minus_one,
        num_den=lambda a: (a.p, a.q),
        coeff_isneg=_coeff_isneg,
        negated=lambda a: a.as_two_terms()[1] if a.args[0] is minus_one else -a,
        fraction=fraction,
        exp1=sympy.S.Exp1,
        lattice=(LatticeOp,),
        applied=(sympy.Derivative, sympy.Integral, sympy.Sum),
        is_expr=lambda a: isinstance(a, sympy.Expr) and not a.is_Relational,
        is_logic=lambda a: isinstance(a, (Relational, BooleanFunction)),
        parts=lambda a: [*a.keys(), *a.values()] if isinstance(a, sympy.Dict) else list(a) if iterable(a) else None,
    )


@cache
def _symengine_rules() -> _Rules:
    import symengine as se
    from symengine.lib.symengine_wrapper import Boolean, BooleanAtom

    def negative(a) -> bool:  # SymPy's is_extended_negative on a number (-oo is; I, nan are not)
        return bool(a.is_Number) and bool(a.is_negative)

    def coeff_isneg(a) -> bool:  # SymEngine, as SymPy, puts a product's coefficient first
        return negative(a.args[0] if a.is_Mul else a)

    def fraction(a) -> tuple:
        """The powers with a negative exponent (a number, or a product with a negative coefficient:
        exp(-x)) in the denominator, a rational coefficient split into its integers."""
        numer, denom = [], []
        for term in a.args if a.is_Mul else (a,):
            if term.is_Pow:
                base, ex = term.args
                if negative(ex):
                    denom.append(base if ex == -1 else base ** (-ex))
                elif ex.is_Mul and coeff_isneg(ex):
                    denom.append(base ** (-ex))
                else:
                    numer.append(term)
            elif term.is_Rational and not term.is_Integer:
                p, q = term.get_num_den()
                if p != 1:
                    numer.append(p)
                denom.append(q)
            else:
                numer.append(term)
        return se.Mul(*numer) if numer else se.Integer(1), se.Mul(*denom) if denom else se.Integer(1)

    return _Rules(
        is_one=lambda a: a == 1,
        is_minus_one=lambda a: a == -1,
        num_den=lambda a: a.get_num_den(),
        coeff_isneg=coeff_isneg,
        negated=lambda a: -a,
        fraction=fraction,
        exp1=se.E,
        lattice=(se.Max, se.Min, se.And, se.Or),
        applied=(se.Not, se.Xor, se.Derivative),  # SymPy's Not and Xor are functions (is_Function)
        is_expr=lambda a: not isinstance(a, Boolean),  # in SymEngine relations are Boolean
        is_logic=lambda a: isinstance(a, Boolean) and not isinstance(a, BooleanAtom),
        parts=lambda a: None,
    )


def _rules_of(expr) -> _Rules:
    return _symengine_rules() if type(expr).__module__.startswith("symengine") else _sympy_rules()


def _own_ops(a, rules: _Rules) -> tuple[int, list]:
    """One pass of sympy.count_ops's loop on a node: (its own operations, the nodes it goes on to)."""
    if a.is_Rational:
        if rules.is_one(a):
            return 0, []
        p, q = rules.num_den(a)
        return int(bool(p < 0)) + int(bool(q != 1)), []
    n = 0
    if a.is_Mul or getattr(a, "is_MatMul", False):
        if rules.coeff_isneg(a):
            n += 1
            a = rules.negated(a)
        num, den = rules.fraction(a)
        if num.is_Integer:
            return n + 1 + int(bool(num < 0)), [den]
        if not rules.is_one(den):
            return n + 1, ([den] if not den.is_Integer else []) + [num]
    elif a.is_Add or getattr(a, "is_MatAdd", False):
        negative = [rules.coeff_isneg(t) for t in a.args]
        pushed = [-t if neg else t for t, neg in zip(a.args, negative)]
        return len(a.args) - 1 + int(all(negative)), pushed
    if a.is_Pow and rules.is_minus_one(a.args[1]):
        return n + 1, [a.args[0]]
    if a == rules.exp1:  # n: the NEG of -E, whose negation left no product
        return n + 1, []
    if a.is_Pow and a.args[0] == rules.exp1:
        return n + 1, [a.args[1]]
    if a.is_Mul or isinstance(a, rules.lattice):
        n += len(a.args) - 1
    elif a.args and (a.is_Pow or a.is_Function or isinstance(a, rules.applied)):
        n += 1
    return n, ([] if a.is_Symbol else list(a.args))


def _tree_ops(root, rules: _Rules, memo: dict) -> int:
    """The loop's count of the tree under root, each distinct node's count computed once (memo)."""
    stack = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if node in memo:
            continue
        n, pushed = _own_ops(node, rules)
        if ready:
            memo[node] = n + sum(memo[c] for c in pushed)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in pushed if c not in memo)
    return memo[root]


def _root_ops(root, memos: dict) -> int:
    """sympy.count_ops(root): the loop on an expression; a Tuple, Dict, list or tuple its elements'
    counts; a relation or boolean function its operands' counts and one; any other object its
    nodes with operands (a boolean one n - 1 for n)."""
    if root is None:
        return 0
    if isinstance(root, dict):
        return sum(_root_ops(a, memos) for a in [*root.keys(), *root.values()])
    if isinstance(root, (list, tuple, set)):
        return sum(_root_ops(a, memos) for a in root)
    if not hasattr(root, "args"):  # a Python or NumPy number, as SymPy takes it
        if isinstance(root, (str, bytes)):  # text is never given to SymPy's parser
            raise TypeError(f"count_ops counts expressions, not text: {root!r}")
        import sympy

        root = sympy.sympify(root, strict=True)  # strict: numbers only, no parsing
    rules = _rules_of(root)
    if rules.is_expr(root):
        # one memo per library: a SymPy and a SymEngine node may compare equal
        return _tree_ops(root, rules, memos.setdefault(id(rules), {}))
    parts = rules.parts(root)
    if parts is not None:
        return sum(_root_ops(a, memos) for a in parts)
    if rules.is_logic(root):
        return sum(_root_ops(arg, memos) for arg in root.args) + 1
    n, stack = 0, [root]
    while stack:
        a = stack.pop()
        if a.args:
            n += len(a.args) - 1 if a.is_Boolean else 1
            stack.extend(a.args)
    return n


def count_ops(exprs) -> int:
    """sum(sympy.count_ops(e) for e in exprs), for SymPy's or SymEngine's expressions (or both),
    every repeat counted; each distinct subexpression once, times how often the trees hold it."""
    memos: dict = {}
    return int(sum(_root_ops(root, memos) for root in exprs))
