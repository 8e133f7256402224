"""Shrinking a controlled failure, in process: ddmin on the forced switches, and the
plans one step smaller that the search for fewer calls tries."""

import importlib.util
import json
import sys
from dataclasses import asdict

import pytest

from prodcon.controlled import queue_exploration
from prodcon.controlled.minimize import ddmin
from prodcon.controlled.queue_exploration import QueuePlan, _minimized, _smaller, explore_queue
from prodcon.errors import KitError


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


RAISES_ONCE = '''\
import queue
from queue import Empty, Full

_raised = []


class Queue(queue.Queue):
    def get(self, block=True, timeout=None):
        if not _raised:  # the first get of the process, whatever the schedule
            _raised.append(True)
            raise RuntimeError("only once")
        return super().get(block, timeout)
'''


def test_a_failure_that_does_not_replay_is_not_judged_and_says_what_it_found(tmp_path,
                                                                              monkeypatch):
    """A run that fails for a reason its schedule does not decide (here, state the module
    keeps from one run to the next) cannot be replayed or shrunk: the report says so, and
    what the run found, and judges nothing (the kit's error, not a verdict)."""
    path = tmp_path / "raises_once.py"
    path.write_text(RAISES_ONCE)
    spec = importlib.util.spec_from_file_location("raises_once", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "raises_once", module)
    spec.loader.exec_module(module)
    found = json.loads(explore_queue(module, json.dumps(asdict(QueuePlan(2, 2, 1, 2))), 1, 20))
    assert found["props"] == [] and found["trace"] == ""
    assert "the replay went another way" in found["kit_doing"]
    assert "module-level variable" in found["kit_doing"]
    assert "raised RuntimeError: only once" in found["kit_error"]


def test_the_kits_own_failure_while_replaying_is_not_blamed_on_the_run():
    """Only a replay that went another way is said to be one; any other failure of the
    kit's own during the replay is reported as it is."""
    own = KitError("recording a call", "Traceback: the kit's")

    def attempt(strategy):
        raise own

    class Result:
        schedule = [0, 1]
    with pytest.raises(KitError) as caught:
        _minimized(attempt, Result(), [], None, target=("exceptions",), most_calls=4)
    assert caught.value is own


def test_a_replay_that_ends_without_the_failure_is_not_judged(monkeypatch):
    """A replay that makes every recorded decision and finds nothing went another way
    too, without a decision to stumble on: what the first run found is not judged."""
    monkeypatch.setattr(queue_exploration, "_verdict",
                        lambda findings, run: (("exceptions",), "what the first run found"))

    class Result:
        schedule, steps = [1, 0], 9

    def attempt(strategy):
        strategy.begin_run()
        for decision in ([0, 1], [0, 1]):
            strategy.choose(decision, 0)
        return Result(), [], None
    with pytest.raises(KitError) as caught:
        _minimized(attempt, Result(), ["a finding"], None, target=("exceptions",), most_calls=4)
    assert "the replay went another way" in caught.value.doing
    assert "made 2 of the run's 2 recorded decisions and found nothing" in caught.value.trace
    assert "what the first run found" in caught.value.trace
