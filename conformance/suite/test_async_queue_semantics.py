"""asyncio.Queue's documented semantics, one call at a time, on an event loop of its own.

The async twin of test_queue_semantics.py: the same properties, for the async queue
role (`put`, `get`, `join` awaited; the rest plain). A coroutine method that must
complete at once and instead stays suspended breaks `blocking`; one that must suspend
and completes breaks the property it stands for. Every test's coroutine is bounded.
"""

import asyncio

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
)

pytestmark = pytest.mark.prodcon_role("async-queue")

BOUNDED = [1, 2, 3, 7]
UNBOUNDED = [0, -1, -7]


def test_async_fifo_one_producer(prodcon):
    """250 items in, 250 out, in the order they went in."""

    async def main(calls):
        q = calls.queue(0)
        items = [Item(0, seq) for seq in range(250)]
        for item in items:
            await calls.returns(f"put_nowait({item!r})", q.put_nowait, item, prop="capacity",
                                due="an unbounded queue (maxsize=0) always has room")
        for item in items:
            await calls.get_item(q, item)

    prodcon.run_async(main)


@pytest.mark.parametrize("maxsize", BOUNDED)
def test_async_bounded_capacity(prodcon, maxsize):
    """maxsize items fit; the next put_nowait() raises QueueFull and put() suspends until
    a get() makes room, then stores its item."""

    async def main(calls):
        q = calls.queue(maxsize)
        items = [Item(0, seq) for seq in range(maxsize)]
        for held, item in enumerate(items):
            await calls.returns(f"put({item!r})", q.put, item, prop="capacity",
                                due=f"a queue with maxsize={maxsize} holding {held} items has "
                                "room: put() stores the item at once")
        extra = Item(0, maxsize)
        await calls.raises(calls.Full, f"put_nowait({extra!r})", q.put_nowait, extra,
                           prop="capacity", due=f"a queue holding maxsize={maxsize} items is "
                           "full: put_nowait() raises QueueFull")
        waiting = calls.start(q.put(extra), "producer")
        await calls.must_suspend(waiting, f"put({extra!r}) on a full queue", prop="capacity")
        await calls.get_item(q, items[0])
        await calls.finishes(waiting, f"put({extra!r})", prop="blocking",
                             due="a get() made room: the waiting put() stores its item")
        for item in [*items[1:], extra]:
            await calls.get_item(q, item)

    prodcon.run_async(main)


@pytest.mark.parametrize("maxsize", UNBOUNDED)
def test_async_unbounded_never_full(prodcon, maxsize):
    async def main(calls):
        q = calls.queue(maxsize)
        items = [Item(0, seq) for seq in range(300)]
        for item in items:
            await calls.returns(f"put_nowait({item!r})", q.put_nowait, item, prop="capacity",
                                due=f"maxsize={maxsize} is unbounded: there is always room")
        full = await calls.returns("full()", q.full, prop="sizes", due="full() answers")
        if full is not False:
            raise Violation("sizes", f"full() returned {describe(full)} with maxsize="
                            f"{maxsize} and 300 items inside; an unbounded queue is never "
                            "full (False).")
        for item in items:
            await calls.get_item(q, item)

    prodcon.run_async(main)


def test_async_get_nowait_on_empty_raises_queue_empty(prodcon):
    async def main(calls):
        q = calls.queue(2)
        await calls.raises(calls.Empty, "get_nowait() on an empty queue", q.get_nowait,
                           prop="exceptions", due="get_nowait() raises QueueEmpty when there "
                           "is no item")
        item = Item(0, 0)
        await calls.returns(f"put_nowait({item!r})", q.put_nowait, item, prop="capacity",
                            due="an empty queue with maxsize=2 has room")
        await calls.get_item(q, item)
        await calls.raises(calls.Empty, "get_nowait() on a queue emptied again", q.get_nowait,
                           prop="exceptions", due="get_nowait() raises QueueEmpty when there "
                           "is no item")

    prodcon.run_async(main)


