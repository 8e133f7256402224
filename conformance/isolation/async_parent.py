"""The kit's side of an asyncio implementation under `--prodcon-isolate`: its Queue as a
class whose coroutines run in the sandbox's child, on a loop that takes turns with the
kit's (`async_child`).

For each event loop of the kit's that uses the sandboxed queue, a `Pump` task runs the
child's loop one iteration at a time, and only once the kit's loop has nothing left to
run (a few turns at most, so a kit task that polls with `sleep(0)` cannot starve it):
one loop's callbacks, in two processes. A coroutine call (`await q.get()`) starts a
task there and waits here for the tick in which it ends; cancelling it here cancels it
there at once, and the call then ends as the child's task ended (cancelled, or with
the value it had already got: asyncio's own "too late to cancel"). A plain call runs
there at once, between two ticks. What the child answers is checked as any message of
an untrusted process is.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import weakref
from typing import Any

from prodcon.aio import quiet
from prodcon.aio.blocking import watch_of
from prodcon.aio.loop import REMOTE_HOLDERS
from prodcon.aio.workers import HandleFailed
from prodcon.isolation import async_child
from prodcon.isolation.protocol import (
    LINE_LIMIT,
    ProtocolError,
    Ref,
    clip,
    error_text,
    remote_error,
)
from prodcon.reference import aio as async_reference

#: A role's name in the child -> the class the kit judges it as (the sandbox's `roles`
#: for an async implementation, and a tick's "raised" outcomes).
ASYNC_ROLES = {"Full": asyncio.QueueFull, "Empty": asyncio.QueueEmpty,
               "ShutDown": async_reference.QueueShutDown, "ValueError": ValueError,
               "HandleFailed": HandleFailed}
#: Turns the kit's loop gets before each tick while it still has callbacks ready.
KIT_TURNS = 3

_PUMPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pump] = (
    weakref.WeakKeyDictionary())


class Pump:
    """The child's loop for one loop of the kit's: ticks, and the calls waiting on them."""

    def __init__(self, sandbox: Any, module: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.sandbox = sandbox
        self.loop = loop
        self.driver = sandbox.run_in_child(async_child.open_loop, module)
        self.waiting: dict[int, asyncio.Future] = {}
        #: A task of the kit's -> the child's task it awaits now (`child_line`).
        self.awaiting: weakref.WeakKeyDictionary[asyncio.Task, int] = (
            weakref.WeakKeyDictionary())
        self.dirty = True  # a call was made since the last tick
        self.child_ready = False
        self.next_timer: float | None = None
        self._news: asyncio.Future | None = None
        #: The kit's calls the child's workers await (`kit_call`), and the outcomes of
        #: those that ended, for the next tick.
        self.kit_tasks: dict[int, asyncio.Task] = {}
        self.arrived: list[list] = []
        self._kit_ids = itertools.count(1)
        self.task = loop.create_task(self._run(), name="prodcon-sandbox-loop")
        self.kit_thread = threading.current_thread()
        REMOTE_HOLDERS[loop] = self

    @classmethod
    def of(cls, sandbox: Any, module: Any) -> Pump:
        loop = asyncio.get_running_loop()
        pump = _PUMPS.get(loop)
        if pump is None or pump.task.done():
            pump = _PUMPS[loop] = cls(sandbox, module, loop)
        return pump

    def held_in_child(self) -> str | None:
        """Where the child's loop is held by the submission's code while the kit's loop
        thread waits for it (its stack there), or None (`aio.loop.REMOTE_HOLDERS`)."""
        frames = self.sandbox.busy_twin_stack(self.kit_thread)
        return None if frames is None else f"  in the sandbox's process:\n{frames}"

    def child_line(self, task: asyncio.Task) -> str | None:
        """' at worker.py:12 in consumer, awaiting ...': where the child's task that the
        kit's `task` awaits is suspended (`aio.loop.task_line` there); None when `task`
        awaits none, or the child cannot say."""
        tid = self.awaiting.get(task)
        if tid is None or self.sandbox.died is not None:
            return None
        try:
            line = self.sandbox.run_in_child(async_child.where, self.driver, tid)
        except Exception:  # noqa: BLE001 - a report goes on without it
            return None
        return self.sandbox._local_paths(clip(line, 300)) if type(line) is str else None  # noqa: SLF001

    def interrupt_child(self) -> None:
        """The kit gave its loop up: stop the child's twin of its thread, held in the
        submission's code (else it would spin there, stealing the child's time from
        every later test). Asked from the calling thread: the loop's is blocked."""
        try:
            self.sandbox.run_in_child(async_child.interrupt, self.kit_thread.name)
        except Exception:  # noqa: BLE001 - a child that is gone needs no stopping
            pass

    # -- calls ----------------------------------------------------------------------

    def plain(self, target: Any, op: str, args: tuple) -> Any:
        try:
            return self.sandbox.run_in_child(async_child.plain, self.driver, target, op, *args)
        finally:
            self._poke()

    async def call(self, target: Any, op: str, args: tuple) -> Any:
        """A coroutine call, started in the child and awaited here."""
        return await self._child_task(async_child.start, target, op, *args)

    async def run_worker(self, worker: Any, role: str, name: str, queue: Ref, second: Ref
                         ) -> Any:
        """The child's `producer(q, items)` or `consumer(q, handle)`, started in the child
        as a task named `name` and awaited here; `queue` and `second` are the kit's, for
        the child to call back (`async_callbacks`)."""
        return await self._child_task(async_child.start_worker, worker, role, name, queue,
                                      second)

    async def _child_task(self, starter: Any, *args: Any) -> Any:
        """Start a task in the child with `starter` and end as it ends."""
        try:
            tid = self.sandbox.run_in_child(starter, self.driver, *args)
        finally:
            self._poke()
        if type(tid) is not int:
            raise ProtocolError("a task id expected")
        task = asyncio.current_task()
        if task is not None:
            self.awaiting[task] = tid
        try:
            return await self._ended(tid)
        finally:
            if task is not None and self.awaiting.get(task) == tid:
                del self.awaiting[task]

    async def _ended(self, tid: int) -> Any:
        """The outcome of the child's task `tid`, awaited here; cancelled here, it is
        cancelled there."""
        # Shielded: cancelling the call here must not cancel the future the next tick
        # resolves, or an outcome that crossed in between would be dropped.
        ended = self.waiting[tid] = self.loop.create_future()
        try:
            outcome = await asyncio.shield(ended)
        except asyncio.CancelledError:
            if not ended.done():  # cancelled here: cancel it there, and end as it ends
                self.sandbox.run_in_child(async_child.cancel, self.driver, tid)
                self._poke()
                outcome = await asyncio.shield(ended)
            else:
                outcome = ended.result()  # it had ended: "too late to cancel", as a Task
            if outcome[0] == "cancelled":
                raise
        return self._outcome(tid, outcome)

    def _outcome(self, tid: int, outcome: list) -> Any:
        """The value of a call that returned, or its error raised as the kit judges it."""
        if outcome[0] == "returned" and len(outcome) == 2:
            return self.sandbox._in(outcome[1])  # noqa: SLF001 - the wire form, checked there
        if outcome[0] == "raised" and len(outcome) == 4:
            role, name, message = (clip(part) for part in outcome[1:])
            cls = ASYNC_ROLES.get(role)
            if cls is not None:
                raise cls(message)
            raise remote_error(clip(name, 100), message, "")
        if outcome[0] == "cancelled" and len(outcome) == 1:
            raise asyncio.CancelledError
        raise ProtocolError(f"not a call's outcome: {clip(str(outcome[0]), 40)}")

    # -- the kit's calls the child awaits --------------------------------------------

    def kit_call(self, awaitable: Any, name: str) -> int:
        """A call of the kit's that a worker in the child awaits (a queue coroutine, a
        slow handle), run as a task of this loop named as the worker: its id; its outcome
        goes to the child with the next tick."""
        cid = next(self._kit_ids)
        task = self.kit_tasks[cid] = self.loop.create_task(_awaiting(awaitable), name=name)
        task.add_done_callback(lambda ended, cid=cid: self._kit_call_ended(cid, ended))
        return cid

    def cancel_kit_call(self, cid: int) -> None:
        """The worker awaiting it was cancelled in the child: cancel it here."""
        task = self.kit_tasks.get(cid)
        if task is not None:
            task.cancel()

    def _kit_call_ended(self, cid: int, task: asyncio.Task) -> None:
        self.kit_tasks.pop(cid, None)
        if task.cancelled():
            self.arrived.append([cid, "cancelled"])
        elif task.exception() is not None:
            error = error_text(task.exception(), tuple(self.sandbox.roles.items()), "")
            self.arrived.append([cid, "raised", error.role, error.name, error.message])
        else:
            self.arrived.append([cid, "returned", self.sandbox._out(task.result())])  # noqa: SLF001
        self._poke()

    # -- the ticks ------------------------------------------------------------------

    def settle(self) -> None:
        """A last tick, when a call was made since the one before: a plain call's
        findings (a blocking call it made) come with the tick after it, which a run
        that ends at once would not wait for (`then_settled`)."""
        if self.dirty and not self.task.done():
            self._tick()

    def _poke(self) -> None:
        self.dirty = True
        if self._news is not None and not self._news.done():
            self._news.set_result(None)

    async def _run(self) -> None:
        loop = self.loop
        try:
            while True:
                for _ in range(KIT_TURNS):  # the kit's callbacks first, as far as they go
                    if not quiet.has_ready(loop):
                        break
                    await asyncio.sleep(0)
                due = self.next_timer is not None and loop.time() >= self.next_timer
                if self.dirty or self.child_ready or due:
                    self._tick()
                    await asyncio.sleep(0)
                    continue
                self._news = loop.create_future()
                timeout = None if self.next_timer is None else self.next_timer - loop.time()
                await asyncio.wait({self._news}, timeout=timeout)
        finally:
            for future in self.waiting.values():
                future.cancel()
            for task in self.kit_tasks.values():
                task.cancel()
            try:
                self.sandbox.run_in_child(async_child.close_loop, self.driver)
            except Exception:  # noqa: BLE001 - a dead child has nothing left to close
                pass

    def _tick(self) -> None:
        self.dirty = False
        arrived, self.arrived = self.arrived, []
        answer = self.sandbox.run_in_child(async_child.tick, self.driver, json.dumps(arrived))
        try:
            news = json.loads(clip(answer, LINE_LIMIT))
            ready, delay = news["ready"], news["delay"]
            self.child_ready = ready is True
            self.next_timer = (None if delay is None
                               else self.loop.time() + min(float(delay), 3600.0))
            found = [(self.sandbox._local_paths(clip(what)), times)  # noqa: SLF001
                     for what, times in news["blocking"][:5]
                     if type(what) is str and type(times) is int]
            finished = []
            for entry in news["ended"]:
                if type(entry[0]) is not int or type(entry[1]) is not str:
                    raise TypeError("an ended task is [id, how, ...]")
                finished.append((entry[0], entry[1:]))
        except (ProtocolError, TypeError, ValueError, IndexError, KeyError) as exc:
            raise ProtocolError(f"a tick's answer is malformed ({exc})") from None
        if found:
            watch = watch_of(self.loop)
            if watch is not None:
                watch.add(found)
        for tid, outcome in finished:
            future = self.waiting.pop(tid, None)
            if future is not None and not future.done():
                future.set_result(outcome)


