"""A bounded FIFO queue with the semantics of the standard library's ``queue.Queue``.

It exists to be read, and to be the fast default the kit uses for any role a
module does not provide; the comments say why each step is needed. Behaviour,
down to which exception wins when two apply, matches CPython 3.13.

It is a monitor, but not the textbook one. The textbook monitor (one lock, a
threading.Condition per reason to wait: "not empty", "not full", "all tasks done")
is what ``queue.Queue`` itself is, and what tests/zoo/correct/two_conditions.py
writes with Condition.wait_for(); read one of those first. Here one lock guards
all state as there, but a thread that must wait sleeps on a lock of its own, in a
line per reason (items, free slots), and whoever makes the thing available wakes
the first in line: what a Condition does inside, done by hand for speed. The
class docstring says what that saves; join() keeps a plain Condition.
"""

import queue
import threading
import time
import types
from _thread import allocate_lock as _allocate_lock
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


def _check_timeout(timeout):
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


def _deadline(timeout):
    """Turn a relative timeout into an absolute time on a clock that never jumps.

    time.time() can go backwards (NTP, a user changing the clock); monotonic cannot.
    """
    return time.monotonic() + timeout


class Queue:
    """A FIFO queue for many producer and many consumer threads.

    One lock guards all state. A thread that must wait (for an item, for a free slot)
    sleeps on a lock of its own, queued in the line of those waiting for the same
    thing; whoever makes that thing available wakes the first in line. That is what
    threading.Condition does inside, and what queue.Queue uses: doing it here, on
    the queue's own lock, is why this queue is faster (see `prodcon bench reference`):
    - a put or get checks in one attribute read whether anyone waits at all, and in
      a busy queue mostly no one does; Condition.notify() would still check that the
      lock is held and walk its waiters, costing as much as the rest of the call;
    - a wait skips Condition's ownership checks and lock-state save and restore;
    - `with self.mutex` enters the lock directly (C code), where queue.Queue enters a
      Condition (Python code that then takes the same lock).
    join() waits on a plain Condition: it is rare, and not worth the same care.
    """

    def __init__(self, maxsize=0):
        self.maxsize = maxsize  # <= 0 means unbounded
        self.queue = deque()  # items, oldest on the left
        self.mutex = threading.Lock()
        self._getters = deque()  # the locks of threads waiting for an item, first first
        self._putters = deque()  # the locks of threads waiting for a free slot
        self.all_tasks_done = threading.Condition(self.mutex)
        self.unfinished_tasks = 0  # items put and not yet marked task_done()
        self.is_shutdown = False

    # Only ever called with the lock held. Items are never compared, hashed or
    # truth-tested, so None, 0, [] or an object whose __eq__ raises are all fine.
    def _is_full(self):
        return 0 < self.maxsize <= len(self.queue)

    def _wait(self, line, timeout):
        """Sleep until woken or until `timeout` (None: no limit); the lock is held
        on entry and again on return, released while asleep.

        Being woken means only "what you wait for was there a moment ago": the
        caller checks again, in a loop.
        """
        me = _allocate_lock()
        me.acquire()  # taken now, so the next acquire() sleeps until someone releases it
        line.append(me)
        self.mutex.release()
        woken = False
        try:
            woken = me.acquire() if timeout is None else me.acquire(True, timeout)
        finally:
            self.mutex.acquire()
            if not woken:  # timed out (or interrupted): leave the line
                try:
                    line.remove(me)
                except ValueError:
                    pass  # woken just as the time ran out: the caller's loop sees why

    def put(self, item, block=True, timeout=None):
        """Add item at the tail, waiting for a free slot if the queue is bounded and full."""
        with self.mutex:
            if self.is_shutdown:
                raise ShutDown
            if self.maxsize > 0 and block and timeout is not None:
                _check_timeout(timeout)  # even when no wait is needed, as queue.Queue
            if self._is_full():  # never true for an unbounded queue
                if not block:
                    raise Full
                self._wait_for_room(timeout)
            self.queue.append(item)
            # Counted before the lock is released, so no consumer can task_done() this
            # item while the count does not yet include it.
            self.unfinished_tasks += 1
            if self._getters:
                self._getters.popleft().release()  # one item: wake one getter

    # _wait_for_room() and _wait_for_item() mirror each other (full/empty, Full/Empty,
    # the putters' line/the getters' line). They stay two functions on purpose: a
    # student reads each wait on its own, with its own comments, and one function
    # taking a predicate, a line and an exception would hide what each waits for.
    def _wait_for_room(self, timeout):
        """With the lock held and the queue full: wait for a slot, Full, or ShutDown."""
        if timeout is not None:
            end = _deadline(timeout)
        # `while`, not `if`: being woken only means the queue *was* not full at some
        # moment; another putter may have taken the slot first.
        while self._is_full():
            if timeout is None:
                self._wait(self._putters, None)
            else:
                # Recompute what is left each time round: after a wake-up that did not
                # help, waiting the full timeout again would overshoot.
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise Full
                self._wait(self._putters, remaining)
            if self.is_shutdown:  # woken by shutdown(), not by a free slot
                raise ShutDown

    def get(self, block=True, timeout=None):
        """Remove and return the item at the head, waiting for one if the queue is empty."""
        with self.mutex:
            # After shutdown(), what is left is still handed out; only then ShutDown.
            if self.is_shutdown and not self.queue:
                raise ShutDown
            if block and timeout is not None:
                _check_timeout(timeout)  # even when an item is there, as queue.Queue
            if not self.queue:
                if not block:
                    raise Empty
                self._wait_for_item(timeout)
            item = self.queue.popleft()
            if self._putters:
                self._putters.popleft().release()  # one slot freed: wake one putter
            return item

    def _wait_for_item(self, timeout):
        """With the lock held and the queue empty: wait for an item, Empty, or ShutDown."""
        if timeout is not None:
            end = _deadline(timeout)
        # The loop tests for an item before it tests the clock: a wake-up that lands
        # just as the time runs out is used, not lost with this waiter.
        while not self.queue:  # `while`: see _wait_for_room()
            if timeout is None:
                self._wait(self._getters, None)
            else:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise Empty
                self._wait(self._getters, remaining)
            if self.is_shutdown and not self.queue:
                raise ShutDown

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
            # Wake everyone: every blocked thread has to re-check and leave with ShutDown.
            for line in (self._getters, self._putters):
                while line:
                    line.popleft().release()

    __class_getitem__ = classmethod(types.GenericAlias)  # Queue[int], as for queue.Queue
