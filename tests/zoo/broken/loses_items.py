"""When the tail storage block is full, put() chains a new block but drops the item.

Blocks hold 96 items, so items 97, 194, 291, ... vanish (and join() waits for them
forever). The item must go into the fresh block: every item put is taken exactly once.
"""

import threading
from collections import deque
from queue import Empty, Full
from time import monotonic

__all__ = ["CAUGHT_BY", "Empty", "Full", "Queue"]

_BLOCK = 96  # items per storage block

CAUGHT_BY = "conservation"


class Queue:
    """A FIFO queue shared by threads; bounded when maxsize > 0."""

    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._blocks = deque([[]])  # append-only blocks of up to _BLOCK items
        self._head = 0  # read position in self._blocks[0]
        self._count = 0  # items stored and not yet taken
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._all_done = threading.Condition(self._lock)
        self._unfinished = 0

    def _append(self, item):
        tail = self._blocks[-1]
        if len(tail) < _BLOCK:
            tail.append(item)
            self._count += 1
        else:
            self._blocks.append([])  # tail block is full: chain a new one

    def _popleft(self):
        if self._head == _BLOCK:  # head block used up: move to the next one
            self._blocks.popleft()
            self._head = 0
        block = self._blocks[0]
        item = block[self._head]
        block[self._head] = None  # drop the queue's reference
        self._head += 1
        self._count -= 1
        return item

    def _has_item(self):
        return self._count > 0

    def _has_room(self):
        return self._count < self.maxsize

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
            if self.maxsize > 0:
                self._wait_for(self._not_full, self._has_room, block, timeout, Full)
            self._append(item)
            self._unfinished += 1
            self._not_empty.notify()

    def get(self, block=True, timeout=None):
        with self._lock:
            self._wait_for(self._not_empty, self._has_item, block, timeout, Empty)
            item = self._popleft()
            self._not_full.notify()
            return item

    def put_nowait(self, item):
        return self.put(item, block=False)

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
            return self._count

    def empty(self):
        with self._lock:
            return not self._count

    def full(self):
        with self._lock:
            return 0 < self.maxsize <= self._count
