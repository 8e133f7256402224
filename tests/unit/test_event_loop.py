"""aio.loop: every run bounded; a stuck run names its tasks, a blocked loop its line."""

import asyncio
import re
import threading
import time

import pytest

from prodcon.aio.loop import EventLoop
from prodcon.verdict import Stuck, Violation


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


def test_a_loop_held_by_a_busy_step_is_reported_at_once(loop):
    async def main():
        end = time.monotonic() + 1.5
        while time.monotonic() < end:  # a busy loop between awaits: no task runs meanwhile
            pass

    start = time.monotonic()
    with pytest.raises(Stuck) as caught:
        loop.run(main(), 30, "the test", stall=0.3)
    assert time.monotonic() - start < 1.5 + 1.0  # not the 30 s bound
    assert caught.value.prop == "event-loop"
    assert re.search(r"event loop itself did not answer for 0\.[345] s", caught.value.message)
    assert "test_event_loop.py" in caught.value.message and "in main" in caught.value.message
    # held in the implementation's line: the loop is given up, its thread interrupted
    assert loop.blocked
    with pytest.raises(Stuck, match="still blocked"):
        loop.run(asyncio.sleep(0), 5, "the next run")


def test_a_loop_held_for_ever_refuses_the_next_run():
    ev = EventLoop("unit-held")

    async def main():
        time.sleep(4)

    with pytest.raises(Stuck):
        ev.run(main(), 30, "the test", stall=0.2)
    assert ev.blocked  # did not answer within aio.loop.ANSWER_BOUND (2 s)
    with pytest.raises(Stuck, match="still blocked"):
        ev.run(asyncio.sleep(0), 5, "the next run")


def test_a_short_sleep_on_the_loop_is_caught_with_its_line(loop):
    async def main():
        for _ in range(3):
            time.sleep(0.001)  # a millisecond: no outcome changes, and still the bug
        return "done"

    with pytest.raises(Violation) as caught:
        loop.run(main(), 5, "the test")
    assert caught.value.prop == "event-loop"
    assert "time.sleep() at " in caught.value.message and "(3 times)" in caught.value.message
    assert "test_event_loop.py" in caught.value.message


def test_a_threading_lock_that_waits_is_caught_and_an_asyncio_wait_is_not(loop):
    lock = threading.Lock()
    held = threading.Event()

    def hold():
        with lock:
            held.set()
            time.sleep(1.5)

    async def main():
        await asyncio.sleep(0.01)  # waiting in asyncio: fine
        await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.001)  # fine
        lock.acquire()  # waits for the other thread, on the loop's thread: the bug
        lock.release()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    with pytest.raises((Violation, Stuck)) as caught:
        loop.run(main(), 5, "the test")
    holder.join()
    assert caught.value.prop == "event-loop"
    assert "test_event_loop.py" in caught.value.message and "in main" in caught.value.message


def test_work_handed_to_threads_is_not_a_blocked_loop(loop):
    """loop.run_in_executor starts its pool's threads from the loop's thread (Thread.start
    waits on a Condition; the pool polls a Semaphore; Condition._is_owned polls a lock):
    none of it waits, and a thread-backed queue design must not be failed for it."""
    import concurrent.futures

    # The pool is shut down outside the coroutine: shutdown(wait=True) joins its threads,
    # which on the loop's thread is a blocking call (3.10 shows it), rightly reported.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        async def main():
            running = asyncio.get_running_loop()
            results = await asyncio.gather(*(running.run_in_executor(pool, time.sleep, 0.01)
                                             for _ in range(8)))
            return len(results)

        assert loop.run(main(), 5, "the test") == 8


def test_a_with_lock_held_across_an_await_is_named_within_a_second(loop):
    lock = threading.Lock()

    async def holder():
        with lock:
            await asyncio.sleep(0.05)  # the bug: a threading lock held across an await

    async def main():
        first = asyncio.get_running_loop().create_task(holder())
        await asyncio.sleep(0)
        with lock:  # blocks the loop's thread: the holder can never run to release it
            pass
        await first

    start = time.monotonic()
    with pytest.raises(Stuck) as caught:
        loop.run(main(), 30, "the test")
    assert time.monotonic() - start < 4  # EARLY and the loop's answer, not the 5 s stall
    assert caught.value.prop == "event-loop" and "in main" in caught.value.message


def test_a_condition_s_re_acquire_after_its_wait_is_not_a_blocking_call():
    """Condition.wait() re-acquires its lock once woken (`_acquire_restore`), while the
    thread that notified may still hold it for a moment: part of the wait, which is
    judged on its own call (and left alone inside Thread.start, as run_in_executor does
    it). Seen as "a lock's acquire() while another thread held it", it was a false alarm
    on a loaded machine."""
    condition = threading.Condition(threading.Lock())
    holding, release = threading.Event(), threading.Event()

    def hold():
        with condition:
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)

    async def re_acquire():
        threading.Timer(0.05, release.set).start()
        condition._acquire_restore(None)  # what Condition.wait() does once woken
        condition.release()

    loop = EventLoop("re-acquire")
    try:
        loop.run(re_acquire(), 10, "the re-acquire")
    finally:
        loop.close(1.0)
        holder.join(5)
