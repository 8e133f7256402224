"""put() guards the queue with a threading.Lock held across an await: the second task
to put blocks the event loop's thread on the lock, and the first can never run again to
release it. The loop is dead.
"""

import asyncio
import threading

__all__ = ["CAUGHT_BY", "Queue", "QueueEmpty", "QueueFull"]

CAUGHT_BY = "event-loop"

QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty


class Queue(asyncio.Queue):
    def __init__(self, maxsize=0):
        super().__init__(maxsize)
        self._guard = threading.Lock()  # the bug: a thread's lock, in a coroutine

    async def put(self, item):
        with self._guard:
            await super().put(item)
