"""Correct, polling with a fixed tick of 0.1 ms: it may overshoot its deadline by one tick."""
import threading
import time
from collections import deque
from queue import Empty, Full

_TICK = 0.0001  # a tenth of a millisecond: a busy poll, as students write it


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._lock = threading.Lock()
        self._unfinished = 0

    def _until(self, block, timeout):
        if block and timeout is not None:
            if timeout < 0:
                raise ValueError("'timeout' must be a non-negative number")
            return time.monotonic() + timeout
        return None

    def put(self, item, block=True, timeout=None):
        deadline = self._until(block, timeout)
        while True:
            with self._lock:
                if not 0 < self.maxsize <= len(self._items):
                    self._items.append(item)
                    self._unfinished += 1
                    return
            if not block or (deadline is not None and time.monotonic() > deadline):
                raise Full
            time.sleep(_TICK)

    def get(self, block=True, timeout=None):
        deadline = self._until(block, timeout)
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
            if not block or (deadline is not None and time.monotonic() > deadline):
                raise Empty
            time.sleep(_TICK)

    def put_nowait(self, item):
        self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self._lock:
            if self._unfinished == 0:
                raise ValueError("task_done() called too many times")
            self._unfinished -= 1

    def join(self):
        while True:
            with self._lock:
                if self._unfinished == 0:
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
