"""python/cpython#83055: asyncio.Queue lets a put_nowait() overtake a putter it has
already woken. The two puts overlap in time (the woken put() has not returned), so FIFO
does not order them, and the kit must not call the order they came out in a violation.

The run below is asyncio.Queue's own, on the Python running the test (3.10 and 3.13 in
CI); the contrast shows the checker does order two puts that do not overlap."""

import asyncio
import itertools

from prodcon.aio.recording import AsyncRecordingQueue
from prodcon.engine import checkers
from prodcon.engine.recording import History


async def _overtaken(history: History) -> list:
    """A full queue of one, a putter waiting with `b`; a get_nowait() wakes it, and a
    put_nowait(c) fills the slot before it runs: it waits again, and `c` goes first."""
    queue = asyncio.Queue(1)
    main = AsyncRecordingQueue(queue, history, "main")
    late = AsyncRecordingQueue(queue, history, "p1")
    a, b, c = "a", "b", "c"
    await main.put(a)
    putter = asyncio.create_task(late.put(b), name="p1")
    await asyncio.sleep(0)  # p1 now waits for room
    got = [main.get_nowait()]  # room: p1 is woken, and has not run yet
    main.put_nowait(c)  # takes the room p1 was woken for
    await asyncio.sleep(0)  # p1 runs, finds the queue full, waits again
    got.append(await main.get())  # c, which wakes p1 again
    await putter
    got.append(await main.get())
    return got


def _run() -> tuple[list, list]:
    history = History(clock=itertools.count().__next__)
    got = asyncio.run(_overtaken(history))
    return got, history.calls()


def test_a_put_nowait_overtaking_a_woken_putter_is_not_a_violation():
    got, calls = _run()
    assert got == ["a", "c", "b"]  # the overtake happened: b's put() began before c's
    put_b = next(call for call in calls if call.op == "put" and call.item == "b")
    put_c = next(call for call in calls if call.op == "put_nowait")
    assert put_b.start < put_c.start < put_b.end  # ... and overlaps it
    assert checkers.conservation(calls, [["a", "b", "c"]], extra=[]) == []
    assert checkers.fifo_queue(calls, 1) == []
    assert checkers.fifo_queue(calls, 1, strict=True) == []  # one atomic queue explains it


def test_had_the_first_put_returned_before_the_second_began_it_is_an_order_violation():
    got, calls = _run()
    put_b = next(call for call in calls if call.op == "put" and call.item == "b")
    put_c = next(call for call in calls if call.op == "put_nowait")
    put_b.end = put_c.start - 0.5  # b's put() over before c's began: b must come out first
    found = checkers.fifo_queue(calls, 0)  # unbounded: the forged b and c, both in, fit
    assert [v.prop for v in found] == ["order"], found
    assert "A FIFO queue hands out 'b' first" in found[0].message
