"""The consumer takes items with get_nowait() and returns on QueueEmpty: at a quiet start,
or whenever the producers are slower than it, it leaves before its sentinel and the
items put later are never handled."""

import asyncio
import inspect

CAUGHT_BY = "sentinel-shutdown"


async def producer(q, items):
    for item in items:
        await q.put(item)


async def consumer(q, handle):
    while True:
        try:
            item = q.get_nowait()
        except asyncio.QueueEmpty:
            return  # the bug: an empty queue is not the end of the work
        try:
            if item is None:
                return
            result = handle(item)
            if inspect.isawaitable(result):
                await result
        finally:
            q.task_done()
