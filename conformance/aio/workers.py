"""The async worker role: the user's `async def producer(q, items)` and `async def
consumer(q, handle)` as tasks, coordinated as the asyncio documentation's worker example
does, on the reference's async queue; judged by the engine's `WorkerJudge`, as the thread
workers are.

The coordinator starts N consumer tasks and M producer tasks, waits for the producers,
awaits `q.join()`, then stops the consumers the module's way: one SENTINEL each
(`STOP = "sentinel"`), or by cancelling them (`STOP = "cancel"`), after which each must
end, with the CancelledError or by returning, holding no item.

The queue the workers get records each call under the calling task's name, and hands
out its coroutines (`put`, `get`, `join`) wrapped: one created and never awaited (the
most common asyncio bug: `q.put(item)` without `await` does nothing) is caught when it
is dropped, with the line that created it (`awaited`).

With `failing`, the handler raises `HandleFailed` for that many items, as a real job
does now and then. The item still counts as handled: the consumer must call
`task_done()` for it (in a `finally:`), or `q.join()` never returns (`join`); it may go
on or end with that exception, as long as another consumer takes the rest. The
asyncio documentation's worker, with `queue.task_done()` after the work and no
`finally`, is the everyday case this catches.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

from prodcon.aio import quiet
from prodcon.aio.loop import task_line
from prodcon.aio.recording import AsyncRecordingQueue
from prodcon.aio.scenario import progress
from prodcon.aio.task_worker import TaskWorker
from prodcon.engine.recording import History
from prodcon.engine.scenario import WorkerJudge
from prodcon.errors import kit_file
from prodcon.items import describe, make_batch
from prodcon.reference import aio as async_reference
from prodcon.settings import STALL_BOUND, Shape
from prodcon.verdict import Stuck, Violation, judge


class HandleFailed(Exception):
    """What the kit's handler raises for an item it fails on purpose (`failing`)."""


async def run_async_worker_scenario(impl: Any, shape: Shape, rng: random.Random,
                                    items_per_producer: int, factor: float = 1.0,
                                    failing: int = 0) -> None:
    """The user's workers through the reference's async queue; raise what breaks.

    `failing` items (fewer than the consumers, so that one always survives) make the
    handler raise `HandleFailed`."""
    queue = async_reference.Queue(shape.maxsize)
    history = History()
    dropped: list[str] = []
    shared = _TaskViews(queue, history, dropped)
    batches = [make_batch(p, items_per_producer, rng, 0.25) for p in range(shape.producers)]
    everything = [item for batch in batches for item in batch]
    fails = frozenset(id(item) for item in rng.sample(everything, failing))
    loop = asyncio.get_running_loop()
    lasts = frozenset(id(batch[-1]) for batch in batches if batch)
    handlers = [_AsyncHandler(f"c{i}", random.Random(rng.random()),
                              shape.pace == "slow-consumers", fails, lasts)
                for i in range(shape.consumers)]
    consumers = [_TaskWorker(loop.create_task(impl.consumer(shared, h), name=h.name))
                 for h in handlers]
    producers = [_TaskWorker(loop.create_task(impl.producer(shared, list(batch)),
                                              name=f"p{p}"))
                 for p, batch in enumerate(batches)]
    by_sentinel = impl.stop == "sentinel"
    main = AsyncRecordingQueue(queue, history, "main")
    stall = STALL_BOUND * factor
    join_call = None

    def judgement() -> WorkerJudge:
        # A consumer ended by the handler's own failure is not judged as a worker (its
        # exception is the kit's, and it owes no sentinel); its items still are.
        return WorkerJudge(history, batches, handlers,
                           [w for w in consumers if not w.failed_by_handle], producers,
                           impl.sentinel, sentinel_stop=by_sentinel)

    try:
        await progress([w.task for w in producers], history, queue,
                       "waiting for every producer(q, items) to return", stall)
        joiner = loop.create_task(main.join(), name="main-join")
        await progress([joiner], history, queue, "awaiting q.join() after the producers "
                       "returned", stall, prop="join")
        join_call = main.log[-1]
        stopping = [w for w in consumers if w.alive]
        if by_sentinel:
            async def stop() -> None:
                for _ in stopping:
                    await main.put(impl.sentinel)

            stopper = loop.create_task(stop(), name="main")
            await progress([stopper, *(w.task for w in stopping)], history, queue,
                           "waiting for the consumers to return after the sentinels", stall,
                           prop="sentinel-shutdown")
        else:
            await _cancel_consumers(stopping, stall)
    except Stuck as stuck:
        findings = judgement().findings(join_call=None, finished=False) + _dropped(dropped)
        if findings:
            raise Violation(findings[0].prop, "\n\n".join(
                [*(f.message for f in findings), f"Then, as a consequence: {stuck.message}"]),
                tuple(dict.fromkeys(p for f in findings for p in f.props))) from None
        raise
    judge(_dropped(dropped) + judgement().findings(join_call=join_call, finished=True))


async def _cancel_consumers(consumers: list[_TaskWorker], stall: float) -> None:
    """STOP = "cancel": every consumer cancelled, and each must end within `stall`."""
    for worker in consumers:
        worker.task.cancel()
    tasks = [w.task for w in consumers]
    started = time.monotonic()
    _, pending = await quiet.wait(tasks, stall)
    if pending:
        names = ", ".join(sorted(t.get_name() for t in pending))
        lines = "\n".join(f"  {task_line(t)}" for t in sorted(pending, key=lambda t: t.get_name()))
        for task in pending:  # asked once more, so that the run can end
            task.cancel()
        raise Violation("cancel-shutdown", (
            f"consumer task(s) {names} were cancelled after q.join() returned and were still "
            f"running {time.monotonic() - started:.2f} s later, each at:\n{lines}\n"
            "A consumer that catches CancelledError must end (re-raise it, or return), or "
            "the coordinator never finishes."))


