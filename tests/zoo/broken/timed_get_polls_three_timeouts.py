"""A timed get() polls three times, sleeping its whole timeout between tries.

"Try a few times before giving up": get(timeout=t) on an empty queue looks, sleeps t,
looks again, sleeps t, looks a third time, sleeps t and only then raises Empty, three
times its timeout later. A polling get may overshoot by one short poll, but it must
measure the time it has waited and give up once t seconds have passed.
"""

import threading
from collections import deque
from queue import Empty, Full
from time import monotonic, sleep

__all__ = ["CAUGHT_BY", "Empty", "Full", "Queue"]

CAUGHT_BY = "timeout"


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

    def _has_item(self):
        return len(self._items) > 0

    def _has_room(self):
        return len(self._items) < self.maxsize

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
        if block and timeout is not None:
            if timeout < 0:
                raise ValueError("'timeout' must be a non-negative number")
            for _ in range(3):  # three tries, a timeout apart
                with self._lock:
                    if self._items:
                        item = self._items.popleft()
                        self._not_full.notify()
                        return item
                sleep(timeout)
            raise Empty
        with self._lock:
            self._wait_for(self._not_empty, self._has_item, block, timeout, Empty)
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
