"""lang/memo: the bounded memos every layer keeps its builds in (jax's programs, SymPy's forms,
f's times, the blame analyses)."""

import gc
import threading

from diffcompare.lang.memo import Kept, PerObject


def test_kept_forgets_the_least_recently_used_first():
    kept = Kept(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # a is now the most recently used
    kept.put("c", 3)
    assert "b" not in kept and kept.get("a") == 1 and kept.get("c") == 3 and len(kept) == 2
    assert kept.get("b", "gone") == "gone"


def test_keep_builds_once_and_a_build_that_raises_keeps_nothing():
    kept, calls = Kept(4), []

    def build():
        calls.append(1)
        return len(calls)

    assert kept.keep("k", build) == (1, False)
    assert kept.keep("k", build) == (1, True) and calls == [1]

    def fails():
        raise ValueError("no")

    try:
        kept.keep("bad", fails)
    except ValueError:
        pass
    assert "bad" not in kept
    kept.put("none", None)  # None is a value like any other
    assert kept.keep("none", build) == (None, True)


def test_kept_is_safe_across_threads():
    kept = Kept(50)

    def work(offset):
        for i in range(2000):
            kept.put((offset, i % 80), i)
            kept.get((offset, (i * 7) % 80))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kept) == 50


class Problem:
    pass


def test_per_object_measures_once_per_object_and_not_for_another_at_its_address():
    memo, measured = PerObject(8), []

    def measure():
        measured.append(1)
        return len(measured)

    one = Problem()
    assert memo.get(one, "float32", measure) == 1
    assert memo.get(one, "float32", measure) == 1
    assert memo.get(one, "float64", measure) == 2
    del one
    gc.collect()
    # A new object may take the old one's address: it is measured afresh, never given the old figure.
    others = [Problem() for _ in range(50)]
    assert [memo.get(o, "float32", measure) for o in others[:3]] == [3, 4, 5]
    assert memo.size == 8


def test_a_memo_pickles_empty_with_its_size():
    import pickle

    kept = Kept(3)
    kept.put("a", 1)
    back = pickle.loads(pickle.dumps(kept))
    assert len(back) == 0 and back.size == 3
    back.put("b", 2)
    assert back.get("b") == 2
    per = pickle.loads(pickle.dumps(PerObject(5)))
    assert len(per) == 0 and per.size == 5
