"""A correct async queue that wakes every waiter, each through a future of its own.

The other way to use a future per waiter: where the reference (and asyncio.Queue)
wakes the *first* waiter only, and must therefore pass the wake-up on when that waiter
is cancelled before it runs, this queue wakes *all* of them (notify_all, with
futures) and lets each look again. A cancelled waiter can lose nobody's wake-up, as
everyone was woken. What it costs: a put wakes every getter, one item or not, so a
hundred waiting getters run a hundred turns for one item.

Each waiter keeps its place in line while it waits again: its entry in the dict is
replaced in place (a dict keeps a key's position when its value changes), so the
oldest waiter still runs first after a wake-up, and the first to run takes the item.
"""

import asyncio
from collections import deque

QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._getters = {}  # ticket -> the future the waiting get() awaits, oldest first
        self._putters = {}
        self._joiners = {}
        self._unfinished = 0

    def qsize(self):
        return len(self._items)

    def empty(self):
        return not self._items

    def full(self):
        return 0 < self.maxsize <= len(self._items)

    async def put(self, item):
        await self._wait_while(self.full, self._putters)
        self.put_nowait(item)

    def put_nowait(self, item):
        if self.full():
            raise QueueFull
        self._items.append(item)
        self._unfinished += 1
        _wake_all(self._getters)

    async def get(self):
        await self._wait_while(self.empty, self._getters)
        return self.get_nowait()

    def get_nowait(self):
        if not self._items:
            raise QueueEmpty
        item = self._items.popleft()
        _wake_all(self._putters)
        return item

    def task_done(self):
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            _wake_all(self._joiners)

    async def join(self):
        await self._wait_while(lambda: self._unfinished > 0, self._joiners)

    async def _wait_while(self, must_wait, line):
        """Await a fresh future in `line` until `must_wait()` is false; the waiter's
        ticket keeps its place in `line` from its first wait to its last."""
        ticket = object()
        try:
            while must_wait():
                line[ticket] = asyncio.get_running_loop().create_future()
                await line[ticket]
        finally:
            line.pop(ticket, None)


def _wake_all(line):
    for future in line.values():
        if not future.done():
            future.set_result(None)
