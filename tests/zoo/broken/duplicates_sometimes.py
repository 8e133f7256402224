"""Every 8th get() trims the consumed prefix one slot short: that item comes out twice.

The list-plus-head-index storage keeps the item it just returned when it trims, and the
next get() returns it again. Every item put must be taken exactly once.
"""

import threading
from queue import Empty, Full
from time import monotonic

__all__ = ["CAUGHT_BY", "Empty", "Full", "Queue"]

_TRIM_EVERY = 8  # gets between two trims of the consumed prefix

CAUGHT_BY = "conservation"


class Queue:
    """A FIFO queue shared by threads; bounded when maxsize > 0."""

    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = []
        self._head = 0  # index of the oldest unconsumed item
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._all_done = threading.Condition(self._lock)
        self._unfinished = 0

    def _count(self):
        return len(self._items) - self._head

    def _take(self):
        item = self._items[self._head]
        self._head += 1
        if self._head == _TRIM_EVERY:
            # Drop the consumed prefix so the list does not grow forever.
            del self._items[: self._head - 1]
            self._head = 0
        return item

    def _has_item(self):
        return self._count() > 0

    def _has_room(self):
        return self._count() < self.maxsize

    def _wait_for(self, cond, ready, block, timeout, exc):
        """With the lock held, return once ready() holds, or raise exc."""
        if not block:
            if not ready():
                raise exc
            return
        if timeout is None:
            while not ready():
                cond.wait()
            return
        if timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        deadline = monotonic() + timeout
        while not ready():
            remaining = deadline - monotonic()
            if remaining <= 0:
                raise exc
            cond.wait(remaining)

    def put(self, item, block=True, timeout=None):
        with self._lock:
            if self.maxsize > 0:
                self._wait_for(self._not_full, self._has_room, block, timeout, Full)
            self._items.append(item)
            self._unfinished += 1
            self._not_empty.notify()

    def get(self, block=True, timeout=None):
        with self._lock:
            self._wait_for(self._not_empty, self._has_item, block, timeout, Empty)
            item = self._take()
            self._not_full.notify()
            return item

    def put_nowait(self, item):
        return self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self._lock:
            if self._unfinished <= 0:
                raise ValueError("task_done() called too many times")
            self._unfinished -= 1
            if self._unfinished == 0:
                self._all_done.notify_all()

    def join(self):
        with self._lock:
            while self._unfinished:
                self._all_done.wait()

    def qsize(self):
        with self._lock:
            return self._count()

    def empty(self):
        with self._lock:
            return not self._count()

    def full(self):
        with self._lock:
            return 0 < self.maxsize <= self._count()
