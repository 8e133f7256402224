"""The linearizability checker and the per-call verdict: each rule on hand-made
histories, the linearizability rules as a whole validated against the exact search on a
great many small random histories, and the per-call rules against the runs of a
simulated semaphore bounded buffer.

The rules are only trusted because they agree with the exact search everywhere we
can look: two generators (legal runs with their calls' intervals stretched, then
perhaps one mutation; and histories made of anything at all) feed both checkers,
Hypothesis for shrinking what it finds and a seeded loop for sheer numbers.
"""

import os
import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodcon.history.fileformat import Op
from prodcon.history.linearizability import (
    RULES,
    Rules,
    check,
    fast_path_applies,
    per_call,
    split_call,
)
from prodcon.history.search import search

#: How many random histories the seeded loop checks: 60,000 on each Python (about 6 s
#: on one core on 3.13), each Python its own (the seed below). CI tests two, so it
#: checks 120,000 distinct histories a run; one seed for both checked the same ones
#: twice. (100,000 each until the asyncio work needed the CI time back: the rules and
#: the search have agreed on every history since issue 12; PRODCON_CROSS_CHECKS asks
#: for more.)
CROSS_CHECKS = int(os.environ.get("PRODCON_CROSS_CHECKS", "60000"))
#: The checker's logic is the same on every Python: its version picks the histories.
CROSS_CHECK_SEED = 20261128 + sys.version_info.minor


def history(*rows):
    """(thread, op, value, error, start, end) rows as Ops."""
    return [Op(i, t, o, v, e, s, en) for i, (t, o, v, e, s, en) in enumerate(rows)]


def put(t, v, s, e, error=None):
    return (t, "put", v, error, s, e)


def get(t, v, s, e):
    return (t, "get", v, None, s, e)


def empty(t, s, e):
    return (t, "get", None, "Empty", s, e)


def full(t, v, s, e):
    return (t, "put", v, "Full", s, e)


def verdict(rows, maxsize=0):
    return check(history(*rows), maxsize)


# --- each rule ----------------------------------------------------------------------


def test_sequential_fifo_is_linearizable():
    v = verdict([put("p", 1, 0, 1), put("p", 2, 2, 3), get("c", 1, 4, 5), get("c", 2, 6, 7)])
    assert v.linearizable and v.method == "rules"


@pytest.mark.parametrize("rows, rule, culprits", [
    ([get("c", 9, 0, 1)], "invented", (0,)),
    ([get("c", 1, 0, 1), put("p", 1, 2, 3)], "taken-early", (1, 0)),
    ([put("p", 1, 0, 1), get("c", 1, 2, 3), get("d", 1, 4, 5)], "taken-twice", (0, 1, 2)),
    ([put("p", 1, 0, 1), put("p", 2, 2, 3), get("c", 2, 4, 5), get("c", 1, 6, 7)],
     "order", (0, 1, 2, 3)),
    ([put("p", 1, 0, 1), put("p", 2, 2, 3), get("c", 2, 4, 5)], "lost", (0, 1, 2)),
    ([put("p", 1, 0, 1), empty("c", 2, 3), get("c", 1, 4, 5)], "false-empty", (1, 0, 2)),
    ([full("p", 1, 0, 1)], "false-full", (0,)),
    ([get("c", None, 0, 1)[:3] + ("Full", 0, 1)], "wrong-error", (0,)),
])
def test_each_rule_names_its_calls(rows, rule, culprits):
    v = verdict(rows)
    assert v.linearizable is False
    assert v.rule == rule and v.prop == RULES[rule]
    assert v.culprits == culprits
    assert v.message


def test_empty_covered_by_a_union_of_items_not_by_one():
    # 1 is certainly inside until 5, 2 from 4 on: together they cover [3, 6].
    rows = [put("p", 1, 0, 1), put("q", 2, 2, 4), get("c", 1, 5, 7), empty("e", 3, 6),
            get("c", 2, 10, 11)]
    v = verdict(rows)
    assert v.rule == "false-empty"
    assert set(v.culprits) == {3, 0, 1, 2, 4}
    assert "1 (put returned at 1" in v.message and "2 (put returned at 4" in v.message
    # With a gap between the two intervals the Empty fits into it.
    rows[1] = put("q", 2, 2, 6)
    assert verdict(rows).linearizable


