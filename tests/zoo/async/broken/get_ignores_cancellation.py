"""get() catches the CancelledError of its wait and waits again: a get() under a
timeout (asyncio.wait_for, asyncio.timeout) or a cancelled task never ends while the
queue stays empty. "It must not lose the item", said too broadly: losing the
cancellation instead.
"""

import asyncio

__all__ = ["CAUGHT_BY", "Queue", "QueueEmpty", "QueueFull"]

CAUGHT_BY = "timeout"

QueueFull = asyncio.QueueFull
QueueEmpty = asyncio.QueueEmpty


class Queue(asyncio.Queue):
    async def get(self):
        while True:
            try:
                return await super().get()
            except asyncio.CancelledError:
                continue  # the bug: a cancelled get() must end
