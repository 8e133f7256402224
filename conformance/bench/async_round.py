"""One round of a bench case for an asyncio queue: producer and consumer *tasks* on an
event loop of the round's own, measured the way `measure.run_round` measures threads.

Why a loop on a thread of its own, rather than `asyncio.run` on the caller's: a queue
that never awaits where it should (a busy loop, a `time.sleep`) holds its loop, and
nothing running on that loop can then stop the round. The caller waits for the thread
with a bound instead, reports the queue stuck and goes on; the thread is a daemon and is
left behind, as the threads of a stuck thread queue are.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from .figures import Case, Round, Trouble, split

#: After the bound, how long a round's tasks get to end once cancelled.
CANCEL_GRACE = 1.0


def run_async_round(make: Callable[[int], Any], case: Case, bound: float) -> Round | Trouble:
    """Run `case` once on a fresh queue, each producer and consumer a task of one loop."""
    outcome: list[Round | Trouble] = []

    def on_thread() -> None:
        try:
            outcome.append(asyncio.run(_round(make, case, bound)))
        except BaseException as exc:  # pragma: no cover - _round reports what it meets
            outcome.append(Trouble("failed", f"the round's loop raised {type(exc).__name__}: "
                                   f"{exc}"))

    thread = threading.Thread(target=on_thread, name=f"prodcon-bench loop {case.label}",
                              daemon=True)
    thread.start()
    thread.join(bound + CANCEL_GRACE + 1.0)
    if not outcome:
        return Trouble("stuck", f"the event loop was held past {bound:g} s: the queue blocks "
                       "the loop (a busy loop or a blocking call between awaits)")
    return outcome[0]


async def _round(make: Callable[[int], Any], case: Case, bound: float) -> Round | Trouble:
    try:
        q = make(case.maxsize)
    except Exception as exc:
        return Trouble("failed", f"Queue({case.maxsize}) raised {type(exc).__name__}: {exc}")
    clock = time.perf_counter_ns
    latencies: list[list[int]] = [[] for _ in range(case.consumers)]
    finished: list[int] = []

    async def produce(count: int) -> None:
        put = q.put
        for _ in range(count):
            await put(clock())

    async def consume(count: int, record: list[int]) -> None:
        get, note = q.get, record.append
        for _ in range(count):
            note(clock() - await get())
        finished.append(clock())

    tasks = [asyncio.create_task(produce(n), name=f"producer {i} put")
             for i, n in enumerate(split(case.items, case.producers))]
    tasks += [asyncio.create_task(consume(n, record), name=f"consumer {i} get")
              for i, (n, record)
              in enumerate(zip(split(case.items, case.consumers), latencies, strict=True))]
    # The tasks first run once this coroutine awaits: all of them start from here, as
    # the thread round's barrier makes its threads start together.
    started = clock()
    done, pending = await asyncio.wait(tasks, timeout=bound,
                                       return_when=asyncio.FIRST_EXCEPTION)
    failed = [task for task in done if not task.cancelled() and task.exception()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=CANCEL_GRACE)
    if failed:
        error = failed[0].exception()
        return Trouble("failed", f"{failed[0].get_name()}: {type(error).__name__}: {error}")
    if pending:
        return Trouble("stuck", f"a round did not finish within {bound:g} s "
                       f"({len(pending)} of {len(tasks)} tasks still waiting)")
    return Round.of(case.items, latencies, started, finished)
