"""put_nowait() hands an item straight to the first waiting get() (its future's result)
instead of queueing it; a get() cancelled after that hand-off drops the item.

A fast design, and a classic loss: the getter was woken, its timeout fired before it
ran (wait_for around get()), and the item it was handed goes with it (python/asyncio#201).
"""

import asyncio
from collections import deque

__all__ = ["CAUGHT_BY", "Queue", "QueueEmpty", "QueueFull"]

CAUGHT_BY = "cancellation"

QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty


class Queue:
    def __init__(self, maxsize=0):
        self._maxsize = maxsize
        self._items = deque()
        self._getters = deque()  # futures of waiting get() calls, each handed an item
        self._putters = deque()  # futures of waiting put() calls
        self._unfinished = 0
        self._all_done = asyncio.Event()
        self._all_done.set()

    @property
    def maxsize(self):
        return self._maxsize

    def qsize(self):
        return len(self._items)

    def empty(self):
        return not self._items

    def full(self):
        return 0 < self._maxsize <= len(self._items)

    async def put(self, item):
        while self.full():
            waiter = asyncio.get_running_loop().create_future()
            self._putters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._putters:
                    self._putters.remove(waiter)
                elif not self.full():
                    self._wake(self._putters, None)
                raise
        self.put_nowait(item)

    def put_nowait(self, item):
        if self.full():
            raise QueueFull
        self._unfinished += 1
        self._all_done.clear()
        if not self._wake(self._getters, item):  # nobody waits: queue it
            self._items.append(item)

    async def get(self):
        if self._items:
            return self.get_nowait()
        waiter = asyncio.get_running_loop().create_future()
        self._getters.append(waiter)
        try:
            return await waiter  # the item itself, handed over by put_nowait()
        except BaseException:
            if waiter in self._getters:
                self._getters.remove(waiter)
            raise  # handed an item already? it is gone with us

    def get_nowait(self):
        if not self._items:
            raise QueueEmpty
        item = self._items.popleft()
        self._wake(self._putters, None)
        return item

    def _wake(self, line, result):
        while line:
            waiter = line.popleft()
            if not waiter.done():
                waiter.set_result(result)
                return True
        return False

    def task_done(self):
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            self._all_done.set()

    async def join(self):
        if self._unfinished:
            await self._all_done.wait()
