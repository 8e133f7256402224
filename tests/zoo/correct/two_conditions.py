"""A condition-variable queue written with wait_for() and separate put/done counters.

Same monitor as the reference (one lock; conditions for "not empty", "not full" and
"all done"), written another way: predicates passed to Condition.wait_for(), which
loops and recomputes the remaining timeout itself, and task accounting kept as two
monotone counters (puts, dones) instead of one unfinished count. It implements
shutdown() with Python 3.13's semantics and defines its own ShutDown.
"""

import threading
from collections import deque
from queue import Empty, Full

__all__ = ["Empty", "Full", "Queue", "ShutDown"]


class ShutDown(Exception):
    """put() or get() on a queue that was shut down."""


def _check_timeout(block, timeout):
    if block and timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._capacity = maxsize if maxsize > 0 else None
        self._items = deque()
        self._lock = threading.Lock()
        self._readable = threading.Condition(self._lock)
        self._writable = threading.Condition(self._lock)
        self._settled = threading.Condition(self._lock)
        self._puts = 0  # items ever put
        self._dones = 0  # task_done() calls, plus items dropped by shutdown(True)
        self._closed = False

    @property
    def unfinished_tasks(self):
        with self._lock:
            return self._puts - self._dones

    def _has_room(self):
        return self._capacity is None or len(self._items) < self._capacity

    def put(self, item, block=True, timeout=None):
        with self._lock:
            if self._closed:
                raise ShutDown
            if self._capacity is not None:  # as queue.Queue: unbounded put never waits
                _check_timeout(block, timeout)
            if block:
                self._writable.wait_for(lambda: self._closed or self._has_room(), timeout)
            if self._closed:
                raise ShutDown
            if not self._has_room():
                raise Full
            self._items.append(item)
            self._puts += 1
            self._readable.notify()

    def get(self, block=True, timeout=None):
        with self._lock:
            if self._closed and not self._items:
                raise ShutDown
            _check_timeout(block, timeout)
            if block:
                self._readable.wait_for(lambda: self._closed or self._items, timeout)
            if self._items:  # after shutdown(), what is left is still handed out
                item = self._items.popleft()
                self._writable.notify()
                return item
            if self._closed:
                raise ShutDown
            raise Empty

    def put_nowait(self, item):
        self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self._lock:
            if self._dones >= self._puts:
                raise ValueError("task_done() called too many times")
            self._dones += 1
            if self._dones == self._puts:
                self._settled.notify_all()

    def join(self):
        with self._lock:
            self._settled.wait_for(lambda: self._dones == self._puts)

    def qsize(self):
        with self._lock:
            return len(self._items)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        with self._lock:
            return not self._has_room()

    def shutdown(self, immediate=False):
        with self._lock:
            self._closed = True
            if immediate:
                dropped = len(self._items)
                self._items.clear()
                # Each dropped item counts as done, but never more than are pending.
                self._dones = min(self._dones + dropped, self._puts)
                self._settled.notify_all()
            self._readable.notify_all()
            self._writable.notify_all()
