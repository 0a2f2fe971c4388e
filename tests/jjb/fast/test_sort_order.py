"""sort_order.AlphanumKey against JJB's AlphanumSort: the same answer to every comparison, so the
same order, on seeded random names built from the runs that matter to ``alphanum``."""

from __future__ import annotations

import random

import pytest
from jenkins_jobs.alphanum import AlphanumSort, alphanum

from jjb_envdelivery.jjb.fast.sort_order import AlphanumKey

# Letters, separators, digit runs with leading zeros, a non-ASCII digit (re's \d), empty parts.
PIECES = ["a", "b", "B", "-", "_", "/", ".", "1", "2", "9", "10", "007", "0", "\u0663", "x1", "é", ""]


class _Item:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"_Item({self.name!r})"


def _names(rng, count):
    return ["".join(rng.choice(PIECES) for _ in range(rng.randrange(6))) for _ in range(count)]


@pytest.mark.parametrize("seed", range(20))
def test_every_comparison_and_order_is_jjbs(seed):
    rng = random.Random(seed)
    for _ in range(50):
        items = [_Item(name) for name in _names(rng, rng.randrange(1, 40))]
        keys = [AlphanumKey(item) for item in items]
        for a, ka in zip(items[:8], keys[:8], strict=True):
            for b, kb in zip(items[:8], keys[:8], strict=True):
                assert (ka < kb) == (AlphanumSort(a) < AlphanumSort(b)), (a, b)
        assert [id(i) for i in sorted(items, key=AlphanumKey)] == [id(i) for i in sorted(items, key=AlphanumSort)]


def test_alphanum_quirks_are_kept():
    key = {name: AlphanumKey(_Item(name)) for name in ["a", "a2", "a10", "a010", "", "a-", "a\u0663"]}
    assert alphanum(_Item("a"), _Item("a")) == 1 and not key["a"] < key["a"]  # equal: "greater"
    assert key["a2"] < key["a10"] and not key["a10"] < key["a2"]
    assert key[""] < key["a"] and key["a"] < key["a2"]  # running out first is smaller
    assert not key["a10"] < key["a010"] and not key["a010"] < key["a10"]  # 10 == 010, then both end
    assert key["a2"] < key["a\u0663"]  # the Arabic-Indic three is the number 3
    names = ["b1", "a10", "a9", "a", ""]
    assert sorted(names, key=AlphanumKey) == sorted(names, key=AlphanumSort) == ["", "a", "a9", "a10", "b1"]
