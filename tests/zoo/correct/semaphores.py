"""A queue built on counting semaphores: one for free slots, one for available items.

The classic textbook solution. A put acquires a slot permit and, once its item is in
the deque, releases an item permit; a get does the reverse. Semaphore.acquire()
provides blocking, non-blocking and timed waits. A plain lock guards the deque, and
join() waits on a condition over the unfinished-task count. maxsize <= 0 means no
slot semaphore at all.

A permit, once acquired, reserves an item or a slot for a thread that has not yet
taken the deque's lock. So while a thread is between its acquire() and its deque
operation, a concurrent put_nowait() / get_nowait() can see Full / Empty although
the deque itself is not full / empty: the usual, accepted behaviour of the classic
semaphore bounded buffer, and why checks of Full / Empty belong to quiescent states.
"""

import threading
from collections import deque
from queue import Empty, Full

__all__ = ["Empty", "Full", "Queue"]


def _acquire(semaphore, block, timeout):
    """Semaphore.acquire() with queue.Queue's argument rules; True if acquired."""
    if not block:
        return semaphore.acquire(blocking=False)  # a timeout is ignored, as in queue
    if timeout is None:
        return semaphore.acquire()
    if timeout < 0:
        # Checked here: Semaphore.acquire(timeout=-1) would mean "wait forever".
        raise ValueError("'timeout' must be a non-negative number")
    return semaphore.acquire(timeout=timeout)


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        # BoundedSemaphore: releasing more slots than exist is a bug worth a ValueError.
        self._slots = threading.BoundedSemaphore(maxsize) if maxsize > 0 else None
        self._available = threading.Semaphore(0)
        self._items = deque()
        self._items_lock = threading.Lock()
        self._tasks = threading.Condition()
        self.unfinished_tasks = 0

    def put(self, item, block=True, timeout=None):
        if self._slots is not None:
            if not _acquire(self._slots, block, timeout):
                raise Full
        elif block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        # Counted before the item is in the deque: a consumer cannot take (and
        # task_done) it first, and join() cannot return while it sits uncounted.
        with self._tasks:
            self.unfinished_tasks += 1
        with self._items_lock:
            self._items.append(item)
            # Released under the lock, so that outside it the permits always equal
            # the items in the deque that no getter has claimed yet.
            self._available.release()

    def get(self, block=True, timeout=None):
        if not _acquire(self._available, block, timeout):
            raise Empty
        with self._items_lock:
            item = self._items.popleft()
            if self._slots is not None:
                self._slots.release()
        return item

    def put_nowait(self, item):
        self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self._tasks:
            if self.unfinished_tasks <= 0:
                raise ValueError("task_done() called too many times")
            self.unfinished_tasks -= 1
            if self.unfinished_tasks == 0:
                self._tasks.notify_all()

    def join(self):
        with self._tasks:
            while self.unfinished_tasks:
                self._tasks.wait()

    def qsize(self):
        with self._items_lock:
            return len(self._items)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        return 0 < self.maxsize <= self.qsize()
