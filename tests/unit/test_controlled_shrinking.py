"""Shrinking a controlled failure, in process: ddmin on the forced switches, and the
plans one step smaller that the search for fewer calls tries."""

from prodcon.controlled.minimize import ddmin
from prodcon.controlled.queue_exploration import QueuePlan, _smaller


def test_ddmin_finds_the_few_switches_that_matter():
    calls = []

    def fails(keys):
        calls.append(len(keys))
        return {3, 71} <= set(keys)
    assert ddmin(list(range(100)), fails, budget=400) == [3, 71]
    assert len(calls) <= 400
    assert ddmin(list(range(100)), lambda keys: True, budget=400) == []


def test_smaller_plans_take_one_step_at_a_time():
    assert [p.id for p in _smaller(QueuePlan(2, 2, 1, 2))] == [
        "2p2c-max1-1each-blocking-join", "1p2c-max1-2each-blocking-join",
        "2p1c-max1-2each-blocking-join"]
    assert _smaller(QueuePlan(1, 1, 0, 1, "timed", join=False)) == []
