"""get() waits for an item by polling with time.sleep(): the whole event loop sleeps
with it, so no producer task can run, and a get() on an empty queue never ends.

The thread queue's habit carried over: in a coroutine, wait with `await`.
"""

import asyncio
import time

__all__ = ["CAUGHT_BY", "Queue", "QueueEmpty", "QueueFull"]

CAUGHT_BY = "event-loop"

QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty


class Queue(asyncio.Queue):
    """asyncio.Queue, but for its get()."""

    async def get(self):
        while self.empty():
            time.sleep(0.001)  # the bug: blocks the loop; `await asyncio.sleep()` would not
        return self.get_nowait()


