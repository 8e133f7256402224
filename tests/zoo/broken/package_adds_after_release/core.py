"""The Queue: one lock, three conditions, and a store of another module."""

import threading
from time import monotonic

from .store import Empty, Full, Store


class Queue:
    """A FIFO queue shared by threads; bounded when maxsize > 0."""

    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._store = Store()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._all_done = threading.Condition(self._lock)

    def _has_room(self):
        return self.maxsize <= 0 or len(self._store) < self.maxsize

    def _has_item(self):
        return len(self._store) > 0

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
            self._wait_for(self._not_full, self._has_room, block, timeout, Full)
            self._store.unfinished += 1
        self._store.add(item)  # the bug: the room seen above may be taken by now
        with self._lock:
            self._not_empty.notify()

    def get(self, block=True, timeout=None):
        with self._lock:
            self._wait_for(self._not_empty, self._has_item, block, timeout, Empty)
            item = self._store.take()
            self._not_full.notify()
            return item

    def put_nowait(self, item):
        return self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self._lock:
            if self._store.unfinished <= 0:
                raise ValueError("task_done() called too many times")
            self._store.unfinished -= 1
            if self._store.unfinished == 0:
                self._all_done.notify_all()

    def join(self):
        with self._lock:
            while self._store.unfinished:
                self._all_done.wait()

    def qsize(self):
        with self._lock:
            return len(self._store)

    def empty(self):
        with self._lock:
            return not self._has_item()

    def full(self):
        with self._lock:
            return 0 < self.maxsize <= len(self._store)
