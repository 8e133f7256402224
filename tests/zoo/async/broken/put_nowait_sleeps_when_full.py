"""put_nowait() on a full queue gives a consumer a moment to make room, with
time.sleep(): the whole event loop sleeps with it, so no consumer can run, and every
put_nowait() that meets a full queue holds the loop for 3 ms before it raises QueueFull.

A plain (non-async) method of an async queue runs on the loop's thread as much as a
coroutine does: it must not block either.
"""

import asyncio
import time

__all__ = ["CAUGHT_BY", "Queue", "QueueEmpty", "QueueFull"]

CAUGHT_BY = "event-loop"

QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty


class Queue(asyncio.Queue):
    """asyncio.Queue, but for its put_nowait()."""

    def put_nowait(self, item):
        for _ in range(3):
            if not self.full():
                break
            time.sleep(0.001)  # the bug: nobody can make room while the loop sleeps
        super().put_nowait(item)
