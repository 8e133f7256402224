"""Broken, and subtle: hands each item to the getter that waits longest in a *box*, and
a getter cancelled after the hand-off passes its item up the line of boxes still in
flight (the repair of broken/hand_off_puts_back_at_front). Cancellation alone now
keeps FIFO. But get_nowait() takes from the deque only, skipping an item boxed for a
getter that has not run yet: take the later item, cancel that getter, and the earlier
item comes out after the later one. asyncio.Queue keeps every item in its deque until
a getter runs, so a get_nowait() always takes the first; handing items out early is
what opens the window. Found by the kit under --prodcon-isolate, whose turns fell
differently from an in-process run's.
"""

import asyncio
from collections import deque

CAUGHT_BY = "cancellation"

QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty


class _Box:
    __slots__ = ("item",)

    def __init__(self, item):
        self.item = item


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._getters = deque()  # futures resolved with a _Box
        self._putters = deque()  # futures resolved when room was made
        self._in_flight = deque()  # boxes handed to getters that have not run yet, in order
        self._unfinished = 0
        self._all_done = asyncio.Event()
        self._all_done.set()

    def qsize(self):
        return len(self._items) + len(self._in_flight)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        return 0 < self.maxsize <= self.qsize()

    def put_nowait(self, item):
        if self.full():
            raise QueueFull
        self._unfinished += 1
        self._all_done.clear()
        if not self._box_for_a_getter(item):
            self._items.append(item)

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
            box = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._give_back(waiter.result())  # boxed for us, and we are leaving
            else:
                waiter.cancel()
                if waiter in self._getters:
                    self._getters.remove(waiter)
            raise
        self._in_flight.remove(box)
        _wake(self._putters)  # the item has left the queue: room for a putter
        return box.item

    def _box_for_a_getter(self, item):
        """Box `item` for the getter that waits longest; False when none waits."""
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                box = _Box(item)
                self._in_flight.append(box)
                waiter.set_result(box)
                return True
        return False

    def _give_back(self, box):
        """A cancelled getter's item moves up the line of boxes still in flight; the
        last one's item goes to a waiting getter or back to the front of the deque."""
        index = self._in_flight.index(box)
        del self._in_flight[index]
        carried = box.item
        for later in list(self._in_flight)[index:]:
            later.item, carried = carried, later.item
        if not self._box_for_a_getter(carried):
            self._items.appendleft(carried)

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
