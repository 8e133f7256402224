"""The textbook bounded buffer (Dijkstra's), around a deque.

A semaphore of free slots, one of filled slots, and a lock around the deque.

put() takes a slot permit, appends under the lock, then releases an item permit; get()
takes an item permit, pops under the lock, then releases a slot permit. Correct for
producers and consumers, and the form most courses teach, yet not linearizable: while a
put holds its slot but has not published its item, a concurrent put_nowait() sees Full
and a concurrent get_nowait() sees Empty. Each answer is true at an instant of its own
call, which is what the contract asks; only `--prodcon-strict` (one atomic queue) objects.

An unbounded queue has no slot semaphore. Task accounting (task_done / join) is a count
of unfinished tasks under the buffer's lock, raised before the item is published so that
a consumer's task_done() can never come first.
"""

import threading
from collections import deque
from queue import Empty, Full

__all__ = ["Empty", "Full", "Queue"]


def _take(permits, block, timeout):
    """One permit of `permits` as put()/get() ask for it: True if taken in time."""
    if not block:
        return permits.acquire(blocking=False)
    if timeout is None:
        return permits.acquire()
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    return permits.acquire(timeout=timeout)


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._slots = threading.Semaphore(maxsize) if maxsize > 0 else None
        self._filled = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._all_done = threading.Condition(self._lock)
        self._buffer = deque()
        self._unfinished = 0

    def put(self, item, block=True, timeout=None):
        if self._slots is not None and not _take(self._slots, block, timeout):
            raise Full
        with self._lock:
            self._buffer.append(item)
            self._unfinished += 1
        self._filled.release()

    def get(self, block=True, timeout=None):
        if not _take(self._filled, block, timeout):
            raise Empty
        with self._lock:
            item = self._buffer.popleft()
        if self._slots is not None:
            self._slots.release()
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
                self._all_done.notify_all()

    def join(self):
        with self._lock:
            while self._unfinished:
                self._all_done.wait()

    def qsize(self):
        with self._lock:
            return len(self._buffer)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        return 0 < self.maxsize <= self.qsize()
