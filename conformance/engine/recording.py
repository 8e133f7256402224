"""Recording: every call a scenario makes on the queue under test, with its timing.

Each thread gets its own `RecordingQueue` view and its own log, so recording adds
no lock around the call (a global lock would serialize the threads and hide the
very races the kit looks for). A call is logged when it starts, with `end=None`,
and completed when it returns, so a hang report can show the call a thread is
stuck in. One `History` feeds every checker.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Literal

from prodcon.items import describe

_clock = time.perf_counter_ns

#: The queue methods a recording knows: `Call.op` is one of them, by name.
Method = Literal["put", "put_nowait", "get", "get_nowait", "task_done", "join", "qsize", "empty",
             "full"]
PUTS: tuple[Method, ...] = ("put", "put_nowait")
GETS: tuple[Method, ...] = ("get", "get_nowait")
#: The calls that finish work rather than move items: they count as progress.
ACKS: tuple[Method, ...] = ("task_done", "join")
#: How long an item or a returned value may be inside a call's signature.
SIGNATURE_LIMIT = 40


class Call:
    """One call on the queue: who, what, with which item, when, and how it ended."""

    __slots__ = ("thread", "ident", "op", "item", "block", "timeout", "start", "end", "value",
                 "error")

    def __init__(self, thread: str, op: Method, item: Any, block: bool, timeout: Any,
                 clock=_clock) -> None:
        self.thread = thread
        self.ident = threading.get_ident()
        self.op = op
        self.item = item
        self.block = block
        self.timeout = timeout
        self.start = clock()
        self.end: int | None = None
        self.value: Any = None
        self.error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.end is not None and self.error is None

    def signature(self) -> str:
        """How the call was written: `put(p0#3, timeout=0.05)`, `get_nowait()`."""
        args = [] if self.op not in PUTS else [describe(self.item, SIGNATURE_LIMIT, bare=True)]
        if self.op in ("put", "get"):
            if not self.block:
                args.append("block=False")
            if self.timeout is not None:
                args.append(f"timeout={self.timeout}")
        return f"{self.op}({', '.join(args)})"

    def outcome(self) -> str:
        if self.end is None:
            return "still running"
        if self.error is not None:
            return f"raised {type(self.error).__name__}"
        if self.op in GETS:
            return f"returned {describe(self.value, SIGNATURE_LIMIT, bare=True)}"
        return "returned"


class History:
    """All logs of one scenario. `progress()` moves only when work gets done."""

    def __init__(self, clock=_clock) -> None:
        """`clock`: nanoseconds by default; a controlled run counts steps instead, so
        its history (and every message quoting it) is the same on every replay."""
        self.views: list[RecordingQueue] = []
        self.clock = clock

    def view(self, queue: Any, thread: str) -> RecordingQueue:
        view = RecordingQueue(queue, self, thread)
        self.views.append(view)
        return view

    def progress(self) -> int:
        """How much work got done: distinct items stored and handed out, tasks finished.

        A failed poll (Full, Empty) is not progress, and neither is moving the same
        item round and round: the count is bounded, so a livelock stalls it too.
        """
        return sum(len(v.stored) + len(v.handed) + v.acks for v in self.views)

    def calls(self, thread: str | None = None) -> list[Call]:
        logs = [v.log for v in self.views if thread is None or v.thread == thread]
        return sorted((c for log in logs for c in log), key=lambda c: c.start)

    def pending(self, thread: str) -> Call | None:
        for view in self.views:
            if view.thread == thread and view.log and view.log[-1].end is None:
                return view.log[-1]
        return None


class RecordingQueue:
    """One thread's view of the queue under test; forwards and records each call.

    Arguments are forwarded exactly as the caller wrote them, so the queue sees the
    same call with or without the kit in between.
    """

    def __init__(self, queue: Any, history: History, thread: str) -> None:
        self._queue = queue
        self._clock = history.clock
        self.thread = thread
        self.log: list[Call] = []
        self.stored: set[int] = set()  # ids of items this thread put successfully
        self.handed: set[int] = set()  # ids of items this thread took
        self.acks = 0  # task_done() and join() calls that returned

    def _record(self, op: Method, item: Any, block: bool, timeout: Any, method, args, kwargs):
        call = Call(self.thread, op, item, block, timeout, self._clock)
        self.log.append(call)
        try:
            value = method(*args, **kwargs)
        except BaseException as exc:
            call.end = self._clock()
            call.error = exc
            raise
        call.end = self._clock()
        call.value = value
        if op in PUTS:
            self.stored.add(id(item))
        elif op in GETS:
            self.handed.add(id(value))
        elif op in ACKS:
            self.acks += 1
        return value

    def put(self, *args, **kwargs):
        if len(args) == 1 and not kwargs:  # put(item): most calls, parsed for free
            return self._record("put", args[0], True, None, self._queue.put, args, kwargs)
        item, block, timeout = _put_args(args, kwargs)
        return self._record("put", item, block, timeout, self._queue.put, args, kwargs)

    def get(self, *args, **kwargs):
        if not args and not kwargs:
            return self._record("get", None, True, None, self._queue.get, args, kwargs)
        block, timeout = _get_args(args, kwargs)
        return self._record("get", None, block, timeout, self._queue.get, args, kwargs)

    def put_nowait(self, *args, **kwargs):
        item = args[0] if args else kwargs.get("item")
        return self._record("put_nowait", item, False, None, self._queue.put_nowait, args, kwargs)

    def get_nowait(self, *args, **kwargs):
        return self._record("get_nowait", None, False, None, self._queue.get_nowait, args, kwargs)

    def task_done(self, *args, **kwargs):
        return self._record("task_done", None, False, None, self._queue.task_done, args, kwargs)

    def join(self, *args, **kwargs):
        return self._record("join", None, True, None, self._queue.join, args, kwargs)

    def qsize(self):
        return self._record("qsize", None, False, None, self._queue.qsize, (), {})

    def empty(self):
        return self._record("empty", None, False, None, self._queue.empty, (), {})

    def full(self):
        return self._record("full", None, False, None, self._queue.full, (), {})

    def __getattr__(self, name: str) -> Any:
        # maxsize, unfinished_tasks, mutex, ...: student code may read them.
        return getattr(self._queue, name)


def _put_args(args: tuple, kwargs: dict) -> tuple[Any, bool, Any]:
    names = ("item", "block", "timeout")
    bound = dict(zip(names, args, strict=False), **kwargs)
    return bound.get("item"), bool(bound.get("block", True)), bound.get("timeout")


def _get_args(args: tuple, kwargs: dict) -> tuple[bool, Any]:
    bound = dict(zip(("block", "timeout"), args, strict=False), **kwargs)
    return bool(bound.get("block", True)), bound.get("timeout")


def took(call: Call) -> bool:
    """A get that handed out an item."""
    return call.op in GETS and call.ok


def gave(call: Call) -> bool:
    """A put that stored its item."""
    return call.op in PUTS and call.ok
