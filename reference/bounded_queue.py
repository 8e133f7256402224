"""A bounded FIFO queue with the semantics of the standard library's ``queue.Queue``.

It exists to be read: every method is the textbook monitor pattern (one lock, a
condition per reason to wait), and the comments say why each step is needed.
Behaviour, down to which exception wins when two apply, matches CPython 3.13.
"""

import queue
import threading
import time
import types
from collections import deque

# Re-exported, not redefined: code that catches queue.Full / queue.Empty must keep
# working when it is handed our Queue instead of the standard one.
Full = queue.Full
Empty = queue.Empty

try:
    ShutDown = queue.ShutDown  # Python 3.13+
except AttributeError:

    class ShutDown(Exception):
        """Raised by put() and get() on a queue that was shut down (3.13's queue.ShutDown)."""


def _deadline(timeout):
    """Turn a relative timeout into an absolute time on a clock that never jumps.

    time.time() can go backwards (NTP, a user changing the clock); monotonic cannot.
    """
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    return time.monotonic() + timeout


class Queue:
    """A FIFO queue for many producer and many consumer threads.

    One lock guards all state. Three conditions share it, one for each reason a thread
    waits: for an item (not_empty), for a free slot (not_full), for every task to be
    marked done (all_tasks_done). Sharing the lock means that a waiter woken on one
    condition sees state that no other thread is halfway through changing.
    """

    def __init__(self, maxsize=0):
        self.maxsize = maxsize  # <= 0 means unbounded
        self.queue = deque()  # items, oldest on the left
        self.mutex = threading.Lock()
        self.not_empty = threading.Condition(self.mutex)
        self.not_full = threading.Condition(self.mutex)
        self.all_tasks_done = threading.Condition(self.mutex)
        self.unfinished_tasks = 0  # items put and not yet marked task_done()
        self.is_shutdown = False

    # Only ever called with the lock held. Items are never compared, hashed or
    # truth-tested, so None, 0, [] or an object whose __eq__ raises are all fine.
    def _is_full(self):
        return 0 < self.maxsize <= len(self.queue)

    def put(self, item, block=True, timeout=None):
        """Add item at the tail, waiting for a free slot if the queue is bounded and full."""
        with self.not_full:
            if self.is_shutdown:
                raise ShutDown
            if self.maxsize > 0:  # an unbounded queue never waits, so needs no checks
                if not block:
                    if self._is_full():
                        raise Full
                elif timeout is None:
                    # `while`, not `if`: being woken only means the queue *was* not full
                    # at some moment. Another putter may have taken the slot first, and
                    # wait() may also return with nobody having called notify().
                    while self._is_full():
                        self.not_full.wait()
                        if self.is_shutdown:  # woken by shutdown(), not by a free slot
                            raise ShutDown
                else:
                    end = _deadline(timeout)
                    while self._is_full():
                        # Recompute what is left each time round: after a wake-up that
                        # did not help, waiting the full timeout again would overshoot.
                        remaining = end - time.monotonic()
                        if remaining <= 0:
                            raise Full
                        self.not_full.wait(remaining)
                        if self.is_shutdown:
                            raise ShutDown
            self.queue.append(item)
            # Counted before the lock is released, so no consumer can task_done() this
            # item while the count does not yet include it.
            self.unfinished_tasks += 1
            self.not_empty.notify()  # one item: one getter can use it

    def get(self, block=True, timeout=None):
        """Remove and return the item at the head, waiting for one if the queue is empty."""
        with self.not_empty:
            # After shutdown(), what is left is still handed out; only then ShutDown.
            if self.is_shutdown and not self.queue:
                raise ShutDown
            if not block:
                if not self.queue:
                    raise Empty
            elif timeout is None:
                while not self.queue:  # `while`: see put()
                    self.not_empty.wait()
                    if self.is_shutdown and not self.queue:
                        raise ShutDown
            else:
                end = _deadline(timeout)
                # The loop tests for an item before it tests the clock: a notify() that
                # lands just as the time runs out is used, not lost with this waiter.
                while not self.queue:
                    remaining = end - time.monotonic()  # see put()
                    if remaining <= 0:
                        raise Empty
                    self.not_empty.wait(remaining)
                    if self.is_shutdown and not self.queue:
                        raise ShutDown
            item = self.queue.popleft()
            self.not_full.notify()  # one slot freed: one putter can use it
            return item

    def put_nowait(self, item):
        return self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        """Tell join() that the work on one item taken by get() is finished.

        get() alone cannot release join(): an item that was taken but whose processing
        is still running (or crashed) is not done. Only the consumer knows when it is.
        """
        with self.all_tasks_done:
            if self.unfinished_tasks <= 0:
                raise ValueError("task_done() called too many times")
            self.unfinished_tasks -= 1
            if self.unfinished_tasks == 0:
                self.all_tasks_done.notify_all()  # every joiner may go, not just one

    def join(self):
        """Wait until every item ever put has been marked done with task_done()."""
        with self.all_tasks_done:
            while self.unfinished_tasks:
                self.all_tasks_done.wait()

    def qsize(self):
        """Number of items now; stale as soon as it returns unless the queue is quiet."""
        with self.mutex:
            return len(self.queue)

    def empty(self):
        with self.mutex:
            return not self.queue

    def full(self):
        with self.mutex:
            return self._is_full()

    def shutdown(self, immediate=False):
        """Refuse further puts and wake every blocked thread (Python 3.13 semantics).

        Getters still drain the items already queued, then get ShutDown. With
        immediate=True those items are dropped instead, and each counts as done, so
        join() is released unless items already taken still await task_done().
        """
        with self.mutex:
            self.is_shutdown = True
            if immediate:
                while self.queue:
                    self.queue.popleft()
                    if self.unfinished_tasks > 0:
                        self.unfinished_tasks -= 1
                self.all_tasks_done.notify_all()
            # notify_all: every blocked thread has to re-check and leave with ShutDown.
            self.not_empty.notify_all()
            self.not_full.notify_all()

    __class_getitem__ = classmethod(types.GenericAlias)  # Queue[int], as for queue.Queue
