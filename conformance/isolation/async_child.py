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
from prodcon.aio.loop import task_line
from prodcon.aio.workers import HandleFailed, call_site
from prodcon.engine import harness
from prodcon.isolation.protocol import TEXT_LIMIT, execute, safe_str
from prodcon.items import describe
from prodcon.reference import aio as async_reference

#: This side's `Endpoint._out` and `_in`, set by the child before the first call
#: (child.py): a value goes into a tick's JSON (either way) in its wire form, by token,
#: so that it keeps its identity without a round trip of its own.
WIRE: Any = None
UNWIRE: Any = None
#: The kit's exceptions an async worker meets (its queue is the kit's), by their role.
KIT_ROLES: dict[str, type] = {"Full": asyncio.QueueFull, "Empty": asyncio.QueueEmpty,
                              "ShutDown": async_reference.QueueShutDown,
                              "ValueError": ValueError, "HandleFailed": HandleFailed}


class Driver:
    """One event loop of the submission's, driven by the kit's ticks."""

    def __init__(self, module: Any) -> None:
        impl = contract.resolve("submission", module, "asyncio")
        self.roles = (("Full", impl.Full), ("Empty", impl.Empty), ("ShutDown", impl.ShutDown),
                      ("ValueError", ValueError), ("HandleFailed", HandleFailed))
        self.loop = asyncio.new_event_loop()
        self.tasks: dict[int, asyncio.Task] = {}
        self.ids = itertools.count(1)
        self.finished: list[int] = []
        self.watch = BlockingWatch()  # blocking calls of the submission's, per tick
        #: The kit's calls the workers here await (`_KitCall`): call id -> its future.
        self.kit_calls: dict[int, asyncio.Future] = {}
        #: Queue calls a worker made and never awaited: (the queue, what and where).
        self.dropped: list[tuple[Any, str]] = []


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
    only for that while; what it catches goes out with the next tick. The profile
    function before it comes back after (a watched call made inside another keeps the
    outer one's watch)."""
    previous = sys.getprofile()
    driver.watch.install()
    try:
        yield
    finally:
        sys.setprofile(previous)


def plain(driver: Driver, target: Any, op: str, *args: Any) -> Any:
    """A plain call (`put_nowait`, `qsize`, `Queue(maxsize)`, ...): its value, or its
    exception, which crosses as any of the submission's does (by its contract role).
    Watched as a coroutine's step is: in-process it runs on the loop's thread, where a
    time.sleep() holds every task; what the watch catches goes out with the next tick,
    which the call itself asks for (`SandboxedAsyncQueue.plain` pokes the pump)."""
    with _inside(driver):
        with _watched(driver):
            return execute(target, op, list(args), {})


def start(driver: Driver, target: Any, op: str, *args: Any) -> int:
    """A coroutine call (`get()`, `producer(q, items)`, ...) as a task of this loop, its
    first step run now: its id (or the exception the call raised at once).

    Now, not at the next tick: on one loop, the kit's task that calls `await q.get()`
    runs the queue's code up to its first suspension in that same step (a get() on a
    queue holding an item returns in it). Deferred to a tick, a cancellation from the
    kit could reach the call before it ever ran: a get() cancelled while an item sat
    in the queue, which no single loop can do."""
    return _begin(driver, lambda: execute(target, op, list(args), {}))


def start_worker(driver: Driver, worker: Any, role: str, name: str, queue: Any,
                 second: Any) -> int:
    """`producer(q, items)` or `consumer(q, handle)` as a task named as the kit's task
    that stands for it (its calls are recorded under that name), as `start` starts a
    call. `queue` and a consumer's `handle` are the kit's, called back (`KitQueue`)."""
    kit_queue = KitQueue(queue, driver)
    arg = second if role == "producer" else KitHandle(second, driver)
    return _begin(driver, lambda: worker(kit_queue, arg), name)


def _begin(driver: Driver, call: Any, name: str | None = None) -> int:
    """`call()`'s awaitable as a task of the loop, its first step run now (`start`)."""
    ready = driver.loop._ready  # noqa: SLF001 - the step a new task schedules
    with _inside(driver):
        with _watched(driver):
            awaitable = call()
        before = len(ready)
        task = asyncio.ensure_future(awaitable, loop=driver.loop)
        if name is not None:
            task.set_name(name)
        if len(ready) == before + 1:
            step = ready.pop()
            with _watched(driver):
                step._run()  # noqa: SLF001 - the task's first step, as an eager task's
    tid = next(driver.ids)
    driver.tasks[tid] = task
    task.add_done_callback(lambda _, tid=tid: driver.finished.append(tid))
    return tid


def where(driver: Driver, tid: int) -> str | None:
    """Where the task `tid` is suspended: `aio.loop.task_line` without the task's name."""
    task = driver.tasks.get(tid)
    return None if task is None else task_line(task)[len(task.get_name()) + 1:]


def cancel(driver: Driver, tid: int) -> None:
    """Cancel a task, as the kit's twin of it was cancelled: it sees the CancelledError
    at the next tick, as it would at its loop's next turn."""
    task = driver.tasks.get(tid)
    if task is not None:
        with _inside(driver):
            task.cancel()


def tick(driver: Driver, arrived: str = "[]") -> str:
    """Hand the workers the outcomes of the kit's calls that ended (`arrived`, JSON: [call
    id, how, ...] as a task's below) and run one iteration of the loop; then, as JSON:
    the tasks that ended (`[id, "returned", its value on the wire]`, `[id, "cancelled"]`
    or `[id, "raised", role, class name, message]`), whether a callback is ready,
    seconds until the next timer (or null), and the blocking calls the submission made
    in the tick (`[what at where, times]`)."""
    loop = driver.loop
    for entry in json.loads(arrived):
        future = driver.kit_calls.pop(entry[0], None)
        if future is not None and not future.done():
            future.set_result(entry[1:])
    loop.call_soon(loop.stop)
    with _watched(driver):
        loop.run_forever()  # with stop() queued behind what is ready: one iteration
    while driver.dropped:  # told now, from this thread: the kit's waits for this tick
        queue, text = driver.dropped.pop(0)
        queue.dropped(text)
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
                       "blocking": driver.watch.take_counts()})


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