def test_touching_intervals_may_be_ordered_either_way():
    # put ends at 2 exactly when the Empty starts: the Empty may come first.
    assert verdict([put("p", 1, 0, 2), empty("c", 2, 3), get("c", 1, 4, 5)]).linearizable


def test_capacity_rules():
    two_in = [put("p", 1, 0, 1), put("q", 2, 2, 3), get("c", 1, 4, 5), get("c", 2, 6, 7)]
    assert verdict(two_in, maxsize=1).rule == "overfull"
    assert verdict(two_in, maxsize=2).linearizable
    # The put of 2 spans the whole time 1 is inside: it could have waited for the get.
    waited = [put("p", 1, 0, 1), put("q", 2, 2, 9), get("c", 1, 4, 5), get("c", 2, 10, 11)]
    assert verdict(waited, maxsize=1).linearizable
    # Full while one item is certainly inside: right for maxsize 1, wrong for 2.
    rows = [put("p", 1, 0, 1), full("q", 2, 2, 3), get("c", 1, 4, 5)]
    assert verdict(rows, maxsize=1).linearizable
    assert verdict(rows, maxsize=2).rule == "false-full"
    assert verdict(rows, maxsize=0).rule == "false-full"


def test_put_into_full_names_the_items_inside():
    rows = [put("p", 1, 0, 1), get("c", 1, 4, 20), put("q", 2, 2, 3), get("c", 2, 21, 22)]
    v = verdict(rows, maxsize=1)
    assert v.linearizable is False and v.prop == "capacity"
    assert v.rule in ("put-into-full", "overfull")


def test_ignored_errors_are_left_out():
    rows = [put("p", 1, 0, 1), ("c", "get", None, "ShutDown", 2, 3), get("c", 1, 4, 5)]
    assert verdict(rows).linearizable


def test_repeated_values_and_pending_calls_go_to_the_search():
    rows = [put("p", 1, 0, 1), put("p", 1, 2, 3), get("c", 1, 4, 5), get("c", 1, 6, 7)]
    v = verdict(rows)
    assert v.linearizable and v.method == "search"
    pending = [put("p", 1, 0, None), get("c", 1, 4, 5)]
    assert not fast_path_applies(history(*pending))
    assert verdict(pending).linearizable
    v = verdict([put("p", 1, 0, 1), put("p", 1, 2, 3), get("c", 2, 4, 5)])
    assert v.linearizable is False and v.rule == "no-order" and v.culprits


