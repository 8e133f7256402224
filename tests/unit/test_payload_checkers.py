"""Everyday payloads: the value keys, the generator, and the two checkers that judge by
value (the multiset taken against the multiset put; each producer's sequence), on
hand-made histories: each rule fires exactly when it must."""

import copy
import math
import queue
import random
import types

import pytest

from prodcon.engine import checkers
from prodcon.engine.recording import Call
from prodcon.engine.scenario import Stop, run_payload_scenario
from prodcon.items import CONSTANTS, make_payloads, name_value, value_key
from prodcon.settings import PROFILES, Settings, Shape
from prodcon.verdict import Violation


def call(thread, op, start, end, item=None, value=None):
    c = Call(thread, op, item, True, None)
    c.start, c.end, c.value = start, end, value
    return c


def history(batches, takes):
    """Each producer puts its batch in turn; `takes` is [(thread, value), ...], in order."""
    calls, t = [], 0
    for p, batch in enumerate(batches):
        for value in batch:
            calls.append(call(f"p{p}", "put", t, t + 1, item=value))
            t += 2
    for thread, value in takes:
        calls.append(call(thread, "get", t, t + 1, value=value))
        t += 2
    return calls


def judge(batches, takes, last=None):
    calls = history(batches, takes)
    return (checkers.conservation_of_values(calls, batches)
            + checkers.order_of_values(calls, batches, last=last))


# --- keys -------------------------------------------------------------------------------


def test_keys_tell_apart_what_equality_cannot():
    assert value_key(float("nan")) == value_key(float("nan"))  # though nan != nan
    assert value_key(-0.0) != value_key(0.0)  # though -0.0 == 0.0
    assert len({value_key(v) for v in (1, True, 1.0)}) == 3  # though all ==
    assert value_key({"a": [1]}) == value_key({"a": [1]})  # unhashable, still keyed
    assert value_key([1, 2]) != value_key((1, 2))


def test_values_are_named_with_their_type():
    assert name_value(7) == "the int 7"
    assert name_value(float("nan")) == "the float nan"
    assert name_value(None) == "None"
    assert name_value(b"") == "the bytes b''"


# --- the generator ----------------------------------------------------------------------


@pytest.mark.parametrize("producers", [1, 2, 5])
def test_each_value_belongs_to_one_producer(producers):
    batches = [make_payloads(p, producers, 200, random.Random(p)) for p in range(producers)]
    owners = {}
    for p, batch in enumerate(batches):
        for value in batch:
            owners.setdefault(value_key(value), set()).add(p)
    assert all(len(o) == 1 for o in owners.values())
    for batch in batches:  # equal values repeat inside a producer
        keys = [value_key(v) for v in batch]
        assert len(set(keys)) < len(keys)


def test_one_producer_gets_every_kind():
    batch = make_payloads(0, 1, 600, random.Random(3))
    kinds = {type(v) for v in batch}
    assert kinds >= {int, bool, float, str, bytes, tuple, dict, list, type(None)}
    assert any(isinstance(v, float) and math.isnan(v) for v in batch)
    assert any(abs(v) > 2 ** 62 for v in batch if type(v) is int)
    assert any(v < 0 for v in batch if type(v) is int)
    assert len(CONSTANTS) == len({value_key(make()) for make in CONSTANTS})


def test_a_seed_replays():
    one = make_payloads(1, 3, 100, random.Random(9))
    two = make_payloads(1, 3, 100, random.Random(9))
    assert [value_key(v) for v in one] == [value_key(v) for v in two]


# --- conservation by value --------------------------------------------------------------


def test_repeats_and_odd_values_pass_through():
    nan = float("nan")
    batch = [7, 7, nan, float("nan"), -0.0, 0.0, {"k": 1}, [1], None, True, 1, ""]
    takes = [("c0", v) for v in batch]
    takes[3] = ("c0", float("nan"))  # another nan object, equal in value
    assert judge([batch], takes) == []


def test_a_lost_int_is_named_with_its_producer_and_place():
    batches = [[0, 7, 2], [1]]
    [violation] = judge(batches, [("c0", 0), ("c0", 2), ("c0", 1)])
    assert violation.prop == "conservation"
    assert "1 value put was never taken: the int 7 (put by p0, its 2nd item)" in \
        violation.message


def test_a_lost_repeat_is_counted():
    [violation] = judge([[5, 5, 5]], [("c0", 5), ("c0", 5)])
    assert "the int 5 (put 3 times by p0, its 1st, 2nd and 3rd items; taken twice, 1 short)" \
        in violation.message


def test_lost_nan_and_negative_zero_are_told_from_their_lookalikes():
    # -0.0 taken where 0.0 was put, and no nan taken: == alone would see no loss of 0.0
    found = judge([[0.0, float("nan")]], [("c0", -0.0)])
    text = "\n".join(v.message for v in found)
    assert "the float 0.0" in text and "the float nan" in text
    assert "no producer put: the float -0.0" in text


def test_a_doubled_value_names_its_takers():
    [violation] = judge([["a", "b"]], [("c0", "a"), ("c1", "a"), ("c0", "b")])
    assert violation.prop == "conservation"
    assert "the str 'a' (put by p0, its 1st item; taken twice, by c0, c1)" in violation.message


