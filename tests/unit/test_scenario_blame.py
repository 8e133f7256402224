"""What a queue scenario blames when items are still inside once the consumers return."""

import queue
import random
import types

import pytest

from prodcon.engine.scenario import run_queue_scenario
from prodcon.settings import PROFILES, Settings, Shape
from prodcon.verdict import Violation

SETTINGS = Settings(seed=20261128, profile=PROFILES["quick"])


def stdlib(cls):
    return types.SimpleNamespace(Queue=cls, Empty=queue.Empty, Full=queue.Full)


@pytest.mark.parametrize("seed", range(3))
def test_a_stack_is_an_order_bug_not_a_loss(seed):
    """Slow consumers let items pile up; the stop marker put last comes out first, the
    consumer returns, and the items under it are still inside: taken by the kit, they
    show the order bug. Counted as never taken, they would read as lost items."""
    with pytest.raises(Violation) as raised:
        run_queue_scenario(SETTINGS, stdlib(queue.LifoQueue), Shape(1, 1, 0, "slow-consumers"),
                           random.Random(seed), 30)
    assert raised.value.props == ("order",), raised.value.message


def test_nothing_left_inside_a_correct_queue_is_taken_twice():
    run_queue_scenario(SETTINGS, stdlib(queue.Queue), Shape(3, 3, 2), random.Random(1), 40)