# --- the kit's queue and handle, as the async workers here see them -------------------


def _who() -> str:
    """The name of the task making a call: the kit records the call under it."""
    task = asyncio.current_task()
    return task.get_name() if task is not None else "a callback"


def _kit_outcome(driver: Driver, remote: Any, cid: int) -> Any:
    """The end of the kit's call `cid`, to await: expected from now on (a tick brings it,
    and drops an outcome nobody expects)."""
    future = driver.kit_calls[cid] = driver.loop.create_future()
    return _outcome_of(remote, cid, future)


async def _outcome_of(remote: Any, cid: int, future: asyncio.Future) -> Any:
    """Await the kit's call as its own awaiter would: cancelled here, it is cancelled
    there, and this ends as it ended there (with the value it had already got: "too
    late to cancel", as a Task's)."""
    try:
        outcome = await asyncio.shield(future)
    except asyncio.CancelledError:
        if future.done():
            outcome = future.result()
        else:
            remote.cancel(cid)
            outcome = await asyncio.shield(future)
        if outcome[0] == "cancelled":
            raise
    if outcome[0] == "returned":
        return UNWIRE(outcome[1])
    if outcome[0] == "raised":
        role, name, message = outcome[1:4]
        cls = KIT_ROLES.get(role)
        raise cls(message) if cls is not None else RuntimeError(f"{name}: {message}")
    raise asyncio.CancelledError


class KitQueue:
    """The kit's queue in the workers' hands: each call goes back to the kit, where it
    is recorded under the calling task's name; `put`, `get` and `join` run there as
    tasks of the kit's loop, awaited here (`_KitCall`)."""

    def __init__(self, remote: Any, driver: Driver) -> None:
        self._remote = remote
        self._driver = driver

    def put(self, item: Any) -> _KitCall:
        return _KitCall(self, "put", (item,), f"put({describe(item)})")

    def get(self) -> _KitCall:
        return _KitCall(self, "get", (), "get()")

    def join(self) -> _KitCall:
        return _KitCall(self, "join", (), "join()")

    def put_nowait(self, item: Any) -> None:
        self._remote.plain(_who(), "put_nowait", item)

    def get_nowait(self) -> Any:
        return self._remote.plain(_who(), "get_nowait")

    def task_done(self) -> None:
        self._remote.plain(_who(), "task_done")

    def qsize(self) -> int:
        return self._remote.plain(_who(), "qsize")

    def empty(self) -> bool:
        return self._remote.plain(_who(), "empty")

    def full(self) -> bool:
        return self._remote.plain(_who(), "full")

    @property
    def maxsize(self) -> int:
        return self._remote.plain(_who(), "maxsize")


class _KitCall:
    """A coroutine call of the kit's queue: begun there once awaited; dropped without
    being awaited, it is told to the kit as the worker's bug (`awaited`), with the line."""

    __slots__ = ("_queue", "_op", "_args", "_what", "_where", "_who", "_awaited")

    def __init__(self, queue: KitQueue, op: str, args: tuple, what: str) -> None:
        self._queue, self._op, self._args, self._what = queue, op, args, what
        self._awaited = False
        self._who = _who()
        self._where = call_site(sys._getframe(2))  # the worker's line that made the call

    def __await__(self):
        self._awaited = True
        return self._run().__await__()

    async def _run(self) -> Any:
        queue = self._queue
        cid = queue._remote.begin(_who(), self._op, *self._args)  # noqa: SLF001
        return await _kit_outcome(queue._driver, queue._remote, cid)  # noqa: SLF001

    def __del__(self) -> None:
        if not self._awaited:
            self._queue._driver.dropped.append(  # noqa: SLF001
                (self._queue._remote, f"{self._who} called {self._what} at {self._where}"))  # noqa: SLF001


class KitHandle:
    """The kit's `handle` in a consumer's hands: called back; what it returns to await
    (a slow handle's) is awaited here as the kit's call it is."""

    def __init__(self, remote: Any, driver: Driver) -> None:
        self._remote = remote
        self._driver = driver

    def __call__(self, item: Any) -> Any:
        cid = self._remote.call(_who(), item)
        return None if cid is None else _kit_outcome(self._driver, self._remote, cid)