@pytest.mark.parametrize("maxsize", [0, 1])
def test_async_get_suspends_while_empty_and_wakes_on_put(prodcon, maxsize):
    """A get() on an empty queue suspends (the rest of the loop runs on); put_nowait()
    wakes it, and it returns that very item."""

    async def main(calls):
        q = calls.queue(maxsize)
        waiting = calls.start(q.get(), "consumer")
        await calls.must_suspend(waiting, "get() on an empty queue")
        item = Item(0, 0)
        await calls.returns(f"put_nowait({item!r})", q.put_nowait, item, prop="capacity",
                            due="one get() waits, no item is inside: there is room")
        got = await calls.finishes(waiting, "the waiting get()", prop="blocking",
                                   due=f"{item!r} was put: the waiting get() takes it")
        if got is not item:
            raise Violation("conservation", f"the waiting get() returned {describe(got)}; "
                            f"{describe(item)}, the only item put, was due.")

    prodcon.run_async(main)


def test_async_woken_getter_waits_again_when_its_item_is_gone(prodcon):
    """A wake-up is a hint: put_nowait() wakes the waiting get(), but a get_nowait() made
    before the woken task runs takes the item (asyncio.Queue's design). The woken get()
    must then wait again (`while`, not `if`, around its wait), and take the next item.
    A design that hands the item straight to the waiting get() is as correct: then the
    get_nowait() finds nothing, and the waiting get() returns that item."""

    async def main(calls):
        q = calls.queue(0)
        waiting = calls.start(q.get(), "consumer")
        await calls.must_suspend(waiting, "get() on an empty queue")
        first, second = Item(0, 0), Item(0, 1)
        q.put_nowait(first)
        early = await calls.outcome(q.get_nowait)
        if isinstance(early.error, calls.Empty):  # handed over: the waiting get() has it
            got = await calls.finishes(waiting, "the waiting get()", prop="conservation",
                                       due=f"get_nowait() found the queue empty, so "
                                       f"{first!r} was handed to the waiting get()")
            if got is not first:
                raise Violation("conservation", f"get_nowait() found the queue empty after "
                                f"put_nowait({describe(first)}), and the waiting get() "
                                f"returned {describe(got)}: {describe(first)} is lost.")
            return
        if early.error is not None or early.value is not first:
            raise Violation("order" if early.error is None else "exceptions",
                            f"get_nowait() made before the woken get() ran {early.text()}; "
                            f"{describe(first)} was due (or QueueEmpty, had it been handed "
                            "to the waiting get()).")
        await calls.must_suspend(waiting, "the woken get(), its item taken by another call")
        q.put_nowait(second)
        got = await calls.finishes(waiting, "the waiting get()", prop="blocking",
                                   due=f"{second!r} was put: the waiting get() takes it")
        if got is not second:
            raise Violation("conservation", f"the waiting get() returned {describe(got)}; "
                            f"{describe(second)} was due.")

    prodcon.run_async(main)


def test_async_getters_are_served_in_the_order_they_came(prodcon):
    """Three get() calls wait; three items arrive; each getter takes one item (none is
    left waiting beside an item), and the first to wait gets the first item."""

    async def main(calls):
        q = calls.queue(0)
        waiting = [calls.start(q.get(), f"consumer-{n}") for n in range(3)]
        for n, task in enumerate(waiting):
            await calls.must_suspend(task, f"get() #{n + 1} on an empty queue")
        items = [Item(0, seq) for seq in range(3)]
        for item in items:
            q.put_nowait(item)
        got = [await calls.finishes(task, f"waiting get() #{n + 1}", prop="blocking",
                                    due="three items were put for three waiting getters: "
                                    "each takes one")
               for n, task in enumerate(waiting)]
        if got != items:
            raise Violation("order", f"the waiting getters took {describe(got)} in the order "
                            f"they waited; {describe(items)} was due (first come, first "
                            "served, first in, first out).")

    prodcon.run_async(main)


def test_async_sizes(prodcon):
    """qsize(), empty() and full() exact after each call, with nothing moving."""

    async def main(calls):
        for maxsize in (0, 3):
            q = calls.queue(maxsize)
            for held in range(4):
                await _sizes_are(calls, q, maxsize, held)
                if held < 3:
                    await calls.returns("put_nowait()", q.put_nowait, Item(0, held),
                                        prop="capacity", due="the queue has room")
            for held in range(3, 0, -1):
                await calls.returns("get_nowait()", q.get_nowait, prop="conservation",
                                    due="the queue holds items")
                await _sizes_are(calls, q, maxsize, held - 1)

    prodcon.run_async(main)


