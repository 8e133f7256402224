"""A correct but slow queue: one lock, no conditions, blocking calls poll and sleep.

It shows that a queue may be slow and still correct: a check that fails it because
of timing is a false positive. Blocking calls retry every 2 ms; timed calls recompute
what is left of their timeout, and give up only once it has fully elapsed.
"""

import threading
import time
from collections import deque
from queue import Empty, Full

__all__ = ["Empty", "Full", "Queue"]

_TICK = 0.002  # seconds between two tries


def _deadline(block, timeout):
    if block and timeout is not None:
        if timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        return time.monotonic() + timeout
    return None


def _pause(deadline):
    """Sleep one tick (less if the deadline is nearer); False once it has passed."""
    if deadline is None:
        time.sleep(_TICK)
        return True
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    time.sleep(min(_TICK, left))
    return True


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._lock = threading.Lock()
        self.unfinished_tasks = 0

    def put(self, item, block=True, timeout=None):
        deadline = _deadline(block, timeout)
        while True:
            with self._lock:
                if not 0 < self.maxsize <= len(self._items):
                    self._items.append(item)
                    self.unfinished_tasks += 1
                    return
            if not block or not _pause(deadline):
                raise Full

    def get(self, block=True, timeout=None):
        deadline = _deadline(block, timeout)
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
            if not block or not _pause(deadline):
                raise Empty

    def put_nowait(self, item):
        self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self._lock:
            if self.unfinished_tasks == 0:
                raise ValueError("task_done() called too many times")
            self.unfinished_tasks -= 1

    def join(self):
        while True:
            with self._lock:
                if self.unfinished_tasks == 0:
                    return
            time.sleep(_TICK)

    def qsize(self):
        with self._lock:
            return len(self._items)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        with self._lock:
            return 0 < self.maxsize <= len(self._items)
