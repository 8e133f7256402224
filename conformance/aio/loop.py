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
import contextlib
import sys
import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from prodcon.aio import quiet
from prodcon.aio.blocking import BlockingWatch, implementation_line
from prodcon.engine.harness import POLL, Abandoned, Watch, interrupt
from prodcon.errors import kit_file
from prodcon.settings import STALL_BOUND
from prodcon.verdict import Stuck, Violation

#: How long a stuck run's loop has to answer the question "which tasks are pending?".
ANSWER_BOUND = 2.0
#: How long the loop may stay away once the watch saw it make a blocking call, or while
#: its thread is in the implementation's code using the CPU (a busy loop) or asleep in
#: the kernel (a lock's acquire the watch cannot see): never while it only waits for
#: a CPU on a loaded machine.
EARLY = 0.5
#: The same for a loop held in the sandbox's child, whose CPU the kit cannot see: a
#: child starved of the CPU on a loaded machine must not look held.
REMOTE_EARLY = 2.0
#: loop -> its holder in another process: for a queue whose own loop runs in the
#: sandbox's child (`isolation.async_parent.Pump`), the kit's loop thread waits in a
#: call to the child while the child's loop is held. `held_in_child()` says where
#: (or None), `interrupt_child()` stops it once the kit gives the loop up, and
#: `child_line(task)` where the child's task that `task` awaits is (or None).
REMOTE_HOLDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class EventLoop:
    """One event loop, on a kit thread, for the runs of one test. `close()` when done."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.blocked = False  # a run found the loop's thread stuck outside the loop
        self.watch = BlockingWatch()  # blocking calls on the loop's thread (blocking.py)
        self._thread = threading.Thread(target=self._serve, name=f"prodcon-loop-{name}",
                                        daemon=True)
        self._thread.start()
        quiet.note_threads(self.loop)  # the session's threads and this one

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.watch.install(self.loop)
        try:
            self.loop.run_forever()
        except Abandoned:  # `_abandon` stopped a loop the implementation held for good
            pass
        finally:
            if self.blocked and not self.loop.is_running():
                # given up on: nobody else will close it (its sockets, its executor)
                with contextlib.suppress(Exception):
                    self.loop.close()

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
                result = future.result(POLL)
            except concurrent.futures.TimeoutError:
                if watch.tick():
                    break
            except Violation as found:
                raise self._with_blocking(found) from None
            except BaseException:
                self.watch.take()
                raise
            else:
                blocking = self._with_blocking(None)
                if blocking is not None:
                    raise blocking
                return result
            if beat.is_set():
                beat.clear()
                held = Watch(stall)
                spent = self._cpu_time()
                self.loop.call_soon_threadsafe(beat.set)
                continue
            expired = held.tick()
            # held in the sandbox's child: asked once a poll (a listing of its threads)
            remote = (self._held_remotely() if expired or held.counted > REMOTE_EARLY
                      else None)
            if expired or remote is not None or (held.counted > EARLY and (
                    self.watch.found
                    or (self._held_by_implementation()
                        and (self._busy_since(spent) or self._asleep())))):
                # the loop has not come back: held past `stall`, or held past EARLY by a
                # blocking call the watch saw or in a line of the implementation's (that
                # is the finding: no need to wait out the bound)
                where = remote or self._where_blocked()  # now, while it is held
                if (remote is not None or self._held_by_implementation()
                        or self._pending_tasks() is None):
                    self._abandon()
                future.cancel()
                shown = f"\nthe queue then: {state()}" if state is not None else ""
                calls = self.watch.take()
                if calls:
                    where = f"{where}\nblocking calls it made: {'; '.join(calls)}"
                raise Stuck("event-loop", (
                    f"{what}: the event loop itself did not answer for "
                    f"{held.counted:.1f} s: its thread was held by a call that does not "
                    "await, which stops every task of the loop (a time.sleep(), a threading "
                    f"lock or a blocking queue.Queue call). The loop's thread was at:\n"
                    f"{where}{shown}"))
        raise self._stuck(future, what, bound, prop, state)

    def _with_blocking(self, found: Violation | None) -> Violation | None:
        """`found` (or nothing), with the blocking calls the loop's thread made first."""
        calls = self.watch.take()
        if not calls:
            return found
        blocking = Violation("event-loop", (
            "the implementation blocked the event loop: "
            + "; ".join(calls) + ". A call that does not await stops every task of the "
            "loop while it lasts; in a coroutine, wait with `await` (asyncio.sleep, an "
            "asyncio.Lock or Condition, an asyncio.Queue), never with a threading one."))
        return blocking if found is None else Violation.combine([blocking, found])

    def _stuck(self, future: concurrent.futures.Future, what: str, bound: float, prop: str,
               state: Callable[[], str] | None) -> Stuck:
        pending = self._pending_tasks()
        shown = f"\nthe queue then: {state()}" if state is not None else ""
        if pending is None:
            self._abandon()
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

    def _abandon(self) -> None:
        """The loop is held by the implementation for good: no later run goes on it, and
        its thread is interrupted (a sleep or a busy loop stops there; a thread blocked in
        a lock stays blocked, a daemon, as the harness leaves its stuck threads)."""
        self.blocked = True
        self.watch.off = True
        self.loop.call_soon_threadsafe(self.loop.stop)  # once it gets back to the loop
        interrupt(self._thread)
        holder = REMOTE_HOLDERS.get(self.loop)
        if holder is not None:  # the child's twin of this thread, spinning there
            holder.interrupt_child()

    def _cpu_time(self) -> float | None:
        """The CPU time the loop's thread has used, where the platform tells (Linux,
        macOS): None elsewhere."""
        try:
            return time.clock_gettime(time.pthread_getcpuclockid(self._thread.ident))
        except (AttributeError, OSError, TypeError):  # pragma: no cover - other platforms
            return None

    def _busy_since(self, spent: float | None) -> bool:
        """Whether the loop's thread has used the CPU for most of EARLY since `spent`:
        a busy loop, not a thread the machine kept off the CPU (CI's six workers on two
        cores once kept one from answering for half a second in a correct consumer)."""
        now = self._cpu_time()
        return spent is not None and now is not None and now - spent > EARLY / 2

    def _asleep(self) -> bool:
        """Whether the loop's thread is asleep in the kernel (blocked: a lock, a wait),
        not runnable and merely waiting for a CPU. Linux only (/proc); False elsewhere,
        and the loop is called held at `stall` instead of EARLY."""
        try:
            with open(f"/proc/self/task/{self._thread.native_id}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):  # pragma: no cover - not Linux
            return False
        return fields[:1] in ([b"S"], [b"D"])

    def _held_remotely(self) -> str | None:
        holder = REMOTE_HOLDERS.get(self.loop)
        return holder.held_in_child() if holder is not None else None

    def _held_by_implementation(self) -> bool:
        frame = sys._current_frames().get(self._thread.ident)  # noqa: SLF001
        return frame is not None and implementation_line(frame) is not None

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
                await quiet.wait(tasks, bound)

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
    holder = REMOTE_HOLDERS.get(task.get_loop())
    remote = holder.child_line(task) if holder is not None else None
    if remote is not None:  # the task awaits a task of the sandbox's child: where that is
        return f"{task.get_name()}: in the sandbox's process{remote}"
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
