"""A FIFO queue for asyncio tasks, with the semantics of ``asyncio.Queue`` (3.13).

Read reference/bounded_queue.py first: the thread queue has the same shape. What
changes with asyncio:

- No lock. Tasks of one event loop take turns only at an ``await``; between two
  awaits a task runs alone. So every method below that does not await is atomic
  by construction, and the ones that do must assume that *anything* may have
  happened while they were suspended: they check again after every wake-up.
- A task that must wait does not block anything: it parks a future in a line and
  awaits it; whoever makes the thing available resolves the first future in that
  line. Blocking calls (``time.sleep``, a ``threading.Lock`` that waits) would stop
  the whole loop, every other task with it: there are none here.
- There is no ``timeout=`` parameter. A caller who wants one writes
  ``await asyncio.wait_for(q.get(), 5)`` (or ``async with asyncio.timeout(5)``),
  which *cancels* the waiting call when time is up. Cancellation can therefore hit
  a waiter at its ``await`` at any moment, even just after it was woken, and it
  must then leave the queue as if it had never waited: no item lost, and no wake-up
  lost either (the thing it was woken for goes to the next in line).
"""

import asyncio
from collections import deque

# Re-exported, not redefined: code that catches asyncio.QueueFull must keep working
# when it is handed our Queue instead of asyncio's.
QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty

try:
    QueueShutDown = asyncio.QueueShutDown  # Python 3.13+
except AttributeError:

    class QueueShutDown(Exception):
        """Raised by put() and get() on a queue that was shut down (3.13's asyncio)."""


class Queue:
    """A FIFO queue for many producer and many consumer tasks of one event loop.

    `maxsize <= 0` means unbounded. put() suspends while the queue is full, get()
    while it is empty; put_nowait() and get_nowait() raise QueueFull / QueueEmpty
    instead. task_done() and join() count finished work, as in the thread queue.
    """

    def __init__(self, maxsize=0):
        self._maxsize = maxsize
        self._items = deque()
        # The two lines of waiting tasks, one future each, oldest first. A future may
        # be done already (woken, or cancelled) while still in its line: waking skips it.
        self._waiting_for_item = deque()
        self._waiting_for_room = deque()
        self._unfinished = 0  # items put and not yet task_done()
        self._all_done = asyncio.Event()  # set whenever _unfinished is 0
        self._all_done.set()
        self._shut_down = False

    @property
    def maxsize(self):
        return self._maxsize

    def qsize(self):
        return len(self._items)

    def empty(self):
        return not self._items

    def full(self):
        return 0 < self._maxsize <= len(self._items)

    # -- putting -------------------------------------------------------------------

    async def put(self, item):
        """Put `item`, suspending while the queue is full."""
        while 0 < self._maxsize <= len(self._items):
            if self._shut_down:
                raise QueueShutDown
            waiter = _park_in(self._waiting_for_room)
            try:
                await waiter
            except BaseException:  # CancelledError above all: see _leave
                _leave(self._waiting_for_room, waiter, self._has_room)
                raise
        self.put_nowait(item)

    def put_nowait(self, item):
        if self._shut_down:
            raise QueueShutDown
        if 0 < self._maxsize <= len(self._items):
            raise QueueFull
        self._items.append(item)
        if self._unfinished == 0:
            self._all_done.clear()  # only on the way from "all done" to "work to do"
        self._unfinished += 1
        if self._waiting_for_item:  # one attribute read when nobody waits, the usual case
            _wake_first(self._waiting_for_item)

    # -- getting -------------------------------------------------------------------

    async def get(self):
        """Remove and return the oldest item, suspending while the queue is empty."""
        while not self._items:
            if self._shut_down:
                raise QueueShutDown
            waiter = _park_in(self._waiting_for_item)
            try:
                await waiter
            except BaseException:
                _leave(self._waiting_for_item, waiter, self._has_item)
                raise
        return self.get_nowait()

    def get_nowait(self):
        if not self._items:
            if self._shut_down:
                raise QueueShutDown
            raise QueueEmpty
        item = self._items.popleft()
        if self._waiting_for_room:
            _wake_first(self._waiting_for_room)
        return item

    # -- what a waiter checks when it leaves ---------------------------------------

    def _has_item(self):
        return bool(self._items)

    def _has_room(self):
        return not 0 < self._maxsize <= len(self._items)

    # -- finished work -------------------------------------------------------------

    def task_done(self):
        """Mark one item taken earlier as fully handled."""
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            self._all_done.set()

    async def join(self):
        """Wait until every item put has been marked task_done()."""
        if self._unfinished:
            await self._all_done.wait()

    # -- shutting down (3.13) ------------------------------------------------------

    def shutdown(self, immediate=False):
        """Refuse further puts; gets drain what is left, then raise QueueShutDown.

        With `immediate`, what is left is dropped (and counted as done for join()).
        Every waiting put() and get() is woken to see the new state.
        """
        self._shut_down = True
        if immediate:
            dropped = len(self._items)
            self._items.clear()
            self._unfinished = max(0, self._unfinished - dropped)
            if self._unfinished == 0:
                self._all_done.set()
        for line in (self._waiting_for_item, self._waiting_for_room):
            while line:
                waiter = line.popleft()
                if not waiter.done():
                    waiter.set_result(None)


def _wake_first(line):
    """Resolve the oldest waiter in `line` that is still waiting (skip the cancelled)."""
    while line:
        waiter = line.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


# -- waiting -------------------------------------------------------------------------
#
# put() and get() wait the same way, written out in each (`waiter = _park_in(line)`,
# then `await waiter` in a try) rather than in a shared coroutine: a coroutine called
# per wait is one more frame to create and resume for every item that waits, 5 to 8%
# of a hand-off at maxsize=1 (`prodcon bench reference --model asyncio`), which made
# this queue no faster than asyncio.Queue there.


def _park_in(line):
    """A future at the end of `line`, for whoever makes room (or an item) to resolve."""
    waiter = asyncio.get_running_loop().create_future()
    line.append(waiter)
    return waiter


def _leave(line, waiter, still_there):
    """Called when a wait on `waiter` ends by an exception instead of a wake-up.

    A wake-up is a hint, not a promise: between the set_result() that woke us and our
    turn to run, another task may have taken the item (or the slot). So put() and get()
    loop and check again. The subtle part is cancellation (a timeout around the call,
    task.cancel()): the future may already have been resolved for us when the
    CancelledError arrives. Then the wake-up was spent on a task that is leaving, and
    without passing it on, the next waiter would sleep beside an item (or a free slot)
    forever.
    """
    if waiter.done() and not waiter.cancelled():
        # We were woken, and are leaving without using it: pass it on.
        if still_there():
            _wake_first(line)
    else:
        waiter.cancel()
        try:
            line.remove(waiter)
        except ValueError:  # already taken out by a wake-up or a shutdown
            pass
