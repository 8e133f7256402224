"""The child's side of an asyncio implementation under `--prodcon-isolate`: an event loop
that runs only when the kit says so.

An async test is judged in the kit's process, on the kit's own event loop; the
submission's queue and tasks live here. For the verdicts to mean what they mean on one
loop, the two loops must take turns as one loop's callbacks would: this loop runs
exactly one iteration per `tick` (every callback ready at that moment, the timers that
are due), and the kit ticks it only when its own loop has nothing left to run
(`async_parent.Pump`). Between ticks, the kit's plain calls (`put_nowait`, `qsize`, ...)
run here at once, inside the loop's context but with no task of the submission's
running: so "put_nowait() wakes the waiting get(), and a get_nowait() made before the
woken task runs takes the item" happens here as it would on one loop.

Every function is called by the kit through `Sandbox.run_in_child` (its `kit:` calls)
on this process's twin of the kit's loop thread: one thread owns this loop. A tick's
news crosses as a JSON text (which tasks ended, and how), each value in it in the
protocol's wire form (by token, so that it keeps its identity): judged on the kit's
side.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import threading
from typing import Any

from prodcon import contract
from prodcon.aio import quiet
from prodcon.aio.blocking import BlockingWatch
from prodcon.engine import harness
from prodcon.isolation.protocol import TEXT_LIMIT, execute, safe_str

#: This side's `Endpoint._out`, set by the child before the first call (child.py): a
#: task's value goes into a tick's JSON in its wire form, by token, so that it keeps its
#: identity without a round trip of its own.
WIRE: Any = None


class Driver:
    """One event loop of the submission's, driven by the kit's ticks."""

    def __init__(self, module: Any) -> None:
        impl = contract.resolve("submission", module, "asyncio")
        self.roles = (("Full", impl.Full), ("Empty", impl.Empty), ("ShutDown", impl.ShutDown),
                      ("ValueError", ValueError))
        self.loop = asyncio.new_event_loop()
        self.tasks: dict[int, asyncio.Task] = {}
        self.ids = itertools.count(1)
        self.finished: list[int] = []
        self.watch = BlockingWatch()  # blocking calls of the submission's, per tick


def open_loop(module: Any) -> Driver:
    """A new loop for one test of the kit's (its `EventLoop`)."""
    return Driver(module)


@contextlib.contextmanager
def _inside(driver: Driver):
    """The loop's context for a call made between ticks: `get_running_loop()` answers."""
    asyncio.events._set_running_loop(driver.loop)  # noqa: SLF001 - what run_forever does
    try:
        yield
    finally:
        asyncio.events._set_running_loop(None)  # noqa: SLF001


@contextlib.contextmanager
def _watched(driver: Driver):
    """The submission's code run under the loop watch (`aio.blocking`), on this thread
    only for that while; what it catches goes out with the next tick."""
    driver.watch.install()
    try:
        yield
    finally:
        sys.setprofile(None)


def plain(driver: Driver, target: Any, op: str, *args: Any) -> Any:
    """A plain call (`put_nowait`, `qsize`, `Queue(maxsize)`, ...): its value, or its
    exception, which crosses as any of the submission's does (by its contract role)."""
    with _inside(driver):
        return execute(target, op, list(args), {})


def start(driver: Driver, target: Any, op: str, *args: Any) -> int:
    """A coroutine call (`get()`, `producer(q, items)`, ...) as a task of this loop, its
    first step run now: its id (or the exception the call raised at once).

    Now, not at the next tick: on one loop, the kit's task that calls `await q.get()`
    runs the queue's code up to its first suspension in that same step (a get() on a
    queue holding an item returns in it). Deferred to a tick, a cancellation from the
    kit could reach the call before it ever ran: a get() cancelled while an item sat
    in the queue, which no single loop can do."""
    ready = driver.loop._ready  # noqa: SLF001 - the step a new task schedules
    with _inside(driver):
        awaitable = execute(target, op, list(args), {})
        before = len(ready)
        task = asyncio.ensure_future(awaitable, loop=driver.loop)
        if len(ready) == before + 1:
            step = ready.pop()
            with _watched(driver):
                step._run()  # noqa: SLF001 - the task's first step, as an eager task's
    tid = next(driver.ids)
    driver.tasks[tid] = task
    task.add_done_callback(lambda _, tid=tid: driver.finished.append(tid))
    return tid


def cancel(driver: Driver, tid: int) -> None:
    """Cancel a task, as the kit's twin of it was cancelled: it sees the CancelledError
    at the next tick, as it would at its loop's next turn."""
    task = driver.tasks.get(tid)
    if task is not None:
        with _inside(driver):
            task.cancel()


def tick(driver: Driver) -> str:
    """Run one iteration of the loop; then, as JSON: the tasks that ended (`[id,
    "returned", its value on the wire]`, `[id, "cancelled"]` or `[id, "raised", role,
    class name, message]`), whether a callback is ready, seconds until the next timer
    (or null), and the blocking calls the submission made in the tick."""
    loop = driver.loop
    loop.call_soon(loop.stop)
    with _watched(driver):
        loop.run_forever()  # with stop() queued behind what is ready: one iteration
    ended: list[list] = []
    for tid in driver.finished:
        task = driver.tasks.pop(tid)
        if task.cancelled():
            ended.append([tid, "cancelled"])
        elif task.exception() is not None:
            ended.append([tid, *_raised(driver, task.exception())])
        else:
            ended.append([tid, "returned", WIRE(task.result())])
    driver.finished.clear()
    due = quiet.next_timer(loop)
    delay = None if due is None else max(0.0, due - loop.time())
    return json.dumps({"ended": ended, "ready": quiet.has_ready(loop), "delay": delay,
                       "blocking": driver.watch.take()})


def close_loop(driver: Driver) -> None:
    """Cancel what is left and close the loop (the kit's test is over)."""
    for task in list(driver.tasks.values()):
        task.cancel()
    with contextlib.suppress(Exception):
        for _ in range(5):
            if not driver.tasks or all(t.done() for t in driver.tasks.values()):
                break
            tick(driver)
    with contextlib.suppress(Exception):
        driver.loop.close()


def _raised(driver: Driver, exc: BaseException) -> list:
    role = next((r for r, cls in driver.roles if isinstance(exc, cls)), "")
    return ["raised", role, type(exc).__name__, safe_str(exc)[:TEXT_LIMIT]]


def interrupt(thread_name: str) -> None:
    """Stop this process's twin of the kit's thread `thread_name`, held in the
    submission's code after the kit gave its loop up (`harness.interrupt`)."""
    for thread in threading.enumerate():
        if thread.name == thread_name:
            harness.interrupt(thread)
