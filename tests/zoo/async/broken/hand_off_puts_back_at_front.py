"""Broken: hands each item straight to the getter that waits longest (a getter's future
carries the item), and a getter cancelled after the hand-off puts its item back at the
front of the queue. Nearly right: no item is lost (python/asyncio#201), no getter left
asleep. But with two getters woken, the first cancelled before it runs, the second has
already been handed the *later* item: the earlier one, put back, comes out after it.
FIFO broken by a cancellation (found by running the kit on it under
--prodcon-isolate, whose turns fell differently; see correct/hand_off_queue.py for
the repair: the item moves up the line of getters).
"""

import asyncio
from collections import deque

CAUGHT_BY = "cancellation"

QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._getters = deque()  # futures resolved with an item
        self._putters = deque()  # futures resolved when room was made
        self._in_flight = 0  # items handed to getters that have not run yet
        self._unfinished = 0
        self._all_done = asyncio.Event()
        self._all_done.set()

    def qsize(self):
        return len(self._items) + self._in_flight

    def empty(self):
        return self.qsize() == 0

    def full(self):
        return 0 < self.maxsize <= self.qsize()

    def put_nowait(self, item):
        if self.full():
            raise QueueFull
        self._unfinished += 1
        self._all_done.clear()
        self._hand_over(item, at_front=False)

    async def put(self, item):
        while self.full():
            waiter = asyncio.get_running_loop().create_future()
            self._putters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    if not self.full():
                        _wake(self._putters)  # pass the room on
                else:
                    waiter.cancel()
                    if waiter in self._putters:
                        self._putters.remove(waiter)
                raise
        self.put_nowait(item)

    def get_nowait(self):
        if not self._items:
            raise QueueEmpty
        item = self._items.popleft()
        _wake(self._putters)
        return item

    async def get(self):
        if self._items:
            return self.get_nowait()
        waiter = asyncio.get_running_loop().create_future()
        self._getters.append(waiter)
        try:
            item = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                # handed an item, cancelled before we could return it: give it back
                self._in_flight -= 1
                self._hand_over(waiter.result(), at_front=True)
            else:
                waiter.cancel()
                if waiter in self._getters:
                    self._getters.remove(waiter)
            raise
        self._in_flight -= 1
        _wake(self._putters)  # the item has left the queue: room for a putter
        return item

    def _hand_over(self, item, at_front):
        """To the getter waiting longest, or into the deque (first in line when an item
        comes back from a cancelled getter)."""
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                self._in_flight += 1
                return
        if at_front:
            self._items.appendleft(item)
        else:
            self._items.append(item)

    def task_done(self):
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            self._all_done.set()

    async def join(self):
        if self._unfinished:
            await self._all_done.wait()


def _wake(line):
    while line:
        waiter = line.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return
