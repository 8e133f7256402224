"""M producer tasks and N consumer tasks through the async queue under test; the
recording judged by the engine's checkers (conservation, then FIFO order, capacity and
each QueueFull / QueueEmpty answer on its own call).

Each task draws its forms and pauses from a generator seeded from the scenario's, so
one seed gives one run: `await put()`; `put_nowait()`, trying again after a turn of the
loop on QueueFull; or a *timed* put, the call in a task of its own that is cancelled
when its time is up (what `asyncio.wait_for` does, written so that a call which
finished as the time ran out keeps its result: the kit must not lose an item the queue
handed out). Gets the same. The slow side pauses now and then; everyone yields often,
so the loop interleaves the tasks at many points. When every producer is done, the
coordinator puts one stop marker per consumer and waits for the consumers to return.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from prodcon.aio import quiet
from prodcon.aio.loop import task_line
from prodcon.aio.recording import AsyncRecordingQueue
from prodcon.aio.task_worker import TaskWorker
from prodcon.engine import checkers
from prodcon.engine.recording import History
from prodcon.engine.scenario import Stop
from prodcon.history import fileformat
from prodcon.items import make_batch
from prodcon.settings import STALL_BOUND, Shape
from prodcon.verdict import Evidence, Stuck, Violation, judge

#: A timed call's timeout, in seconds: short, so that some of them run out.
TIMED = 0.01


async def run_async_queue_scenario(impl: Any, shape: Shape, rng: random.Random,
                                   items_per_producer: int, strict: bool = False,
                                   factor: float = 1.0) -> None:
    """Run the scenario on a new queue; raise what it breaks (`judge`), or `Stuck`."""
    queue = impl.Queue(shape.maxsize)
    history = History()
    batches = [make_batch(p, items_per_producer, rng, 0.25) for p in range(shape.producers)]
    loop = asyncio.get_running_loop()
    consumers = [loop.create_task(
        _consume(AsyncRecordingQueue(queue, history, f"c{i}"), random.Random(rng.random()),
                 shape.pace == "slow-consumers", impl.Empty), name=f"c{i}")
        for i in range(shape.consumers)]
    producers = [loop.create_task(
        _produce(AsyncRecordingQueue(queue, history, f"p{p}"), batch,
                 random.Random(rng.random()), shape.pace == "slow-producers", impl.Full),
        name=f"p{p}") for p, batch in enumerate(batches)]
    stops = [Stop(i) for i in range(shape.consumers)]
    coordinator = AsyncRecordingQueue(queue, history, "main")

    async def stop_consumers() -> None:
        for stop in stops:
            await coordinator.put(stop)

    try:
        await progress(producers, history, queue, "waiting for the producers to put "
                        "their items", STALL_BOUND * factor)
        stopper = loop.create_task(stop_consumers(), name="main")
        await progress([stopper, *consumers], history, queue, "waiting for the consumers "
                        "to take their stop markers", STALL_BOUND * factor)
    except Stuck as stuck:
        ops = fileformat.from_calls(history.calls())
        stuck.evidence = Evidence(ops, tuple(op.index for op in ops if op.pending),
                                  stuck.message)
        died = _died([*producers, *consumers])
        if died:  # a task that died is the cause: the hang is its consequence
            raise Violation("exceptions", "\n\n".join(
                [*(v.message for v in died), f"Then, as a consequence: {stuck.message}"])
                ) from None
        raise
    findings = _died([*producers, *consumers])
    calls = history.calls()
    judge(findings + (checkers.conservation(calls, batches, extra=stops)
                      or checkers.fifo_queue(calls, shape.maxsize, strict)))


#: What a task's death by the queue's own exception means.
_DIED_WHY = ("A correct queue raises QueueFull / QueueEmpty only from the non-waiting "
             "calls, where asyncio.Queue does, and a waiting get() or put() does not give up.")


def _died(tasks: list[asyncio.Task]) -> list[Violation]:
    """A violation for each task the queue killed with an exception of its own."""
    return checkers.thread_errors([TaskWorker(task) for task in tasks], why=_DIED_WHY)


async def _produce(view: AsyncRecordingQueue, batch: list, rng: random.Random, slow: bool,
                   full: type) -> None:
    for item in batch:
        form = rng.random()
        while True:
            if form < 0.5:
                await view.put(item)
                break
            if form < 0.8:
                try:
                    view.put_nowait(item)
                    break
                except full:
                    await asyncio.sleep(0)  # a legal answer: try again after a turn
                    continue
            if await _timed(view.put(item), view.thread) is not _TIMED_OUT:
                break
        await _pause(rng, slow)


async def _consume(view: AsyncRecordingQueue, rng: random.Random, slow: bool,
                   empty: type) -> None:
    while True:
        form = rng.random()
        if form < 0.5:
            value = await view.get()
        elif form < 0.8:
            try:
                value = view.get_nowait()
            except empty:
                await asyncio.sleep(0)
                continue
        else:
            value = await _timed(view.get(), view.thread)
            if value is _TIMED_OUT:
                continue
        if isinstance(value, Stop):
            return
        await _pause(rng, slow)


_TIMED_OUT = object()


async def _timed(call, name: str) -> Any:
    """`call` with a timeout: cancelled if not done by then. A call that finished as
    its time ran out keeps its result (asyncio.wait_for before 3.12 could drop it)."""
    task = asyncio.get_running_loop().create_task(call, name=name)
    done, _ = await asyncio.wait({task}, timeout=TIMED)
    if not done:
        task.cancel()
        # bounded: a queue that swallows the cancellation leaves the call running; the
        # scenario's progress watch names it when nothing moves any more
        await quiet.wait({task}, STALL_BOUND)
    if not task.done() or task.cancelled():
        return _TIMED_OUT
    return task.result()


async def _pause(rng: random.Random, slow: bool) -> None:
    if slow and rng.random() < 0.3:
        await asyncio.sleep(rng.uniform(0.0001, 0.001))
    elif rng.random() < 0.5:
        await asyncio.sleep(0)


async def progress(tasks: list[asyncio.Task], history: History, queue: Any, doing: str,
                   stall: float, prop: str = "deadlock") -> None:
    """Wait for `tasks` to end, as long as the history keeps moving; `Stuck` (`prop`)
    once it has not moved for `stall` seconds, or at once when nothing on the loop can
    run any more (`quiet.idle` at two looks in a row), naming each task still waiting."""
    loop = asyncio.get_running_loop()
    pending = set(tasks)
    last = history.progress()
    still = 0.0
    idle_before = False
    step = quiet.LOOK
    while pending:
        done, pending = await asyncio.wait(pending, timeout=step)
        now = history.progress()
        if done or now != last:
            last, still, idle_before = now, 0.0, False
            continue
        still += step
        idle_now = quiet.idle(loop)
        if still >= stall or (idle_now and idle_before):
            lines = "\n".join(f"  {task_line(task)}" for task in sorted(
                pending, key=lambda t: t.get_name()))
            for task in pending:
                task.cancel()
            lead = (f"no progress for {stall:.1f} s" if still >= stall else
                    "nothing left on the event loop that could run (no task ready, no "
                    "timer pending)")
            raise Stuck(prop, f"{lead} while {doing}; the tasks "
                        f"still waiting, each at the line it is suspended at:\n{lines}\n"
                        f"the queue then: {_state(queue)}")
        idle_before = idle_now


def _state(queue: Any) -> str:
    try:
        return f"qsize()={queue.qsize()}, empty()={queue.empty()}, full()={queue.full()}"
    except Exception as exc:  # noqa: BLE001 - the report must not fail
        return f"(qsize() raised {type(exc).__name__})"
