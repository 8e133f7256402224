"""shutdown(immediate=False) with Python 3.13's semantics, when the Queue has it.

After shutdown, puts raise ShutDown; gets drain what is left, then raise ShutDown;
blocked callers wake with ShutDown; immediate=True discards what is left and
counts each discarded item as a finished task, so join() callers are released.
"""

import pytest

from prodcon.session.kit import Item, expect

pytestmark = pytest.mark.prodcon_role("queue")

LONG = 10.0


@pytest.fixture
def q(prodcon):
    if not hasattr(prodcon.impl.Queue, "shutdown"):
        pytest.skip("this Queue has no shutdown() (optional in the contract)")
    if prodcon.ShutDown is None:
        pytest.skip("no ShutDown exception: define ShutDown next to Queue")
    return prodcon.queue(2)


def _put(prodcon, q, item):
    prodcon.returns(f"put({item!r})", q.put, item, prop="capacity", due="room")


# This test and test_immediate_shutdown_discards_and_releases_join catch no zoo module
# today (benchmarks/kill_matrix.py): kept, they are the only checks of those rules.
def test_put_after_shutdown_raises(prodcon, q):
    prodcon.returns("shutdown()", q.shutdown, prop="queue-shutdown", due="shutdown() returns")
    for form, fn, args in [("put(x)", q.put, (Item(0, 0),)),
                           ("put_nowait(x)", q.put_nowait, (Item(0, 1),))]:
        prodcon.raises(prodcon.ShutDown, f"{form} after shutdown()", fn, *args,
                       prop="queue-shutdown", due="puts after shutdown() raise ShutDown")


def test_get_drains_then_raises(prodcon, q):
    items = [Item(0, 0), Item(0, 1)]
    for item in items:
        _put(prodcon, q, item)
    prodcon.returns("shutdown()", q.shutdown, prop="queue-shutdown", due="shutdown() returns")
    for item in items:
        got = prodcon.returns("get() after shutdown()", q.get, prop="queue-shutdown",
                              due="gets drain the items left after shutdown()")
        expect(got is item, "queue-shutdown", f"get() after shutdown() returned {got!r}; "
               f"{item!r} was due")
    prodcon.raises(prodcon.ShutDown, "get() on a shut-down, empty queue", q.get,
                   prop="queue-shutdown", due="once drained, gets raise ShutDown")
    prodcon.raises(prodcon.ShutDown, "get_nowait() on a shut-down, empty queue", q.get_nowait,
                   prop="queue-shutdown", due="once drained, gets raise ShutDown, not Empty")


def test_shutdown_wakes_blocked_getters_and_putters(prodcon, q):
    getter = prodcon.start(q.get)
    prodcon.must_block(getter, "get() on an empty queue", prop="blocking")
    prodcon.returns("shutdown()", q.shutdown, prop="queue-shutdown", due="shutdown() returns")
    try:
        got = getter.result(prodcon.settings, LONG, prop="queue-shutdown",
                            what="a get() blocked before shutdown()")
    except prodcon.ShutDown:
        pass
    else:
        expect(False, "queue-shutdown", f"a blocked get() returned {got!r} after shutdown(); "
               "it must raise ShutDown")

    full = prodcon.queue(1)
    _put(prodcon, full, Item(0, 0))
    putter = prodcon.start(full.put, Item(0, 1))
    prodcon.must_block(putter, "put() on a full queue", prop="blocking")
    prodcon.returns("shutdown()", full.shutdown, prop="queue-shutdown", due="returns")
    try:
        putter.result(prodcon.settings, LONG, prop="queue-shutdown",
                      what="a put() blocked before shutdown()")
    except prodcon.ShutDown:
        return
    expect(False, "queue-shutdown", "a blocked put() returned after shutdown(); it must raise "
           "ShutDown")


def test_immediate_shutdown_discards_and_releases_join(prodcon, q):
    for seq in range(2):
        _put(prodcon, q, Item(0, seq))
    joiner = prodcon.start(q.join)
    prodcon.must_block(joiner, "join() with 2 unfinished tasks", prop="join")
    prodcon.returns("shutdown(immediate=True)", q.shutdown, immediate=True,
                    prop="queue-shutdown", due="shutdown() returns")
    joiner.result(prodcon.settings, LONG, prop="queue-shutdown",
                  what="join() after shutdown(immediate=True) discarded every item")
    prodcon.raises(prodcon.ShutDown, "get() after shutdown(immediate=True)", q.get,
                   prop="queue-shutdown", due="immediate shutdown discards what was left")
    size = prodcon.returns("qsize()", q.qsize, prop="sizes", due="qsize() answers")
    expect(size == 0, "queue-shutdown", f"qsize() is {size} after shutdown(immediate=True); "
           "the items left were to be discarded")


def test_plain_shutdown_leaves_join_waiting_for_task_done(prodcon, q):
    item = Item(0, 0)
    _put(prodcon, q, item)
    prodcon.returns("shutdown()", q.shutdown, prop="queue-shutdown", due="shutdown() returns")
    joiner = prodcon.start(q.join)
    prodcon.must_block(joiner, "join() after shutdown() with 1 unfinished task", prop="join")
    prodcon.get_item(q, item, what="get_nowait() after shutdown()")
    prodcon.returns("task_done()", q.task_done, prop="exceptions", due="a task was unfinished")
    joiner.result(prodcon.settings, LONG, prop="join", what="join() after the last task_done()")
