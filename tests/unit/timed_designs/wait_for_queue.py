"""Correct, on Condition.wait_for(predicate, timeout)."""
import threading
from collections import deque
from queue import Empty, Full


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._done = threading.Condition(self._lock)
        self._unfinished = 0

    def _wait(self, cond, ready, block, timeout, exc):
        if not block:
            if not ready():
                raise exc
        elif timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        elif not cond.wait_for(ready, timeout):
            raise exc

    def put(self, item, block=True, timeout=None):
        with self._lock:
            self._wait(self._not_full, lambda: not 0 < self.maxsize <= len(self._items),
                       block, timeout, Full)
            self._items.append(item)
            self._unfinished += 1
            self._not_empty.notify()

    def get(self, block=True, timeout=None):
        with self._lock:
            self._wait(self._not_empty, lambda: bool(self._items), block, timeout, Empty)
            item = self._items.popleft()
            self._not_full.notify()
            return item

    def put_nowait(self, item):
        self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self._lock:
            if self._unfinished <= 0:
                raise ValueError("task_done() called too many times")
            self._unfinished -= 1
            if self._unfinished == 0:
                self._done.notify_all()

    def join(self):
        with self._lock:
            self._done.wait_for(lambda: self._unfinished == 0)

    def qsize(self):
        with self._lock:
            return len(self._items)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        with self._lock:
            return 0 < self.maxsize <= len(self._items)
