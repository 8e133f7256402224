"""The textbook semaphore bounded buffer, around a heap ordered by ticket numbers.

Items are ordered by a ticket number drawn under the lock.

Slot and item semaphores as in Dijkstra's buffer (put: take a slot permit, store under
the lock, release an item permit; get: the mirror image), but the storage is a binary
heap of (ticket, item) pairs, the way a priority queue becomes a FIFO queue. The ticket
is drawn under the same lock as the push, so ticket order is the order in which items
entered the buffer, and the smallest ticket is always the oldest item: FIFO. Only the
ticket is compared, never an item (tickets are unique), so any object can be an item.

Like the deque version, correct for producers and consumers but not linearizable: a put
between taking its slot and storing its item makes a concurrent put_nowait() see Full
and a concurrent get_nowait() see Empty, each true at an instant of its own call.
"""

import heapq
import itertools
import threading
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
        self._heap = []
        self._tickets = itertools.count()
        self._unfinished = 0

    def put(self, item, block=True, timeout=None):
        if self._slots is not None and not _take(self._slots, block, timeout):
            raise Full
        with self._lock:
            heapq.heappush(self._heap, (next(self._tickets), item))
            self._unfinished += 1
        self._filled.release()

    def get(self, block=True, timeout=None):
        if not _take(self._filled, block, timeout):
            raise Empty
        with self._lock:
            _, item = heapq.heappop(self._heap)
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
            return len(self._heap)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        return 0 < self.maxsize <= self.qsize()
