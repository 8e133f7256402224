"""The linearizability checker: each rule on hand-made histories, and the rules as a
whole validated against the exact search on a great many small random histories.

The rules are only trusted because they agree with the exact search everywhere we
can look: two generators (legal runs with their calls' intervals stretched, then
perhaps one mutation; and histories made of anything at all) feed both checkers,
Hypothesis for shrinking what it finds and a seeded loop for sheer numbers.
"""

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodcon.exact_search import search
from prodcon.histfile import Op
from prodcon.linearizability import RULES, Rules, check, fast_path_applies

#: How many random histories the seeded loop checks (about 20 s on one core).
CROSS_CHECKS = int(os.environ.get("PRODCON_CROSS_CHECKS", "200000"))


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
    from prodcon import exact_search

    monkeypatch.setattr(exact_search, "CHECK_EVERY", 1)
    rows = [put(f"p{i}", i % 2, 0, 100) for i in range(60)]
    rows += [get("c", (i // 2) % 2, 200 + 2 * i, 201 + 2 * i) for i in range(60)]
    v = check(history(*rows), 0, time_limit=0.0)
    assert v.linearizable is None and "unknown" in v.message


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
    rng = random.Random(20261128)
    for _ in range(CROSS_CHECKS):
        agree(*random_history(rng))


def test_legal_runs_are_linearizable_by_rules_and_search():
    rng = random.Random(7)
    for _ in range(500):
        maxsize = rng.choice((0, 1, 2))
        ops = history(*legal_run(rng, maxsize, rng.randrange(1, 30)))
        assert check(ops, maxsize).linearizable
        assert Rules(ops, maxsize, str).verdict().linearizable