async def _sizes_are(calls, q, maxsize: int, held: int) -> None:
    due = {"qsize()": held, "empty()": held == 0, "full()": 0 < maxsize <= held}
    for what, expected in due.items():
        method = getattr(q, what[:-2])
        got = await calls.returns(what, method, prop="sizes", due="it answers")
        if got != expected or type(got) is not type(expected):
            raise Violation("sizes", f"{what} returned {describe(got)} with {held} items "
                            f"inside (maxsize={maxsize}); {describe(expected)} was due.")


def test_async_any_object_is_an_item(prodcon):
    """None, falsy, unhashable and odd-__eq__ objects go in and come out, the same
    objects, in order, through the awaited put() and get()."""

    async def main(calls):
        values = []
        for seq in range(40):
            kind = seq % 5
            values.append(PLAIN_VALUES[seq % len(PLAIN_VALUES)] if kind == 0 else
                          (FalsyItem, EqualsEverything, UnhashableItem, TouchyItem)[kind - 1](
                              0, seq))
        for maxsize in (0, 1):
            q = calls.queue(maxsize)
            for sent in values:
                await calls.returns(f"put({describe(sent)})", q.put, sent, prop="any-item",
                                    due="any object is an item")
                got = await calls.returns("get()", q.get, prop="any-item",
                                          due=f"{describe(sent)} was just put")
                if got is not sent:
                    raise Violation("any-item", f"get() returned {describe(got)}; the object "
                                    f"put, {describe(sent)}, was due (maxsize={maxsize}).")

    prodcon.run_async(main)


def test_async_task_done_too_many_raises_value_error(prodcon):
    async def main(calls):
        q = calls.queue(0)
        await calls.raises(ValueError, "task_done() with no item taken", q.task_done,
                           prop="exceptions", due="task_done() called more times than items "
                           "were put raises ValueError")
        q.put_nowait(Item(0, 0))
        await calls.returns("get_nowait()", q.get_nowait, prop="conservation",
                            due="an item is inside")
        await calls.returns("task_done()", q.task_done, prop="exceptions",
                            due="one item was put and taken: one task_done() is due")
        await calls.raises(ValueError, "a second task_done() for one item", q.task_done,
                           prop="exceptions", due="task_done() called more times than items "
                           "were put raises ValueError")

    prodcon.run_async(main)


def test_async_join_waits_for_every_task_done(prodcon):
    """join() returns at once when no work is pending; with three items put it waits
    through two task_done() calls and returns after the third."""

    async def main(calls):
        q = calls.queue(0)
        await calls.returns("join() on a new queue", q.join, prop="join", stuck="join",
                            due="no item was ever put: join() returns at once")
        for seq in range(3):
            q.put_nowait(Item(0, seq))
        joining = calls.start(q.join(), "joiner")
        await calls.must_suspend(joining, "join() with 3 items put, none done", prop="join")
        for done in range(1, 4):
            await calls.returns("get_nowait()", q.get_nowait, prop="conservation",
                                due="items are inside")
            await calls.returns("task_done()", q.task_done, prop="exceptions",
                                due="an item was taken")
            if done < 3:
                await calls.must_suspend(joining, f"join() after {done} of 3 task_done() "
                                         "calls", prop="join")
        await calls.finishes(joining, "join()", prop="join",
                             due="every item put was marked task_done(): join() returns")

    prodcon.run_async(main)