async def then_settled(main: Any) -> Any:
    """`main` awaited, then its loop's pump settled (`Pump.settle`), so that what the
    child saw before the run ended is judged with the run (`Kit.run_async`). Not after
    a run that failed or was given up: the child may be the one stuck."""
    value = await main
    pump = _PUMPS.get(asyncio.get_running_loop())
    if pump is not None:
        pump.settle()
    return value


async def _awaiting(awaitable: Any) -> Any:
    return await awaitable


class SandboxedAsyncQueue:
    """The submission's async Queue, seen from the kit: each instance lives in the child;
    its coroutines run there as tasks, its plain methods there at once."""

    _sandbox: Any
    _module: Any
    _remote_class: Any

    def __init__(self, maxsize: int = 0) -> None:
        self._pump = Pump.of(self._sandbox, self._module)
        self._remote = self._pump.plain(self._remote_class, "__call__", (maxsize,))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._pump.plain(self._remote, "getattr", (name,))

    def __repr__(self) -> str:
        return f"<sandboxed {self._remote!r}>"


def _awaited(op: str):
    async def method(self: SandboxedAsyncQueue, *args: Any) -> Any:
        return await self._pump.call(self._remote, op, args)

    method.__name__ = method.__qualname__ = op
    return method


def _plain(op: str):
    def method(self: SandboxedAsyncQueue, *args: Any) -> Any:
        return self._pump.plain(self._remote, op, args)

    method.__name__ = method.__qualname__ = op
    return method


def async_queue_class(sandbox: Any, module: Any, remote_class: Any, has_shutdown: bool,
                      label: str) -> type:
    """A class per submission, as `parent._queue_class` for threads."""
    namespace: dict[str, Any] = {op: _awaited(op) for op in ("put", "get", "join")}
    plain_ops = ("put_nowait", "get_nowait", "task_done", "qsize", "empty", "full")
    namespace.update({op: _plain(op) for op in
                      plain_ops + (("shutdown",) if has_shutdown else ())})
    namespace.update(_sandbox=sandbox, _module=module, _remote_class=remote_class,
                     __doc__=f"The async Queue of {label}, running in a sandboxed process.")
    return type("Queue", (SandboxedAsyncQueue,), namespace)
