"""Both roles in one module: a one-condition queue and the workers that use it.

The queue is the smallest correct monitor: a single Condition for every reason to
wait, and notify_all() on every change, so a woken thread of the wrong kind (a
putter woken by another put) simply re-checks its predicate and waits again. It is
wasteful with many threads, but it cannot lose a wake-up. The workers use the
default sentinel, None.
"""

import threading
import time
from collections import deque
from queue import Empty, Full

__all__ = ["Empty", "Full", "Queue", "SENTINEL", "consumer", "producer"]

SENTINEL = None


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._changed = threading.Condition()
        self.unfinished_tasks = 0

    def _full(self):
        return 0 < self.maxsize <= len(self._items)

    def _wait_until(self, ready, block, timeout, failure):
        """Wait (the lock held) until ready() is true, else raise failure."""
        if not block:
            if not ready():
                raise failure
            return
        if timeout is None:
            while not ready():
                self._changed.wait()
            return
        if timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        deadline = time.monotonic() + timeout
        while not ready():
            left = deadline - time.monotonic()
            if left <= 0:
                raise failure
            self._changed.wait(left)

    def put(self, item, block=True, timeout=None):
        with self._changed:
            self._wait_until(lambda: not self._full(), block, timeout, Full)
            self._items.append(item)
            self.unfinished_tasks += 1
            self._changed.notify_all()

    def get(self, block=True, timeout=None):
        with self._changed:
            self._wait_until(lambda: len(self._items) > 0, block, timeout, Empty)
            item = self._items.popleft()
            self._changed.notify_all()
            return item

    def put_nowait(self, item):
        self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self._changed:
            if self.unfinished_tasks == 0:
                raise ValueError("task_done() called too many times")
            self.unfinished_tasks -= 1
            self._changed.notify_all()

    def join(self):
        with self._changed:
            while self.unfinished_tasks:
                self._changed.wait()

    def qsize(self):
        with self._changed:
            return len(self._items)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        with self._changed:
            return self._full()


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    while True:
        item = q.get()
        if item is SENTINEL:
            q.task_done()
            return
        handle(item)
        q.task_done()