def test_async_shutdown(prodcon):
    """3.13's asyncio.Queue.shutdown(): puts refused, items still inside handed out, then
    QueueShutDown; waiting getters and putters woken with it; immediate=True drops what is
    inside and lets join() return."""
    if not hasattr(prodcon.impl.Queue, "shutdown"):
        pytest.skip("this Queue has no shutdown() (3.13's asyncio.Queue has one)")

    async def main(calls):
        shut = calls.ShutDown
        q = calls.queue(0)
        getter = calls.start(q.get(), "waiting-getter")
        await calls.must_suspend(getter, "get() on an empty queue")
        await calls.returns("shutdown()", q.shutdown, prop="queue-shutdown", due="it returns")
        await _raises_in(calls, getter, shut, "the get() waiting when shutdown() was called")
        await calls.raises(shut, "put_nowait() after shutdown()", q.put_nowait, Item(0, 0),
                           prop="queue-shutdown", due="a shut-down queue refuses every put "
                           "with QueueShutDown")

        q = calls.queue(1)
        kept = Item(0, 1)
        q.put_nowait(kept)
        putter = calls.start(q.put(Item(0, 2)), "waiting-putter")
        await calls.must_suspend(putter, "put() on a full queue")
        await calls.returns("shutdown()", q.shutdown, prop="queue-shutdown", due="it returns")
        await _raises_in(calls, putter, shut, "the put() waiting when shutdown() was called")
        got = await calls.returns("get() after shutdown()", q.get, prop="queue-shutdown",
                                  due="items still inside are handed out after shutdown()")
        if got is not kept:
            raise Violation("queue-shutdown", f"get() after shutdown() returned "
                            f"{describe(got)}; {describe(kept)}, still inside, was due.")
        await calls.raises(shut, "get_nowait() on a shut-down, empty queue", q.get_nowait,
                           prop="queue-shutdown", due="a shut-down queue with no item left "
                           "raises QueueShutDown")

        q = calls.queue(0)
        for seq in range(3):
            q.put_nowait(Item(1, seq))
        joining = calls.start(q.join(), "joiner")
        await calls.must_suspend(joining, "join() with 3 items put", prop="join")
        await calls.returns("shutdown(immediate=True)", q.shutdown, True, prop="queue-shutdown",
                            due="it returns")
        await calls.finishes(joining, "join() after shutdown(immediate=True)",
                             prop="queue-shutdown", due="immediate=True drops the items left "
                             "and counts them done: join() returns")
        size = await calls.returns("qsize()", q.qsize, prop="sizes", due="it answers")
        if size != 0:
            raise Violation("queue-shutdown", f"qsize() is {describe(size)} after "
                            "shutdown(immediate=True); it drops every item (0).")

    prodcon.run_async(main)


async def _raises_in(calls, task, shut, what: str) -> None:
    try:
        await calls.finishes(task, what, prop="queue-shutdown",
                             due="shutdown() wakes it with QueueShutDown")
    except Violation as found:
        if isinstance(task.done() and not task.cancelled() and task.exception(), shut):
            return
        raise found from None
    raise Violation("queue-shutdown", f"{what} returned; shutdown() wakes it with "
                    "QueueShutDown.")


async def _two_waiting_getters(calls, q):
    """get() #1 and get() #2 on the empty queue `q`, each a task, both suspended."""
    first = calls.start(q.get(), "consumer-1")
    second = calls.start(q.get(), "consumer-2")
    await calls.must_suspend(first, "get() #1 on an empty queue")
    await calls.must_suspend(second, "get() #2 on an empty queue")
    return first, second


def test_async_cancelled_getter_passes_its_wake_up_on(prodcon):
    """Two get() calls wait; an item arrives and wakes the first, which is cancelled
    before it runs (its timeout fired at that moment). The item must go to the second:
    left with the wake-up spent on a task that is gone, it sleeps beside the item
    (python/cpython#108042)."""

    async def main(calls):
        q = calls.queue(0)
        first, second = await _two_waiting_getters(calls, q)
        item = Item(0, 0)
        q.put_nowait(item)
        first.cancel()  # before it runs: its wake-up was spent on a task that leaves
        got = await calls.finishes(second, "get() #2, after get() #1 was cancelled",
                                   prop="cancellation", due=f"{item!r} is in the queue and "
                                   "get() #1, woken for it, was cancelled: the wake-up goes "
                                   "on to get() #2, which takes it")
        if got is not item:
            raise Violation("cancellation", f"get() #2 returned {describe(got)}; "
                            f"{describe(item)} was due.")
        if not first.cancelled():
            raise Violation("cancellation", "get() #1, cancelled while it waited, "
                            f"{calls.ended(first)}; it raises CancelledError and takes nothing.")

    prodcon.run_async(main)


