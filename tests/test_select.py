"""select_problems: -k and --tags as documented in diffcompare/spec/select.py and the README."""

from __future__ import annotations

from types import SimpleNamespace

from diffcompare.spec.select import name_selected, select_problems


def _problems():
    return [
        SimpleNamespace(name="logistic-bce", tags=("loss", "clamp")),
        SimpleNamespace(name="saturated-sigmoid", tags=("sigmoid", "float32")),
        SimpleNamespace(name="rosenbrock[n=10]", tags=()),
        SimpleNamespace(name="Relu-at-kink", tags=("Kink",)),
    ]


def _names(problems):
    return [p.name for p in problems]


def test_nothing_asked_keeps_everything_in_order():
    assert _names(select_problems(_problems(), [], [])) == _names(_problems())


def test_pattern_is_a_case_insensitive_substring():
    assert _names(select_problems(_problems(), ["SIGMOID"])) == ["saturated-sigmoid"]
    assert _names(select_problems(_problems(), ["relu"])) == ["Relu-at-kink"]
    assert _names(select_problems(_problems(), ["n=10]"])) == ["rosenbrock[n=10]"]


def test_several_patterns_add_up_and_not_excludes():
    assert _names(select_problems(_problems(), ["bce", "kink"])) == ["logistic-bce", "Relu-at-kink"]
    assert _names(select_problems(_problems(), ["not sig"])) == ["logistic-bce", "rosenbrock[n=10]", "Relu-at-kink"]
    assert _names(select_problems(_problems(), ["sig", "bce", "NOT satur"])) == ["logistic-bce"]
    assert not name_selected("a-not-b", ["not a"])
    assert name_selected("anything", ["", "  "])


def test_tags_any_of_them_case_insensitive_and_with_patterns():
    assert _names(select_problems(_problems(), tags=["loss", "kink"])) == ["logistic-bce", "Relu-at-kink"]
    assert _names(select_problems(_problems(), ["sat"], ["loss"])) == []
    assert _names(select_problems(_problems(), ["sat"], ["FLOAT32"])) == ["saturated-sigmoid"]
    assert select_problems(_problems(), ["nomatch"]) == []
