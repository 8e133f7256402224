"""A correct async queue written with one asyncio.Condition per reason to wait.

The textbook monitor, for tasks: one condition for "an item is there", one for "a slot
is free", one for "all work is done", all on one asyncio.Lock. A woken task checks its
condition again (`wait_for`), so a wake-up whose item another task took costs nothing
but a turn. Slower than a future per waiter (the reference's design), and as correct.

One thing asyncio.Condition does not do before Python 3.13: a waiter notified and then
cancelled before it ran (its timeout fired) takes the notification with it, and the
next waiter sleeps on while the item is there (fixed in 3.13's Condition.wait, which
notifies another waiter then). So a cancelled wait passes the wake-up on itself
(`_waited`): a spurious wake-up at worst, which `wait_for` absorbs. The kit's controlled
schedules found this, on 3.10, in this module as first written.
"""

import asyncio
from collections import deque

QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._lock = asyncio.Lock()
        self._not_empty = asyncio.Condition(self._lock)
        self._not_full = asyncio.Condition(self._lock)
        self._all_done = asyncio.Condition(self._lock)
        self._unfinished = 0

    def qsize(self):
        return len(self._items)

    def empty(self):
        return not self._items

    def full(self):
        return 0 < self.maxsize <= len(self._items)

    async def put(self, item):
        async with self._not_full:
            await _waited(self._not_full, lambda: not self.full())
            self._store(item)

    def put_nowait(self, item):
        if self.full():
            raise QueueFull
        self._store(item)

    def _store(self, item):
        self._items.append(item)
        self._unfinished += 1
        self._notify(self._not_empty)

    async def get(self):
        async with self._not_empty:
            await _waited(self._not_empty, lambda: self._items)
            return self._take()

    def get_nowait(self):
        if not self._items:
            raise QueueEmpty
        return self._take()

    def _take(self):
        item = self._items.popleft()
        self._notify(self._not_full)
        return item

    def task_done(self):
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            self._notify(self._all_done, everyone=True)

    async def join(self):
        async with self._all_done:
            await self._all_done.wait_for(lambda: self._unfinished == 0)

    def _notify(self, condition, everyone=False):
        """notify() needs the lock held; a plain method (put_nowait, get_nowait,
        task_done) cannot await it, so the notification is made by a task of its own,
        which takes the lock as soon as the caller's task next awaits."""
        async def notify():
            async with condition:
                if everyone:
                    condition.notify_all()
                else:
                    condition.notify()

        if condition.locked():
            # The caller already holds the lock (put() or get() calling _store/_take).
            if everyone:
                condition.notify_all()
            else:
                condition.notify()
        else:
            asyncio.get_running_loop().create_task(notify())


async def _waited(condition, predicate):
    """`condition.wait_for(predicate)`, passing a wake-up on when cancelled: the
    notification this waiter may have taken goes to the next one (wait() holds the
    lock again when it raises, so notify() may be called)."""
    try:
        await condition.wait_for(predicate)
    except asyncio.CancelledError:
        if predicate():
            condition.notify()
        raise