def test_a_converted_value_is_lost_and_invented():
    found = judge([[b"job"]], [("c0", "job")])
    assert [v.prop for v in found] == ["conservation", "conservation"]
    assert "the bytes b'job'" in found[0].message
    assert "no producer put: the str 'job'" in found[1].message


def test_the_kits_stop_markers_are_not_values():
    stop = object()
    calls = history([[1]], [("c0", 1), ("c0", stop)])
    assert checkers.conservation_of_values(calls, [[1]], extra=[stop]) == []


def test_an_equal_copy_of_a_stop_marker_is_the_kits_own():
    stop = Stop(0)
    calls = history([[1]], [("c0", 1), ("c0", copy.copy(stop))])
    assert checkers.conservation_of_values(calls, [[1]], extra=[stop]) == []


# --- order by value ---------------------------------------------------------------------


def test_one_consumer_takes_each_producers_values_in_order():
    batches = [[1.5, 3.5, 1.5], ["a", "a", "b"]]
    good = [("c0", 1.5), ("c0", "a"), ("c0", 3.5), ("c0", "a"), ("c0", "b"), ("c0", 1.5)]
    assert judge(batches, good) == []
    bad = [("c0", 3.5), ("c0", 1.5), ("c0", 1.5), ("c0", "a"), ("c0", "a"), ("c0", "b")]
    [violation] = judge(batches, bad)
    assert violation.prop == "order"
    assert ("c0 took the float 1.5 (p0's 1st and 3rd items) twice after the float 3.5 (p0's "
            "2nd item), but p0 put it only once after that one") in violation.message
    swapped = [("c0", "b"), ("c0", "a"), ("c0", "a"), ("c0", 1.5), ("c0", 3.5), ("c0", 1.5)]
    [violation] = judge(batches, swapped)
    assert violation.message.startswith(
        "c0 took the str 'a' (p1's 1st and 2nd items) after the str 'b' (p1's 3rd item), "
        "although p1 put it before that one: one producer's values come out in the order")


def test_consumers_split_a_producers_values_between_them():
    # each consumer's share is a subsequence of p0's values: fine, however interleaved
    batch = [1, 2, 1, 3, 1]
    assert judge([batch], [("c0", 1), ("c1", 2), ("c1", 1), ("c0", 3), ("c1", 1)]) == []
    assert judge([batch], [("c0", 3), ("c0", 1), ("c1", 1), ("c1", 2), ("c1", 1)]) == []
    [violation] = judge([batch], [("c0", 3), ("c0", 2), ("c1", 1), ("c1", 1), ("c1", 1)])
    assert violation.prop == "order" and violation.message.startswith("c0 took the int 2")


def test_the_drain_continues_each_consumer():
    # c0 took 2, the drain (after c0 returned) took 1: 1 came out after 2
    [violation] = judge([[1, 2]], [("c0", 2), ("drain", 1)], last="drain")
    assert violation.message.startswith("c0 (then drain) took the int 1")
    assert judge([[1, 2]], [("c0", 1), ("drain", 2)], last="drain") == []


def test_a_drain_overlapping_a_consumer_is_not_chained():
    batches = [[1, 2]]
    calls = [call("p0", "put", 0, 1, item=1), call("p0", "put", 2, 3, item=2),
             call("c0", "get", 4, 10, value=2), call("drain", "get", 5, 6, value=1)]
    assert checkers.order_of_values(calls, batches, last="drain") == []


def test_values_several_producers_put_are_counted_not_ordered():
    batches = [[0, 1], [0]]
    takes = [("c0", 1), ("c0", 0), ("c0", 0)]
    assert judge(batches, takes) == []


# --- the scenario, in-process -----------------------------------------------------------

SETTINGS = Settings(seed=20261128, profile=PROFILES["quick"])


def impl(cls):
    return types.SimpleNamespace(Queue=cls, Empty=queue.Empty, Full=queue.Full)


class SetLikeQueue(queue.Queue):
    """Drops a put whose value equals one still inside."""

    def _put(self, item):
        if not any(type(x) is type(item) and x == item for x in self.queue):
            self.queue.append(item)


class SmallestNumberFirst(queue.Queue):
    def _get(self):
        numbers = [x for x in self.queue if type(x) in (int, float) and x == x]
        if numbers:
            smallest = min(numbers)
            index = next(i for i, x in enumerate(self.queue) if x is smallest)
            item = self.queue[index]
            del self.queue[index]
            return item
        return self.queue.popleft()


@pytest.mark.parametrize("shape", [Shape(1, 1, 0), Shape(3, 2, 2, "slow-consumers")])
def test_a_correct_queue_passes(shape):
    for seed in range(3):
        run_payload_scenario(SETTINGS, impl(queue.Queue), shape, random.Random(seed), 60)


def test_a_set_like_queue_loses_repeats():
    with pytest.raises(Violation) as raised:
        run_payload_scenario(SETTINGS, impl(SetLikeQueue), Shape(1, 1, 0, "slow-consumers"),
                             random.Random(1), 80)
    assert raised.value.props == ("conservation",), raised.value.message
    assert "never taken" in raised.value.message


def test_numbers_served_first_is_an_order_bug():
    with pytest.raises(Violation) as raised:
        run_payload_scenario(SETTINGS, impl(SmallestNumberFirst),
                             Shape(1, 1, 0, "slow-consumers"), random.Random(1), 80)
    assert raised.value.props == ("order",), raised.value.message
