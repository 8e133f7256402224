"""The kit's look at calls that must be waiting: a late look is never the call's fault."""

import queue
import types

import pytest

from prodcon.session.kit import Kit
from prodcon.settings import PROFILES, Settings
from prodcon.verdict import Violation

STDLIB = types.SimpleNamespace(Full=queue.Full, Empty=queue.Empty, ShutDown=None)


@pytest.fixture
def kit():
    return Kit(Settings(seed=1, profile=PROFILES["quick"]), STDLIB, "probe")


def test_a_timeout_that_ran_out_before_the_look_is_not_a_failure(kit):
    """As a kit that was kept waiting past the timeout sees it: the call is over."""
    expired = kit.start(queue.Queue().get, timeout=0.02)
    waiting = kit.start(queue.Queue().get, timeout=5)
    assert expired.wait(5)
    assert kit.must_block_all([expired, waiting], "get(timeout=...)", prop="timeout",
                              expires=(queue.Empty, 0.02)) == [waiting]
    late = kit.start(queue.Queue().get, timeout=0.02)
    assert late.wait(5)
    assert not kit.must_block(late, "get(timeout=0.02)", expires=(queue.Empty, 0.02))


def test_a_timeout_that_fires_early_is_still_one(kit):
    def early(timeout):
        raise queue.Empty

    with pytest.raises(Violation) as raised:
        kit.must_block_all([kit.start(early, timeout=5)], "get(timeout=5)", prop="timeout",
                           expires=(queue.Empty, 5))
    assert raised.value.prop == "timeout" and "raised Empty after" in raised.value.message


def test_without_a_timeout_any_return_is_a_failure(kit):
    with pytest.raises(Violation, match="returned None after"):
        kit.must_block(kit.start(lambda: None), "get() on an empty queue")


def test_elapsed_stops_when_the_call_ends(kit):
    pending = kit.start(lambda: None)
    assert pending.wait(10)
    first = pending.elapsed
    assert pending.elapsed == first < 10
