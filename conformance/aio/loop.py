"""An event loop on a kit thread of its own, whose every run is bounded.

Why not `asyncio.run()` in the test's thread: an implementation that blocks the loop
(a `time.sleep`, a `threading.Lock` held across an await, a blocking `queue.Queue`
call) would block the test with it, and only pytest-timeout would end the session. Here
the loop runs on a daemon thread; the test waits for each run with a bound measured as
the thread harness measures its own (`harness.Watch`: time the machine did not give
the process is no evidence of a hang). When a run does not end within it, the report
names every task still pending, the line it is suspended at and what it awaits, and the
queue's state; or, when the loop itself does not answer, the line its thread is blocked
in. The run's tasks are then cancelled, and the session goes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from prodcon.engine.harness import POLL, Watch
from prodcon.errors import kit_file
from prodcon.settings import STALL_BOUND
from prodcon.verdict import Stuck

#: How long a stuck run's loop has to answer the question "which tasks are pending?".
ANSWER_BOUND = 2.0


class EventLoop:
    """One event loop, on a kit thread, for the runs of one test. `close()` when done."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.blocked = False  # a run found the loop's thread stuck outside the loop
        self._thread = threading.Thread(target=self._serve, name=f"prodcon-loop-{name}",
                                        daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, main: Coroutine, bound: float, what: str, prop: str = "deadlock",
            state: Callable[[], str] | None = None, stall: float = STALL_BOUND) -> Any:
        """`main` run on the loop to its end and its result returned, or its exception
        raised; `Stuck` (`prop`) if it is not over within `bound` seconds, or as soon as
        the loop has not run a callback of ours for `stall` seconds (its thread is held
        by a call that does not await: no task can run, so waiting longer shows nothing)."""
        if self.blocked:
            main.close()
            raise Stuck(prop, f"{what} could not start: the event loop is still blocked by "
                        "an earlier call (see the test's first failure).")
        future = asyncio.run_coroutine_threadsafe(main, self.loop)
        watch = Watch(bound)
        beat = threading.Event()
        beat.set()
        held = None  # how long our last heartbeat has waited for the loop
        while True:
            try:
                return future.result(POLL)
            except concurrent.futures.TimeoutError:
                if watch.tick():
                    break
            if beat.is_set():
                beat.clear()
                held = Watch(stall)
                self.loop.call_soon_threadsafe(beat.set)
            elif held.tick():
                where = self._where_blocked()  # now, while it is held
                if self._pending_tasks() is None:
                    self.blocked = True
                future.cancel()
                shown = f"\nthe queue then: {state()}" if state is not None else ""
                raise Stuck(prop, (
                    f"{what}: the event loop itself did not answer for {stall:.1f} s: its "
                    "thread was held by a call that does not await, which stops every task "
                    "of the loop (a time.sleep(), a threading lock or a blocking "
                    f"queue.Queue call). The loop's thread was at:\n{where}{shown}"))
        raise self._stuck(future, what, bound, prop, state)

    def _stuck(self, future: concurrent.futures.Future, what: str, bound: float, prop: str,
               state: Callable[[], str] | None) -> Stuck:
        pending = self._pending_tasks()
        shown = f"\nthe queue then: {state()}" if state is not None else ""
        if pending is None:
            self.blocked = True
            return Stuck(prop, (
                f"{what} did not finish within {bound:.1f} s, and the event loop itself "
                "did not answer: its thread is blocked in a call that does not await, "
                "which stops every task of the loop (a time.sleep(), a threading lock or "
                f"a blocking queue.Queue call). The loop's thread is at:\n"
                f"{self._where_blocked()}{shown}"))
        future.cancel()
        lines = "\n".join(f"  {line}" for line in pending) or "  (no task is pending)"
        return Stuck(prop, f"{what} did not finish within {bound:.1f} s. The tasks still "
                     f"waiting, each at the line it is suspended at:\n{lines}{shown}")

    def _pending_tasks(self) -> list[str] | None:
        """Each pending task, described by the loop's own thread (a task's frames may only
        be read there); None when the loop does not answer within ANSWER_BOUND."""
        answer: concurrent.futures.Future = concurrent.futures.Future()

        def describe() -> None:
            try:
                answer.set_result([task_line(task) for task in asyncio.all_tasks(self.loop)
                                   if not task.done()])
            except BaseException as exc:  # noqa: BLE001 - a report must not fail the kit
                answer.set_exception(exc)

        self.loop.call_soon_threadsafe(describe)
        try:
            return sorted(answer.result(ANSWER_BOUND))
        except concurrent.futures.TimeoutError:
            return None

    def _where_blocked(self) -> str:
        frame = sys._current_frames().get(self._thread.ident)  # noqa: SLF001
        lines = []
        while frame is not None and len(lines) < 4:
            code = frame.f_code
            if not kit_file(code.co_filename):
                lines.append(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}")
            frame = frame.f_back
        return "\n".join(lines) or "  (no line of the implementation's)"

    def cancel_all(self, bound: float) -> None:
        """Cancel every task left on the loop and let them end (a stuck run's)."""
        if self.blocked:
            return

        async def cancel() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=bound)

        try:
            asyncio.run_coroutine_threadsafe(cancel(), self.loop).result(bound + ANSWER_BOUND)
        except (concurrent.futures.TimeoutError, RuntimeError):
            self.blocked = True

    def close(self, bound: float) -> None:
        """Stop the loop and free it; a loop blocked by the implementation is left to its
        daemon thread (like a stuck thread of the harness)."""
        self.cancel_all(bound)
        if self.blocked:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(bound)
        if not self._thread.is_alive():
            self.loop.close()


def task_line(task: asyncio.Task) -> str:
    """'c1: at mymod.py:42 in get, awaiting <Future pending ...>': the innermost line of
    the implementation's in the task's chain of coroutines (the kit's own if none)."""
    frames = []
    coro, depth = task.get_coro(), 0
    while coro is not None and depth < 100:  # follow the awaits down to the future
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        depth += 1
    mine = [f for f in frames if not kit_file(f.f_code.co_filename)] or frames
    where = ""
    if mine:
        frame = mine[-1]
        where = f" at {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
    # the future the task is parked on: asyncio keeps it there (a private name, there
    # since 3.4; the coroutine chain ends in an iterator over it, which shows nothing)
    awaited = getattr(task, "_fut_waiter", None)
    return (f"{task.get_name()}:{where}"
            f"{f', awaiting {_short(awaited)}' if awaited is not None else ''}")


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 80 else text[:77] + "..."
