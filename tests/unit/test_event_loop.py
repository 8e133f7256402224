"""aio.loop: every run bounded; a stuck run names its tasks, a blocked loop its line."""

import asyncio
import time

import pytest

from prodcon.aio.loop import EventLoop
from prodcon.verdict import Stuck


@pytest.fixture
def loop():
    ev = EventLoop("unit")
    yield ev
    ev.close(1.0)


def test_a_run_returns_its_value_and_raises_its_error(loop):
    async def seven():
        await asyncio.sleep(0)
        return 7

    async def boom():
        raise KeyError("x")

    assert loop.run(seven(), 5, "seven") == 7
    with pytest.raises(KeyError):
        loop.run(boom(), 5, "boom")


def test_tasks_waiting_for_ever_are_named_with_their_line(loop):
    async def main():
        never = asyncio.get_running_loop().create_future()

        async def consumer():
            await never

        task = asyncio.get_running_loop().create_task(consumer(), name="consumer-1")
        await task

    with pytest.raises(Stuck) as caught:
        loop.run(main(), 0.3, "the scenario", state=lambda: "2 items inside")
    message = caught.value.message
    assert caught.value.prop == "deadlock"
    assert "consumer-1: at " in message and "test_event_loop.py" in message
    assert "awaiting <Future pending" in message
    assert "the queue then: 2 items inside" in message
    assert loop.run(asyncio.sleep(0, result="free"), 5, "next") == "free"  # tasks cancelled


def test_a_loop_held_by_a_call_that_does_not_await_is_reported_at_once(loop):
    async def main():
        time.sleep(1.5)  # holds the loop's thread: no task runs meanwhile

    start = time.monotonic()
    with pytest.raises(Stuck) as caught:
        loop.run(main(), 30, "the test", stall=0.3)
    assert time.monotonic() - start < 1.5 + 1.0  # not the 30 s bound
    assert "event loop itself did not answer for 0.3 s" in caught.value.message
    assert "test_event_loop.py" in caught.value.message and "in main" in caught.value.message
    # held 1.5 s, not for ever: the loop answered later, and runs the next test's coroutine
    assert not loop.blocked
    assert loop.run(asyncio.sleep(0, result="free"), 5, "the next run") == "free"


def test_a_loop_held_for_ever_refuses_the_next_run():
    ev = EventLoop("unit-held")

    async def main():
        time.sleep(4)

    with pytest.raises(Stuck):
        ev.run(main(), 30, "the test", stall=0.2)
    assert ev.blocked  # did not answer within aio.loop.ANSWER_BOUND (2 s)
    with pytest.raises(Stuck, match="still blocked"):
        ev.run(asyncio.sleep(0), 5, "the next run")
