"""The order the suite's tests are handed to pytest-xdist in (tests/longest_first.py)."""

from dataclasses import dataclass, field

import longest_first


@dataclass
class _Item:
    nodeid: str
    fixturenames: tuple = field(default=())


def _collection():
    short = [_Item(f"tests/unit/test_a.py::test_{i}") for i in range(40)]
    long = [_Item(f"tests/{node}") for node in longest_first.EXPECTED
            if "test_grade.py" not in node]
    graded = [_Item(f"tests/e2e/test_grade.py::test_{i}", ("graded_class",)) for i in range(4)]
    return short[:20] + long + graded + short[20:], long, graded


def _shares(ordered, workers):
    sizes, shares, start = longest_first._shares(len(ordered), workers), [], 0
    for size in sizes:
        shares.append(ordered[start:start + size])
        start += size
    return shares


def test_every_test_is_handed_out_once_and_each_share_opens_with_its_long_ones():
    items, long, graded = _collection()
    ordered = longest_first.order(items, 6)
    assert sorted(map(id, ordered)) == sorted(map(id, items))
    shares = _shares(ordered, 6)
    opening = [next(i for i, item in enumerate(share) if "test_a.py" in item.nodeid)
               for share in shares]
    assert sum(opening) == len(long) + len(graded)  # every long test before any short one
    assert all(opening)  # and every worker starts on one


def test_the_graded_class_stays_on_one_worker():
    items, _, graded = _collection()
    shares = _shares(longest_first.order(items, 4), 4)
    holding = [share for share in shares if any(item in share for item in graded)]
    assert len(holding) == 1 and all(item in holding[0] for item in graded)


def test_without_workers_the_order_is_the_collections():
    items, _, _ = _collection()
    assert longest_first.order(items, 1) == items