def test_async_cancelled_putter_passes_its_wake_up_on(prodcon):
    """The same on the other side: two put() calls wait on a full queue; a get frees one
    slot and wakes the first, which is cancelled before it runs. The second must fill
    the slot; the cancelled one's item must not go in."""

    async def main(calls):
        q = calls.queue(1)
        held, cancelled, waiting = Item(0, 0), Item(1, 0), Item(2, 0)
        q.put_nowait(held)
        first = calls.start(q.put(cancelled), "producer-1")
        second = calls.start(q.put(waiting), "producer-2")
        await calls.must_suspend(first, "put() #1 on a full queue", prop="capacity")
        await calls.must_suspend(second, "put() #2 on a full queue", prop="capacity")
        await calls.get_item(q, held)
        first.cancel()
        await calls.finishes(second, "put() #2, after put() #1 was cancelled",
                             prop="cancellation", due="a slot is free and put() #1, woken "
                             "for it, was cancelled: the wake-up goes on to put() #2")
        await calls.get_item(q, waiting, "get_nowait() after put() #2 returned")
        size = q.qsize()
        if size != 0 or not first.cancelled():
            raise Violation("cancellation", f"put() #1, cancelled while it waited, "
                            f"{calls.ended(first)} and the queue holds {size} items; it raises "
                            f"CancelledError and {describe(cancelled)} never goes in.")

    prodcon.run_async(main)


def test_async_a_cancelled_getter_s_item_keeps_its_place_in_line(prodcon):
    """Two get() calls wait; two items arrive, waking both; the first getter is
    cancelled before it runs. The first item must still come out first: the second
    getter takes it (asyncio.Queue: the items never left the queue), or, in a design
    that hands each item to its getter, the cancelled getter's item moves up to the
    next one in line. A design that only puts it back at the front, behind an item
    already handed on, lets the later item overtake it."""

    async def main(calls):
        q = calls.queue(0)
        first, second = await _two_waiting_getters(calls, q)
        early, late = Item(0, 0), Item(0, 1)
        q.put_nowait(early)
        q.put_nowait(late)
        first.cancel()  # before it runs: woken, then cancelled (its timeout fired)
        got = await calls.finishes(second, "get() #2, after get() #1 was cancelled",
                                   prop="cancellation", due="two items are in the queue")
        if got is late:
            raise Violation("cancellation", (
                f"get() #2 returned {describe(late)}, while {describe(early)}, put first, "
                "was still in the queue: get() #1, woken for it, was cancelled, and the "
                "item it was woken for lost its place in line (first in, first out: "
                f"{describe(early)} comes out first)."))
        if got is not early:
            raise Violation("conservation", f"get() #2 returned {describe(got)}; "
                            f"{describe(early)} was due.")
        if first.cancelled():
            await calls.get_item(q, late, "get_nowait() for the second item")

    prodcon.run_async(main)


def test_async_a_get_nowait_does_not_overtake_a_cancelled_getter_s_item(prodcon):
    """A get() waits; two items arrive; a get_nowait() takes one before the woken get()
    runs; then the woken get() is cancelled. Whatever get_nowait() returned, the other
    item must be the one left: if get_nowait() skipped the first item (boxed for the
    waiting getter, say), the cancelled getter's item must not come out after the
    later one it let pass."""

    async def main(calls):
        q = calls.queue(0)
        waiting = calls.start(q.get(), "consumer")
        await calls.must_suspend(waiting, "get() on an empty queue")
        early, late = Item(0, 0), Item(0, 1)
        q.put_nowait(early)
        q.put_nowait(late)
        taken = await calls.outcome(q.get_nowait)
        waiting.cancel()  # before it runs
        await calls.outcome(asyncio.wait, {waiting})
        if waiting.done() and not waiting.cancelled():
            return  # it completed before the cancellation took: nothing to compare
        if taken.error is not None:
            raise Violation("full-empty", f"get_nowait() with two items put "
                            f"{taken.text()}; one of them was due.")
        left = late if taken.value is early else early
        try:
            await calls.get_item(q, left, "get_nowait() after the woken get() was cancelled")
        except Violation as found:
            raise Violation("cancellation", f"get_nowait() returned {describe(taken.value)} "
                            f"while {describe(early)}, put first, was in the queue; then the "
                            f"get() woken for it was cancelled. {found.message} First in, "
                            f"first out: {describe(early)} comes out first.") from None
        if taken.value is late:
            raise Violation("cancellation", f"get_nowait() returned {describe(late)} while "
                            f"{describe(early)}, put first, was in the queue and the get() "
                            "woken for it was then cancelled: the later item overtook it "
                            "(first in, first out).")

    prodcon.run_async(main)


