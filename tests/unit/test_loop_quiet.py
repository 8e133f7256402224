"""aio.quiet: a wait ends early only when nothing on the loop can ever run again, and
never while a timer, a ready callback or a thread the test started could still wake it."""

import asyncio
import concurrent.futures
import threading
import time

import pytest

from prodcon.aio import quiet
from prodcon.aio.loop import EventLoop


@pytest.fixture
def loop():
    ev = EventLoop("quiet")
    yield ev
    ev.close(1.0)


def _timed_wait(loop, make_awaited, timeout=3.0):
    """How long quiet.wait took on the awaited thing `make_awaited()` builds, and whether
    it was done."""
    async def main():
        started = time.monotonic()
        done, _ = await quiet.wait({asyncio.ensure_future(make_awaited())}, timeout)
        return time.monotonic() - started, bool(done)

    return loop.run(main(), 10, "the wait")


def test_a_future_nobody_resolves_ends_the_wait_at_once(loop):
    took, done = _timed_wait(loop, lambda: asyncio.get_running_loop().create_future())
    assert not done and took < 0.5


def test_a_pending_timer_keeps_the_wait_going_until_it_fires(loop):
    took, done = _timed_wait(loop, lambda: asyncio.sleep(0.6))
    assert done and took >= 0.6


def test_a_polling_waiter_is_never_idle(loop):
    async def polls():
        for _ in range(30):
            await asyncio.sleep(0.01)

    took, done = _timed_wait(loop, polls)
    assert done and took >= 0.3


def test_a_thread_started_during_the_test_keeps_the_wait_going(loop):
    """A thread-backed design: the loop is idle while a thread does the work, and the
    thread resolves the future later. Not a deadlock: the wait runs on."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        def slow():
            time.sleep(0.4)
            return 5

        async def through_a_thread():
            return await asyncio.get_running_loop().run_in_executor(pool, slow)

        took, done = _timed_wait(loop, through_a_thread)
        assert done and took >= 0.4
    finally:
        pool.shutdown(wait=True)


def test_an_unknown_loop_is_never_idle():
    async def main():
        return quiet.idle(asyncio.get_running_loop())

    assert asyncio.run(main()) is False


def test_the_kits_heartbeat_is_not_a_callback(loop):
    beat = threading.Event()

    async def main():
        asyncio.get_running_loop().call_soon(beat.set)
        return quiet.idle(asyncio.get_running_loop())

    assert loop.run(main(), 5, "heartbeat") is True
