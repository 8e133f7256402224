"""A waiter cancelled just after it was woken leaves without passing the wake-up on.

It removes its future from the line, as it should, but the set_result() that woke it
was the only one for that item: the next getter sleeps beside the item, until another
put happens to wake it (python/cpython#108042).
"""

import asyncio
from collections import deque

__all__ = ["CAUGHT_BY", "Queue", "QueueEmpty", "QueueFull"]

CAUGHT_BY = "cancellation"

# Re-exported, not redefined: code that catches asyncio.QueueFull must keep working
# when it is handed our Queue instead of asyncio's.
QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty

class Queue:
    """A FIFO queue for many producer and many consumer tasks of one event loop.

    `maxsize <= 0` means unbounded. put() suspends while the queue is full, get()
    while it is empty; put_nowait() and get_nowait() raise QueueFull / QueueEmpty
    instead. task_done() and join() count finished work, as in the thread queue.
    """

    def __init__(self, maxsize=0):
        self._maxsize = maxsize
        self._items = deque()
        # The two lines of waiting tasks, one future each, oldest first. A future may
        # be done already (woken, or cancelled) while still in its line: waking skips it.
        self._waiting_for_item = deque()
        self._waiting_for_room = deque()
        self._unfinished = 0  # items put and not yet task_done()
        self._all_done = asyncio.Event()  # set whenever _unfinished is 0
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

    # -- putting -------------------------------------------------------------------

    async def put(self, item):
        """Put `item`, suspending while the queue is full."""
        while 0 < self._maxsize <= len(self._items):
            await self._wait_in(self._waiting_for_room, self._has_room)
        self.put_nowait(item)

    def put_nowait(self, item):
        if 0 < self._maxsize <= len(self._items):
            raise QueueFull
        self._items.append(item)
        if self._unfinished == 0:
            self._all_done.clear()  # only on the way from "all done" to "work to do"
        self._unfinished += 1
        if self._waiting_for_item:  # one attribute read when nobody waits, the usual case
            _wake_first(self._waiting_for_item)

    # -- getting -------------------------------------------------------------------

    async def get(self):
        """Remove and return the oldest item, suspending while the queue is empty."""
        while not self._items:
            await self._wait_in(self._waiting_for_item, self._has_item)
        return self.get_nowait()

    def get_nowait(self):
        if not self._items:
            raise QueueEmpty
        item = self._items.popleft()
        if self._waiting_for_room:
            _wake_first(self._waiting_for_room)
        return item

    # -- waiting -------------------------------------------------------------------

    async def _wait_in(self, line, still_there):
        """Park a future at the end of `line` and wait until someone resolves it.

        A wake-up is a hint, not a promise: between the set_result() that woke us and
        our turn to run, another task may have taken the item (or the slot). So the
        caller loops and checks again. The subtle part is cancellation (a timeout
        around the call, task.cancel()): the future may already have been resolved
        for us when the CancelledError arrives. Then the wake-up was spent on a task
        that is leaving, and without passing it on, the next waiter would sleep
        beside an item (or a free slot) forever.
        """
        waiter = asyncio.get_running_loop().create_future()
        line.append(waiter)
        try:
            await waiter
        except BaseException:  # CancelledError above all, but whatever ends the wait
            waiter.cancel()
            try:
                line.remove(waiter)
            except ValueError:  # already taken out by a wake-up
                pass
            raise

    def _has_item(self):
        return bool(self._items)

    def _has_room(self):
        return not 0 < self._maxsize <= len(self._items)

    # -- finished work -------------------------------------------------------------

    def task_done(self):
        """Mark one item taken earlier as fully handled."""
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            self._all_done.set()

    async def join(self):
        """Wait until every item put has been marked task_done()."""
        if self._unfinished:
            await self._all_done.wait()


def _wake_first(line):
    """Resolve the oldest waiter in `line` that is still waiting (skip the cancelled)."""
    while line:
        waiter = line.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return