def test_async_a_get_cancelled_after_its_wake_up_loses_no_item(prodcon):
    """A get() is woken for an item, then cancelled before it runs, with no other getter
    waiting. The item must still be in the queue: a queue that hands items straight to
    the waiting task's future, and drops them when that task is cancelled, loses it
    (python/asyncio#201 and its kin: a get() under wait_for() that times out)."""

    async def main(calls):
        for maxsize in (0, 1):
            q = calls.queue(maxsize)
            waiting = calls.start(q.get(), "consumer")
            await calls.must_suspend(waiting, "get() on an empty queue")
            item = Item(0, maxsize)
            q.put_nowait(item)
            waiting.cancel()
            done = await calls.outcome(asyncio.wait, {waiting})
            if done.error is not None or not waiting.done():
                raise Violation("cancellation", "the cancelled get() did not end")
            if not waiting.cancelled():
                got = waiting.exception() or waiting.result()
                if got is item:
                    continue  # it completed before the cancellation took: it took the item
                raise Violation("cancellation", f"the cancelled get() {calls.ended(waiting)}")
            try:
                await calls.get_item(q, item, f"get_nowait() after the woken get() was "
                                     f"cancelled (maxsize={maxsize})")
            except Violation as found:  # the cancelled call took the item with it
                raise Violation("cancellation", f"{found.message} A get() cancelled after "
                                "its wake-up must leave the item in the queue.") from None

    prodcon.run_async(main)


class _SiblingFailed(Exception):
    """The failure of the task that brings a TaskGroup down."""


@pytest.mark.skipif(not hasattr(asyncio, "TaskGroup"), reason="asyncio.TaskGroup: 3.11+")
def test_async_a_failing_task_group_cancels_waiters_and_loses_nothing(prodcon):
    """Waiting get() and put() calls in an asyncio.TaskGroup whose sibling fails: the
    group cancels every one still waiting. The sibling's last step wakes one of them (a
    put or a get); asyncio hands the failure to the group a turn later, so that one may
    have run and finished by then, and either outcome is accepted. No item may be lost
    or put by a cancelled call, and the queue must work on afterwards: the cancelled
    waiters leave no stale place in line, and the next get() and put() are served."""

    async def main(calls):
        # Getters: the sibling puts an item (waking getter 1), then fails.
        q = calls.queue(0)
        item = Item(0, 0)
        started: list[asyncio.Task] = []

        async def fail_after(step):
            for task in started:
                await calls.must_suspend(task, f"{task.get_name()} on an empty queue")
            step()
            raise _SiblingFailed

        async def getters():
            async with asyncio.TaskGroup() as group:
                started.extend(group.create_task(q.get(), name=f"get() #{n}") for n in (1, 2))
                group.create_task(fail_after(lambda: q.put_nowait(item)))

        await _group_fails(calls, getters, "get()")
        took = [t.result() for t in started if not t.cancelled() and t.exception() is None]
        if took not in ([], [item]):
            raise Violation("cancellation", f"the cancelled get() calls returned "
                            f"{describe(took)}; {describe(item)} was the only item.")
        if not took:
            await calls.get_item(q, item, "get_nowait() after the TaskGroup cancelled the "
                                 "woken get()")
        after = calls.start(q.get(), "get() after the group")
        await calls.must_suspend(after, "a get() on the queue emptied again")
        later = Item(0, 1)
        q.put_nowait(later)
        got = await calls.finishes(after, "the get() after the group", prop="cancellation",
                                   due="an item was put: the cancelled waiters left no "
                                   "stale place in line")
        if got is not later:
            raise Violation("cancellation", f"the get() after the group returned "
                            f"{describe(got)}; {describe(later)} was due.")

        # Putters: a full queue; the sibling takes the item (waking putter 1), then fails.
        q = calls.queue(1)
        held, lost = Item(1, 0), [Item(2, 0), Item(3, 0)]
        q.put_nowait(held)
        started.clear()
        async def putters():
            async with asyncio.TaskGroup() as group:
                started.extend(group.create_task(q.put(x), name=f"put() #{n}")
                               for n, x in enumerate(lost, 1))
                group.create_task(fail_after(q.get_nowait))

        await _group_fails(calls, putters, "put()")
        went_in = [x for x, t in zip(lost, started, strict=True) if not t.cancelled()
                   and t.exception() is None]
        size = q.qsize()
        if size != len(went_in):
            raise Violation("cancellation", f"after the TaskGroup cancelled the waiting put() "
                            f"calls, {len(went_in)} of them had returned and the queue held "
                            f"{size} items: a cancelled put() puts nothing.")
        for x in went_in:
            await calls.get_item(q, x, "get_nowait() of the item a put() finished with")
        extra = Item(4, 0)
        await calls.returns(f"put({describe(extra)}) on the emptied queue", q.put, extra,
                            prop="cancellation", due="the queue has room: the cancelled "
                            "putters left no stale place in line", stuck="cancellation")
        await calls.get_item(q, extra)

    prodcon.run_async(main)