def _dropped(dropped: list[str]) -> list[Violation]:
    if not dropped:
        return []
    return [Violation("awaited", (
        f"{len(dropped)} queue call(s) made and never awaited: {'; '.join(dropped[:5])}"
        f"{' ...' if len(dropped) > 5 else ''}. `q.put(item)` without `await` only creates "
        "a coroutine object and drops it: the item is never put (the same for get() and "
        "join()). Write `await q.put(item)`."))]


class _TaskWorker(TaskWorker):
    """An async worker task, as `WorkerJudge` reads a worker."""

    @property
    def failed_by_handle(self) -> bool:
        """Ended by the kit's handler failing on purpose (`HandleFailed`)."""
        return isinstance(self.error, HandleFailed)


class _AsyncHandler:
    """The `handle` given to one consumer: records what it handled; a slow consumer's
    returns a coroutine that takes a moment (the consumer must await it)."""

    def __init__(self, name: str, rng: random.Random, slow: bool,
                 fails: frozenset[int] = frozenset(), lasts: frozenset[int] = frozenset()
                 ) -> None:
        self.name = name
        self.rng = rng
        self.slow = slow
        # A slow consumer's handle of a producer's last item always takes a moment: the
        # last item put is the last taken, and only a handle still running when join()
        # returns shows a task_done() called before it (else caught one run in a few).
        self.lasts = lasts
        self.fails = fails  # ids of the items whose handling raises HandleFailed
        self.failed: Any = None  # the last item it failed (WorkerJudge names it)
        self.handled: list[list] = []  # item, start, end

    def __call__(self, item: Any) -> Any:
        entry = [item, time.perf_counter_ns(), None]
        self.handled.append(entry)
        if self.slow and (id(item) in self.lasts or self.rng.random() < 0.5):
            return self._finish_later(entry, self.rng.uniform(0.0002, 0.002))
        self._finish(entry)
        return None

    async def _finish_later(self, entry: list, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._finish(entry)

    def _finish(self, entry: list) -> None:
        entry[2] = time.perf_counter_ns()
        if id(entry[0]) in self.fails:
            self.failed = entry[0]
            raise HandleFailed(f"the kit's handle() fails on purpose for {describe(entry[0])}")


class _TaskViews:
    """The queue the workers are given: each call recorded under the calling task's name;
    its coroutines must be awaited (`_MustAwait`)."""

    def __init__(self, queue: Any, history: History, dropped: list[str]) -> None:
        self._queue = queue
        self._history = history
        self._dropped = dropped
        self._views: dict[str, AsyncRecordingQueue] = {}

    def _view(self) -> AsyncRecordingQueue:
        task = asyncio.current_task()
        return self.view(task.get_name() if task is not None else "main")

    def view(self, name: str) -> AsyncRecordingQueue:
        """The queue as the task `name` calls it: each call recorded under that name
        (`isolation.async_callbacks` names a task of the sandbox's child)."""
        view = self._views.get(name)
        if view is None:
            view = self._views[name] = AsyncRecordingQueue(self._queue, self._history, name)
        return view

    def note_dropped(self, text: str) -> None:
        """A queue call made and never awaited, seen elsewhere (in the sandbox's child)."""
        self._dropped.append(text)

    def put(self, item: Any) -> _MustAwait:
        return _MustAwait(self._view().put(item), f"put({describe(item)})", self._dropped)

    def get(self) -> _MustAwait:
        return _MustAwait(self._view().get(), "get()", self._dropped)

    def join(self) -> _MustAwait:
        return _MustAwait(self._view().join(), "join()", self._dropped)

    def put_nowait(self, item: Any) -> None:
        self._view().put_nowait(item)

    def get_nowait(self) -> Any:
        return self._view().get_nowait()

    def task_done(self) -> None:
        self._view().task_done()

    def qsize(self) -> int:
        return self._queue.qsize()

    def empty(self) -> bool:
        return self._queue.empty()

    def full(self) -> bool:
        return self._queue.full()

    @property
    def maxsize(self) -> int:
        return self._queue.maxsize


def call_site(frame) -> str:
    """'file:line' of the first frame from `frame` outwards that is not the kit's: the
    worker's line that made a queue call (also in the sandbox's child, async_child)."""
    while frame is not None and kit_file(frame.f_code.co_filename):
        frame = frame.f_back
    return (f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None
            else "an unknown line")


class _MustAwait:
    """A queue coroutine handed to a worker; dropped without being awaited, it says so."""

    __slots__ = ("_coro", "_what", "_where", "_who", "_dropped", "_awaited")

    def __init__(self, coro: Any, what: str, dropped: list[str]) -> None:
        self._coro = coro
        self._what = what
        self._dropped = dropped
        self._awaited = False
        task = asyncio.current_task()
        self._who = task.get_name() if task is not None else "a worker"
        self._where = call_site(sys._getframe(2))  # the worker's line that made the call

    def __await__(self):
        self._awaited = True
        return self._coro.__await__()

    def __del__(self) -> None:
        if not self._awaited:
            self._coro.close()  # no "never awaited" warning of Python's: the kit says it
            self._dropped.append(f"{self._who} called {self._what} at {self._where}")
