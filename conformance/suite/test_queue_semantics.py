"""queue.Queue's documented semantics, one call at a time, in quiescent states.

Every call is bounded; what each call must do is stated next to it, so a failure
reads as "put_nowait(p0#2) raised Full; a queue with maxsize=3 holding 2 items has
room".
"""

import pytest

from prodcon.session.kit import (
    PLAIN_VALUES,
    EqualsEverything,
    FalsyItem,
    Item,
    TouchyItem,
    UnhashableItem,
    Violation,
    describe,
    expect,
    put_all,
)

pytestmark = pytest.mark.prodcon_role("queue")

BOUNDED = [1, 2, 3, 7]
UNBOUNDED = [0, -1, -7]


def test_fifo_one_producer(prodcon):
    """250 items: a queue that swaps two items once in 200 gets fails here, by order,
    every run; in a stress run the swap may fall between two producers' items, where
    only the history checker can see it."""
    q = prodcon.queue(0)
    items = [Item(0, seq) for seq in range(250)]
    for item in items:
        prodcon.returns(f"put_nowait({item!r})", q.put_nowait, item, prop="capacity",
                        due="an unbounded queue (maxsize=0) always has room")
    for item in items:
        prodcon.get_item(q, item)


@pytest.mark.parametrize("maxsize", BOUNDED)
def test_bounded_capacity(prodcon, maxsize):
    q = prodcon.queue(maxsize)
    items = [Item(0, seq) for seq in range(maxsize)]
    for held, item in enumerate(items):
        prodcon.returns(f"put_nowait({item!r})", q.put_nowait, item, prop="capacity",
                        due=f"a queue with maxsize={maxsize} holding {held} items has room")
    extra = Item(0, maxsize)
    full = prodcon.Full
    due = f"a queue holding maxsize={maxsize} items is full: the non-blocking put raises Full"
    prodcon.raises(full, f"put_nowait({extra!r})", q.put_nowait, extra, prop="capacity",
                   stuck="blocking", due=due)
    prodcon.raises(full, f"put({extra!r}, block=False)", q.put, extra, block=False,
                   prop="capacity", stuck="blocking", due=due)
    prodcon.raises(full, f"put({extra!r}, timeout=0)", q.put, extra, timeout=0,
                   prop="capacity", due=due)
    prodcon.raises(full, f"put({extra!r}, False, 10)", q.put, extra, False, 10,
                   prop="capacity", stuck="blocking",
                   due="block=False ignores the timeout and never waits")
    for item in items:
        prodcon.get_item(q, item)
    prodcon.raises(prodcon.Empty, "get_nowait()", q.get_nowait, prop="conservation",
                   stuck="blocking", due=f"only {maxsize} items were put and all were taken")


@pytest.mark.parametrize("maxsize", UNBOUNDED)
def test_unbounded_never_full(prodcon, maxsize):
    q = prodcon.queue(maxsize)
    count = 1000
    # One bounded call for the thousand puts, where the queue lives: a thread per put
    # would cost more than them, and a sandboxed queue a round trip each.
    what = f"{count} put_nowait() calls"
    result = prodcon.at_once(what, put_all, q, count)
    if result.error is not None:
        raise Violation("capacity", f"{what} {result.text()}; put_nowait() returns.")
    stored = result.value
    if stored < count:
        item = Item(0, stored)
        again = prodcon.outcome(f"put_nowait({item!r})", q.put_nowait, item, prop="capacity")
        raise Violation("capacity", f"put_nowait({item!r}) failed after {stored} items were "
                        f"stored (asked again, it {again.text()}); maxsize={maxsize} (<= 0) "
                        "means unbounded: no put ever raises Full")
    full = prodcon.returns("full()", q.full, prop="sizes", due="full() answers")
    expect(not full, "sizes", f"full() returned {full!r} for an unbounded queue "
           f"(maxsize={maxsize}); it is never full")
    size = prodcon.returns("qsize()", q.qsize, prop="sizes", due="qsize() answers")
    expect(size == count, "sizes", f"qsize() returned {size!r} with {count} items in the queue")


@pytest.mark.parametrize("form", ["get_nowait()", "get(block=False)", "get(timeout=0)",
                                  "get(False, 10)"],
                         ids=["get_nowait", "get-block-False", "get-timeout-0", "get-False-10"])
def test_nonblocking_get_on_empty_raises_empty(prodcon, form):
    q = prodcon.queue(2)
    args = {"get_nowait()": (q.get_nowait, (), {}),
            "get(block=False)": (q.get, (), {"block": False}),
            "get(timeout=0)": (q.get, (), {"timeout": 0}),
            "get(False, 10)": (q.get, (False, 10), {})}[form]
    fn, pos, kw = args
    prodcon.raises(prodcon.Empty, form, fn, *pos, prop="exceptions", stuck="blocking", **kw,
                   due="on an empty queue the non-blocking get raises Empty at once "
                   f"({prodcon.Empty.__module__}.{prodcon.Empty.__name__})")


