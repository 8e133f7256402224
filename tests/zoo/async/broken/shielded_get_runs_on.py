"""get() shields its wait from cancellation, "so that no item is ever lost": cancelled
(its timeout fired), the caller gives up, but the shielded inner get() waits on, takes
the next item put, and nobody receives it. The item is lost after all, as in
python/asyncio#343, where wait_for() let the inner get() run on after its timeout.
"""

import asyncio

__all__ = ["CAUGHT_BY", "Queue", "QueueEmpty", "QueueFull"]

CAUGHT_BY = "cancellation"

QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty


class Queue(asyncio.Queue):
    async def get(self):
        return await asyncio.shield(super().get())  # the bug: the inner get() outlives us
