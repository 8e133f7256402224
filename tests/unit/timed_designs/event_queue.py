"""Correct, on an Event waited with the time left after each wake-up."""
import threading
import time
from collections import deque
from queue import Empty, Full


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._lock = threading.Lock()
        self._changed = threading.Event()  # set whenever an item or a slot appears
        self._unfinished = 0

    def _attempt(self, block, timeout, try_once, exc):
        if block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                done, value = try_once()
                if done:
                    self._changed.set()
                    return value
                self._changed.clear()
            if not block:
                raise exc
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise exc
                self._changed.wait(left)
            else:
                self._changed.wait()

    def put(self, item, block=True, timeout=None):
        def try_once():
            if 0 < self.maxsize <= len(self._items):
                return False, None
            self._items.append(item)
            self._unfinished += 1
            return True, None
        self._attempt(block, timeout, try_once, Full)

    def get(self, block=True, timeout=None):
        def try_once():
            if not self._items:
                return False, None
            return True, self._items.popleft()
        return self._attempt(block, timeout, try_once, Empty)

    def put_nowait(self, item):
        self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self._lock:
            if self._unfinished <= 0:
                raise ValueError("task_done() called too many times")
            self._unfinished -= 1

    def join(self):
        while True:
            with self._lock:
                if self._unfinished == 0:
                    return
            time.sleep(0.001)

    def qsize(self):
        with self._lock:
            return len(self._items)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        with self._lock:
            return 0 < self.maxsize <= len(self._items)