def test_search_gives_up_at_its_time_limit(monkeypatch):
    from prodcon.history import search as exact_search

    monkeypatch.setattr(exact_search, "CHECK_EVERY", 1)
    rows = [put(f"p{i}", i % 2, 0, 100) for i in range(60)]
    rows += [get("c", (i // 2) % 2, 200 + 2 * i, 201 + 2 * i) for i in range(60)]
    v = check(history(*rows), 0, time_limit=0.0)
    assert v.linearizable is None and "unknown" in v.message


# --- the per-call verdict ------------------------------------------------------------

#: The textbook semaphore bounded buffer, maxsize 2, as a controlled schedule recorded
#: it: p0's put of 1 took its slot at step 2 and published its item only at step 11.
#: Meanwhile p1's put_nowait saw both slots taken (Full) and c0's get_nowait, after
#: taking 0, saw no item (Empty). Each answer is true at its own instant.
TEXTBOOK = [put("p0", 0, 0, 1), put("p0", 1, 2, 11), full("p1", 2, 3, 4), get("c0", 0, 5, 6),
            empty("c0", 9, 10), get("c0", 1, 12, 13)]


def per_call_rule(rows, maxsize=0):
    found = per_call(history(*rows), maxsize)
    return found and found.rule


def test_textbook_buffer_passes_per_call_but_is_not_linearizable():
    assert per_call(history(*TEXTBOOK), 2) is None
    strict = verdict(TEXTBOOK, maxsize=2)
    assert strict.linearizable is False and strict.prop == "strict-linearizability"
    message, culprits = split_call(history(*TEXTBOOK), 2)
    assert culprits == (1, 2, 4)
    assert "p0's put(1) [2 .. 11] was under way when p1's put(2) raised Full [3 .. 4]" in message
    assert "c0's get() raised Empty [9 .. 10]" in message
    assert "reserves its slot before it publishes its item" in message


def test_false_empty_while_an_item_was_certainly_inside():
    rows = [put("p", 1, 0, 1), empty("c", 2, 3), get("c", 1, 4, 5)]
    found = per_call(history(*rows))
    assert found.rule == "false-empty" and found.prop == "full-empty"
    assert found.culprits == (1, 0, 2)
    assert "certainly held an item: 1 (put returned at 1, first asked for at 4)" in found.message
    # A get under way that had begun before the Empty may have taken the item...
    claimed = [put("p", 1, 0, 1), get("d", 1, 2, 6), empty("c", 3, 4)]
    assert per_call_rule(claimed) is None
    # ...but not two of them.
    two = [put("p", 1, 0, 1), put("p", 2, 1, 2), get("d", 1, 3, 9), empty("c", 4, 5),
           get("d", 2, 10, 11)]
    found = per_call(history(*two))
    assert found.rule == "false-empty" and "1 get(s) under way meanwhile" in found.message


def test_false_full_while_there_was_certainly_room():
    rows = [put("p", 1, 0, 1), get("c", 1, 2, 3), full("q", 2, 4, 5)]
    found = per_call(history(*rows), 1)
    assert found.rule == "false-full" and found.prop == "full-empty"
    assert "held at most 0 item(s) at any moment of that call" in found.message
    # A put under way, or a get not yet returned, may hold the one place.
    assert per_call_rule([put("p", 1, 0, 6), full("q", 2, 4, 5), get("c", 1, 7, 8)], 1) is None
    assert per_call_rule([put("p", 1, 0, 1), get("c", 1, 2, 6), full("q", 2, 4, 5)], 1) is None
    assert per_call_rule([full("q", 2, 4, 5)], 0) == "false-full"


def test_per_call_keeps_order_capacity_and_conservation():
    assert per_call_rule([put("p", 1, 0, 1), put("p", 2, 2, 3), get("c", 2, 4, 5),
                          get("c", 1, 6, 7)]) == "order"
    assert per_call_rule([put("p", 1, 0, 1), put("q", 2, 2, 3), get("c", 1, 4, 5),
                          get("c", 2, 6, 7)], 1) == "overfull"
    assert per_call_rule([get("c", 9, 0, 1)]) == "invented"
    assert per_call_rule([get("c", None, 0, 1)[:3] + ("Full", 0, 1)]) == "wrong-error"
    with pytest.raises(ValueError, match="unique put values"):
        per_call(history(put("p", 1, 0, None)))


def test_an_item_taken_by_a_get_counted_for_another_is_not_atomic():
    # p1's put stored 1 before counting it; c0's get, counting on 2, took 1; the Empty
    # then saw no item to count though 2 was inside.
    rows = [put("p1", 1, 0, 9), put("p0", 2, 1, 2), get("c0", 1, 3, 4), empty("c0", 7, 8),
            get("c0", 2, 11, 12)]
    assert per_call_rule(rows) is None
    strict = verdict(rows)
    assert strict.rule == "empty-while-held" and strict.prop == "strict-linearizability"
    assert strict.culprits == (3, 1, 2, 0)
    assert "c0's get() -> 1 [3 .. 4] may count for 2" in strict.message


def test_a_get_that_takes_before_it_frees_a_place_is_not_atomic():
    # c1's get took 1 at once (so the Empty is right) but freed its place only at the
    # end (so the Full is right): no single order has both.
    rows = [put("p", 1, 0, 1), get("c1", 1, 2, 10), empty("c2", 3, 4), full("q", 9, 5, 6),
            put("q", 2, 11, 12), get("c2", 2, 13, 14)]
    assert per_call_rule(rows, 1) is None
    assert verdict(rows, maxsize=1).rule == "no-order"
    message, culprits = split_call(history(*rows), 1)
    assert culprits == (1, 2, 3)
    assert "took its item before it freed the item's place" in message


class _Buffer:
    """Dijkstra's bounded buffer, one step at a time: the semaphores and the locked
    deque of tests/zoo/correct/semaphore_deque.py, each update an atomic step."""

    def __init__(self, maxsize):
        self.slots = maxsize if maxsize > 0 else None
        self.filled = 0
        self.items = []

    def put(self, value, block):
        while self.slots == 0:
            if not block:
                raise LookupError("Full")
            yield
        if self.slots is not None:
            self.slots -= 1
        yield
        self.items.append(value)
        yield
        self.filled += 1

    def get(self, block):
        while self.filled == 0:
            if not block:
                raise LookupError("Empty")
            yield
        self.filled -= 1
        yield
        value = self.items.pop(0)
        yield
        if self.slots is not None:
            self.slots += 1
        return value


def semaphore_buffer_run(rng: random.Random, maxsize: int):
    """A random interleaving of producers and consumers on `_Buffer`, as a history."""
    buffer, rows, clock = _Buffer(maxsize), [], [0]

    def recorded(thread, op, body, value=None):
        start = clock[0]
        try:
            got = yield from body
        except LookupError as exc:
            rows.append((thread, op, value, str(exc), start, clock[0]))
            return False
        rows.append((thread, op, value if op == "put" else got, None, start, clock[0]))
        return True

    def producer(name, values):
        for value in values:
            while not (yield from recorded(name, "put", buffer.put(value, rng.random() < 0.5),
                                           value)):
                yield

    def consumer(name, count):
        for _ in range(count):
            while not (yield from recorded(name, "get", buffer.get(rng.random() < 0.5))):
                yield

    per_producer = rng.randrange(1, 4)
    threads = [producer(f"p{i}", range(10 * i, 10 * i + per_producer)) for i in range(2)]
    threads += [consumer("c0", per_producer), consumer("c1", per_producer)]
    while threads:
        thread = rng.choice(threads)
        clock[0] += 1
        try:
            next(thread)
        except StopIteration:
            threads.remove(thread)
    return rows


def test_per_call_never_fails_a_semaphore_bounded_buffer():
    rng = random.Random(4)
    not_atomic = 0
    for _ in range(3000):
        maxsize = rng.choice((0, 1, 2))
        ops = history(*semaphore_buffer_run(rng, maxsize))
        found = per_call(ops, maxsize)
        assert found is None, (found.message, ops)
        not_atomic += check(ops, maxsize).linearizable is False
    assert not_atomic > 100  # the runs do reach what only strict linearizability forbids


# --- the rules against the exact search ----------------------------------------------


def legal_run(rng: random.Random, maxsize: int, length: int):
    """Calls of a real sequential run on a FIFO queue, stretched into overlapping intervals."""
    inside, rows, fresh = [], [], iter(range(1000))
    for point in range(0, 4 * length, 4):
        choice = rng.random()
        thread = f"t{rng.randrange(3)}"
        start = point - rng.choice((0, 0, 1, 2, 3, 5, 9))
        end = point + rng.choice((0, 0, 1, 2, 3, 5, 9))
        if choice < 0.5:
            if maxsize > 0 and len(inside) >= maxsize:
                rows.append(full(thread, next(fresh), start, end))
            else:
                value = next(fresh)
                inside.append(value)
                rows.append(put(thread, value, start, end))
        elif inside:
            rows.append(get(thread, inside.pop(0), start, end))
        else:
            rows.append(empty(thread, start, end))
    return rows


def mutate(rng: random.Random, rows):
    """One small change that may (or may not) make the run impossible."""
    rows = list(rows)
    if not rows:
        return rows
    i = rng.randrange(len(rows))
    t, o, v, e, s, en = rows[i]
    kind = rng.randrange(5)
    if kind == 0:  # move the call in time
        shift = rng.choice((-8, -4, -2, 2, 4, 8))
        rows[i] = (t, o, v, e, s + shift, en + shift)
    elif kind == 1 and o == "get":  # a different answer
        values = [r[2] for r in rows if r[1] == "put" and r[3] is None]
        if e is None or not values:
            rows[i] = empty(t, s, en)
        else:
            rows[i] = get(t, rng.choice(values), s, en)
    elif kind == 2 and o == "put":  # Full instead of success, or the other way round
        rows[i] = (t, o, v, None if e else "Full", s, en)
    elif kind == 3:  # drop a call
        del rows[i]
    else:  # swap the values of two gets
        gets = [k for k, r in enumerate(rows) if r[1] == "get" and r[3] is None]
        if len(gets) >= 2:
            a, b = rng.sample(gets, 2)
            rows[a], rows[b] = rows[a][:2] + rows[b][2:3] + rows[a][3:], \
                rows[b][:2] + rows[a][2:3] + rows[b][3:]
    return rows


def anything(rng: random.Random, length: int):
    """Calls made of anything at all (put values unique, every call returned)."""
    rows, fresh = [], iter(range(1000))
    for _ in range(length):
        start = rng.randrange(12)
        end = start + rng.randrange(6)
        thread = f"t{rng.randrange(3)}"
        choice = rng.random()
        if choice < 0.35:
            rows.append(put(thread, next(fresh), start, end))
        elif choice < 0.45:
            rows.append(full(thread, 900 + len(rows), start, end))
        elif choice < 0.85:
            rows.append(get(thread, rng.randrange(max(1, length // 2)), start, end))
        else:
            rows.append(empty(thread, start, end))
    return rows


def agree(rows, maxsize):
    ops = history(*rows)
    if not fast_path_applies(ops):
        return
    rules = Rules(ops, maxsize, str).verdict()
    exact = search(ops, maxsize, time_limit=30)
    assert exact.linearizable is not None
    shown = "\n".join(map(repr, ops))
    if rules.linearizable is False or maxsize <= 0:
        # Sound always; for an unbounded queue complete too.
        assert rules.linearizable == exact.linearizable, (
            f"rules say {rules.linearizable} ({rules.rule}: {rules.message}), exact search "
            f"says {exact.linearizable}; maxsize={maxsize}\n{shown}")
    assert check(ops, maxsize).linearizable == exact.linearizable, shown


def random_history(rng: random.Random):
    maxsize = rng.choice((0, 0, 1, 1, 2, 3))
    length = rng.randrange(1, 9)
    kind = rng.random()
    if kind < 0.35:
        rows = legal_run(rng, maxsize, length)
    elif kind < 0.8:
        rows = mutate(rng, legal_run(rng, maxsize, length))
    else:
        rows = anything(rng, length)
    return rows, maxsize


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.randoms(use_true_random=False))
def test_rules_agree_with_exact_search_hypothesis(rng):
    agree(*random_history(rng))


def test_rules_agree_with_exact_search_many():
    rng = random.Random(CROSS_CHECK_SEED)
    for _ in range(CROSS_CHECKS):
        agree(*random_history(rng))


def test_legal_runs_are_linearizable_by_rules_and_search():
    rng = random.Random(7)
    for _ in range(500):
        maxsize = rng.choice((0, 1, 2))
        ops = history(*legal_run(rng, maxsize, rng.randrange(1, 30)))
        assert check(ops, maxsize).linearizable
        assert Rules(ops, maxsize, str).verdict().linearizable