async def _group_fails(calls, body, what: str) -> None:
    """Run `body` (a TaskGroup one of whose tasks fails with _SiblingFailed) to its end,
    bounded: a cancelled call that swallows its CancelledError keeps the group open."""

    async def run():
        try:
            await body()
        except Exception as group_error:  # the group's ExceptionGroup (3.11+)
            if not (hasattr(group_error, "subgroup") and group_error.subgroup(_SiblingFailed)):
                raise

    await calls.finishes(calls.start(run(), "the task group"), "the TaskGroup",
                         prop="cancellation", due=f"its failing task cancels the waiting "
                         f"{what} calls, which must end (with CancelledError) so that the "
                         "group can end")


#: A timed call's timeout in the timeout test, and the clock slack it allows.
TIMEOUT = 0.05
SLACK = 0.001


@pytest.mark.parametrize("form", ["wait_for", "timeout"])
def test_async_timed_get_and_put_give_up_after_their_timeout_never_before(prodcon, form):
    """asyncio's way to bound a wait: asyncio.wait_for() around get() or put(), or
    `async with asyncio.timeout()` (3.11+). On an empty (full) queue the call gives up
    with TimeoutError once its timeout has elapsed, never before (and does give up: a
    queue that swallows the cancellation never returns); the queue is then as it was:
    nothing taken, nothing stored, and the next calls work."""
    if form == "timeout" and not hasattr(asyncio, "timeout"):
        pytest.skip("asyncio.timeout() is 3.11+")

    async def timed(call):
        if form == "wait_for":
            return await asyncio.wait_for(call, TIMEOUT)
        async with asyncio.timeout(TIMEOUT):
            return await call

    async def main(calls):
        q = calls.queue(1)
        written = (f"asyncio.wait_for(q.{{}}, {TIMEOUT})" if form == "wait_for" else
                   f"q.{{}} under asyncio.timeout({TIMEOUT})")
        await _gives_up(calls, written.format("get()"), lambda: timed(q.get()), "empty")
        held, extra = Item(0, 0), Item(0, 1)
        q.put_nowait(held)
        await _gives_up(calls, written.format(f"put({extra!r})"), lambda: timed(q.put(extra)),
                        "full")
        got = await calls.returns("get_nowait() after both timed out", q.get_nowait,
                                  prop="cancellation", due=f"{held!r} is still inside")
        if got is not held:
            raise Violation("cancellation", f"get_nowait() returned {describe(got)} after a "
                            f"timed-out put(); {describe(held)}, put before, was due: a put "
                            "that gave up stores nothing.")
        last = Item(1, 0)
        q.put_nowait(last)
        await calls.get_item(q, last, "get_nowait() after a timed-out get()")

    prodcon.run_async(main)


async def _gives_up(calls, what: str, timed_call, state: str) -> None:
    """`timed_call()` on an `state` queue must give up with TimeoutError, not before its
    timeout (and must give up: a swallowed cancellation keeps it suspended)."""
    result = await calls.outcome(timed_call)
    if result.suspended:
        raise Violation("timeout", f"{what} {result.text()}: the timeout fired and the call "
                        "did not give up (a queue must let a cancelled wait end).")
    if not isinstance(result.error, (TimeoutError, asyncio.TimeoutError)):
        wrong = "exceptions" if result.error is not None else "blocking"
        raise Violation(wrong, f"{what} {result.text()}; on a queue that is {state}, it gives up "
                        f"with TimeoutError after {TIMEOUT} s.")
    if result.elapsed < TIMEOUT - SLACK:
        raise Violation("timeout", f"{what} gave up after {result.elapsed:.4f} s, before "
                        f"its timeout of {TIMEOUT} s.")
