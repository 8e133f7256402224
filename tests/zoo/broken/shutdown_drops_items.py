"""shutdown() discards the queued items even when immediate=False.

The drain meant for shutdown(immediate=True) runs unconditionally. With
immediate=False, get() must keep returning the items already queued and raise ShutDown
only once the queue is empty.
"""

import threading
from collections import deque
from queue import Empty, Full
from time import monotonic

try:
    from queue import ShutDown
except ImportError:  # Python < 3.13

    class ShutDown(Exception):
        """Raised by put() and get() on a queue that was shut down."""


__all__ = ["CAUGHT_BY", "Empty", "Full", "Queue", "ShutDown"]

CAUGHT_BY = "queue-shutdown"


class Queue:
    """A FIFO queue shared by threads; bounded when maxsize > 0."""

    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._all_done = threading.Condition(self._lock)
        self._unfinished = 0
        self._is_shutdown = False

    def _item_or_shutdown(self):
        return len(self._items) > 0 or self._is_shutdown

    def _room_or_shutdown(self):
        return len(self._items) < self.maxsize or self._is_shutdown

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
            if self._is_shutdown:
                raise ShutDown
            if self.maxsize > 0:
                self._wait_for(self._not_full, self._room_or_shutdown, block, timeout, Full)
                if self._is_shutdown:
                    raise ShutDown
            self._items.append(item)
            self._unfinished += 1
            self._not_empty.notify()

    def get(self, block=True, timeout=None):
        with self._lock:
            if self._is_shutdown and not self._items:
                raise ShutDown
            self._wait_for(self._not_empty, self._item_or_shutdown, block, timeout, Empty)
            if not self._items:  # woken by shutdown() with nothing left
                raise ShutDown
            item = self._items.popleft()
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
            return len(self._items)

    def empty(self):
        with self._lock:
            return not self._items

    def full(self):
        with self._lock:
            return 0 < self.maxsize <= len(self._items)

    def shutdown(self, immediate=False):
        """Make put() raise ShutDown, and get() once the queue is drained.

        With immediate=True, get() raises at once: the remaining items are
        discarded and each counts as done for join().
        """
        with self._lock:
            self._is_shutdown = True
            # Nobody may put any more: discard what is left.
            while self._items:
                self._items.popleft()
                if self._unfinished > 0:
                    self._unfinished -= 1
            self._all_done.notify_all()
            self._not_empty.notify_all()
            self._not_full.notify_all()
