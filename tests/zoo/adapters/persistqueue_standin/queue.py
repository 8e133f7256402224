"""The library's queue: a monitor (one lock, three conditions), built as
`Queue(path, maxsize=0)` like persist-queue's, whose first argument is where it
would keep its items. Importing itself by its absolute name, as persist-queue does."""

import os
import threading
from collections import deque
from time import monotonic as _time

from persistqueue_standin.exceptions import Empty, Full


class Queue:
    """Thread-safe FIFO queue; bounded when maxsize > 0."""

    def __init__(self, path, maxsize=0):
        self.path = os.fspath(path)  # a path, as persist-queue's; nothing is written there
        self.maxsize = maxsize
        self._items = deque()
        self.mutex = threading.Lock()
        self.not_empty = threading.Condition(self.mutex)
        self.not_full = threading.Condition(self.mutex)
        self.all_tasks_done = threading.Condition(self.mutex)
        self.unfinished_tasks = 0

    def _wait(self, condition, ready, block, timeout, error):
        """With the lock held: return once ready() holds, or raise `error`."""
        if not block:
            if not ready():
                raise error
        elif timeout is None:
            while not ready():
                condition.wait()
        elif timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        else:
            deadline = _time() + timeout
            while not ready():
                left = deadline - _time()
                if left <= 0:
                    raise error
                condition.wait(left)

    def put(self, item, block=True, timeout=None):
        with self.not_full:
            has_room = (lambda: True) if self.maxsize <= 0 else (
                lambda: len(self._items) < self.maxsize)
            self._wait(self.not_full, has_room, block, timeout, Full)
            self._items.append(item)
            self.unfinished_tasks += 1
            self.not_empty.notify()

    def get(self, block=True, timeout=None):
        with self.not_empty:
            self._wait(self.not_empty, lambda: len(self._items) > 0, block, timeout, Empty)
            item = self._items.popleft()
            self.not_full.notify()
            return item

    def put_nowait(self, item):
        return self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self.all_tasks_done:
            if self.unfinished_tasks <= 0:
                raise ValueError("task_done() called too many times")
            self.unfinished_tasks -= 1
            if self.unfinished_tasks == 0:
                self.all_tasks_done.notify_all()

    def join(self):
        with self.all_tasks_done:
            while self.unfinished_tasks:
                self.all_tasks_done.wait()

    def qsize(self):
        with self.mutex:
            return len(self._items)

    def empty(self):
        with self.mutex:
            return not self._items

    def full(self):
        with self.mutex:
            return 0 < self.maxsize <= len(self._items)
