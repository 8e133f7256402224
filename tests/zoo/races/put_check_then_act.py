"""put() waits for room under the lock, lets the lock go for a moment, and appends
without looking again.

Between the check and the append another producer can take the same slot: two
producers both saw room for one item, and a maxsize=1 queue holds two. Every step
is under the lock; what is wrong is that the check and the act are under two
different holds of it, so the check's answer is stale by the time it is acted on.
The window needs one preemption at the one release, which random schedules seldom
place there.
"""

import threading
from collections import deque
from queue import Empty, Full
from time import monotonic

__all__ = ["CAUGHT_BY", "Empty", "Full", "Queue"]

CAUGHT_BY = "capacity"


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
        with self._lock:  # the race: the room seen above may be gone by now
            self._items.append(item)
            self._unfinished += 1
            self._not_empty.notify()

    def get(self, block=True, timeout=None):
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