@pytest.mark.parametrize("maxsize", [1, 3, 0, -1])
def test_sizes_in_quiescent_states(prodcon, maxsize):
    q = prodcon.queue(maxsize)
    model = 0
    steps = ["put"] * (maxsize if maxsize > 0 else 5) + ["get"] * 2 + ["put"] + ["get"] * 10
    for step in steps:
        _check_sizes(prodcon, q, model, maxsize)
        if step == "put":
            if maxsize > 0 and model >= maxsize:
                continue
            prodcon.returns("put_nowait(...)", q.put_nowait, Item(0, model), prop="capacity",
                            due=f"the queue holds {model} items and has room")
            model += 1
        elif model:
            prodcon.returns("get_nowait()", q.get_nowait, prop="conservation",
                            due=f"the queue holds {model} items")
            model -= 1
    _check_sizes(prodcon, q, model, maxsize)


def _check_sizes(prodcon, q, held, maxsize):
    state = f"with {held} item(s) in a queue of maxsize={maxsize} and no call running"
    size = prodcon.returns("qsize()", q.qsize, prop="sizes", due="qsize() answers")
    expect(size == held, "sizes", f"qsize() returned {size!r} {state}; {held} was due")
    empty = prodcon.returns("empty()", q.empty, prop="sizes", due="empty() answers")
    expect(bool(empty) == (held == 0), "sizes", f"empty() returned {empty!r} {state}")
    full = prodcon.returns("full()", q.full, prop="sizes", due="full() answers")
    expect(bool(full) == (0 < maxsize <= held), "sizes", f"full() returned {full!r} {state}")


def test_negative_timeout_raises_value_error(prodcon):
    """Only where queue.Queue itself raises: on a bounded queue's put and on every get
    (the standard library's unbounded put(timeout=-1) never waits, so never checks)."""
    q = prodcon.queue(3)
    due = "a negative timeout is refused with ValueError, as queue.Queue does"
    prodcon.raises(ValueError, "get(timeout=-1) on an empty queue", q.get, timeout=-1,
                   prop="exceptions", due=due)
    prodcon.raises(ValueError, "put(x, timeout=-1) on a bounded queue", q.put, Item(0, 0),
                   timeout=-1, prop="exceptions", due=due)
    size = prodcon.returns("qsize()", q.qsize, prop="sizes", due="qsize() answers")
    expect(size == 0, "exceptions", f"put(x, timeout=-1) raised but stored the item (qsize()="
           f"{size!r}); a refused put leaves the queue unchanged")
    prodcon.returns("put_nowait(p0#1)", q.put_nowait, Item(0, 1), prop="capacity",
                    due="the queue is empty")
    prodcon.raises(ValueError, "get(timeout=-1) on a queue holding an item", q.get,
                   timeout=-1, prop="exceptions", due=due)


def test_task_done_too_many_times_raises_value_error(prodcon):
    q = prodcon.queue(0)
    due = "task_done() called more times than items were put raises ValueError"
    prodcon.raises(ValueError, "task_done() on a new queue", q.task_done, prop="exceptions",
                   due=due)
    item = Item(0, 0)
    prodcon.returns("put_nowait(p0#0)", q.put_nowait, item, prop="capacity", due="room")
    prodcon.get_item(q, item)
    prodcon.returns("task_done()", q.task_done, prop="exceptions",
                    due="one item was put and taken, so one task_done() is due")
    prodcon.raises(ValueError, "a second task_done() for one item", q.task_done,
                   prop="exceptions", due=due)


def _odd_values():
    return [*PLAIN_VALUES, [], {}, set(), bytearray(), float("nan"), object(),
            FalsyItem(0, 0), EqualsEverything(0, 1), UnhashableItem(0, 2), TouchyItem(0, 3)]


@pytest.mark.parametrize("maxsize", [0, 3])
def test_any_object_is_an_item(prodcon, maxsize):
    q = prodcon.queue(maxsize)
    values = _odd_values()
    for start in range(0, len(values), 3):
        chunk = values[start:start + 3]
        for value in chunk:
            prodcon.returns(f"put({describe(value)})", q.put, value, prop="any-item",
                            due="any object is a valid item")
        for value in chunk:
            got = prodcon.returns("get()", q.get, prop="any-item",
                                  due=f"{describe(value)} was in the queue")
            if got is not value:
                raise Violation("any-item", f"put({describe(value)}) then get() returned "
                                f"{describe(got)}; the very object put was due.")
    prodcon.raises(prodcon.Empty, "get_nowait()", q.get_nowait, prop="any-item",
                   stuck="blocking", due="every item put was taken, so the queue is empty")
