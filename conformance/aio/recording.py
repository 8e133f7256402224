"""Every call an async scenario makes on the queue, recorded per task into the engine's
`History`, so the engine's checkers judge it unchanged.

One view per task, as the thread recording has one per thread: a `Call` is logged when
the call starts (end None) and completed when it returns, raises, or is cancelled (a
cancelled call's error is the CancelledError: it failed without touching the queue, as
asyncio's semantics require, and the checkers hold it to that).
"""

from __future__ import annotations

from typing import Any

from prodcon.engine.recording import ACKS, GETS, PUTS, Call, History


class AsyncRecordingQueue:
    """One task's view of the async queue under test; forwards and records each call."""

    def __init__(self, queue: Any, history: History, task: str) -> None:
        self._queue = queue
        self._clock = history.clock
        self.thread = task  # the name the checkers and reports know a caller by
        self.log: list[Call] = []
        self.stored: set[int] = set()
        self.handed: set[int] = set()
        self.acks = 0
        history.views.append(self)

    def _begin(self, op, item: Any = None) -> Call:
        call = Call(self.thread, op, item, True, None, self._clock)
        self.log.append(call)
        return call

    def _end(self, call: Call, value: Any = None, error: BaseException | None = None) -> None:
        call.end = self._clock()
        if error is not None:
            call.error = error
            return
        call.value = value
        if call.op in PUTS:
            self.stored.add(id(call.item))
        elif call.op in GETS:
            self.handed.add(id(value))
        elif call.op in ACKS:
            self.acks += 1

    async def _awaited(self, op, method, *args) -> Any:
        call = self._begin(op, args[0] if args else None)
        try:
            value = await method(*args)
        except BaseException as exc:
            self._end(call, error=exc)
            raise
        self._end(call, value)
        return value

    def _plain(self, op, method, *args) -> Any:
        call = self._begin(op, args[0] if args else None)
        try:
            value = method(*args)
        except BaseException as exc:
            self._end(call, error=exc)
            raise
        self._end(call, value)
        return value

    async def put(self, item: Any) -> None:
        await self._awaited("put", self._queue.put, item)

    async def get(self) -> Any:
        return await self._awaited("get", self._queue.get)

    async def join(self) -> None:
        await self._awaited("join", self._queue.join)

    def put_nowait(self, item: Any) -> None:
        self._plain("put_nowait", self._queue.put_nowait, item)

    def get_nowait(self) -> Any:
        return self._plain("get_nowait", self._queue.get_nowait)

    def task_done(self) -> None:
        self._plain("task_done", self._queue.task_done)
