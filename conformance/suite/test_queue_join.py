"""task_done() and join(): join returns only after every task_done(), and then does."""

import pytest

from prodcon.session.kit import Item, Shape, Violation

pytestmark = pytest.mark.prodcon_role("queue")

LONG = 10.0


def _put_and_take(prodcon, q, count, producer=0):
    items = [Item(producer, seq) for seq in range(count)]
    for item in items:
        prodcon.returns(f"put({item!r})", q.put, item, prop="capacity", due="room")
    for item in items:
        prodcon.get_item(q, item)
    return items


def test_join_on_a_new_queue_returns_at_once(prodcon):
    q = prodcon.queue(0)
    prodcon.returns("join() on a queue that never held an item", q.join, prop="join",
                    due="with no unfinished task join() returns at once")


def _join_waits_for_each_task_done(prodcon, q, count):
    _put_and_take(prodcon, q, count)
    joiners = [prodcon.start(q.join) for _ in range(2)]
    for done in range(count):
        prodcon.must_block_all(joiners, f"join() after {done} of {count} task_done() calls",
                               prop="join")
        prodcon.returns("task_done()", q.task_done, prop="exceptions",
                        due=f"{count - done} tasks were unfinished")
    for pending in joiners:
        pending.result(prodcon.settings, LONG, prop="join",
                       what=f"join() after all {count} task_done() calls")


def test_join_waits_for_every_task_done(prodcon):
    q = prodcon.queue(0)
    _join_waits_for_each_task_done(prodcon, q, 3)


def test_join_works_twice_on_one_queue(prodcon):
    q = prodcon.queue(2)
    _join_waits_for_each_task_done(prodcon, q, 2)
    prodcon.returns("join() again with no unfinished task", q.join, prop="join",
                    due="every task is done")
    _join_waits_for_each_task_done(prodcon, q, 2)


def test_join_waits_for_items_still_queued(prodcon):
    q = prodcon.queue(0)
    items = [Item(0, seq) for seq in range(2)]
    for item in items:
        prodcon.returns(f"put({item!r})", q.put, item, prop="capacity", due="room")
    pending = prodcon.start(q.join)
    prodcon.must_block(pending, "join() with 2 items still in the queue", prop="join")
    for item in items:
        prodcon.get_item(q, item)
    prodcon.must_block(pending, "join() after both items were taken but before any "
                       "task_done()", prop="join")
    for _ in items:
        prodcon.returns("task_done()", q.task_done, prop="exceptions", due="tasks unfinished")
    try:
        pending.result(prodcon.settings, LONG, prop="join", what="join() after every task_done()")
    except Exception as exc:
        raise Violation("join", f"join() raised {type(exc).__name__}: {exc}") from None


JOIN_SHAPES = [Shape(2, 2, 2, "slow-consumers"), Shape(4, 3, 0, "slow-consumers"),
               Shape(1, 4, 1, "slow-consumers")]


@pytest.mark.prodcon_stress
@pytest.mark.parametrize("shape", JOIN_SHAPES, ids=[s.id for s in JOIN_SHAPES])
def test_join_under_load(prodcon, shape):
    for _ in range(prodcon.profile.repeats):
        prodcon.run_join_scenario(shape, prodcon.rng, prodcon.profile.items_per_producer // 3)
