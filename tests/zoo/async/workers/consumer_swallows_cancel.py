"""STOP = "cancel", but the consumer catches every exception around get(), the
CancelledError too, and loops on: cancelled after join(), it never ends."""

import asyncio
import inspect

CAUGHT_BY = "cancel-shutdown"
STOP = "cancel"


async def producer(q, items):
    for item in items:
        await q.put(item)


async def consumer(q, handle):
    while True:
        try:
            item = await q.get()
        except BaseException:  # the bug: CancelledError is swallowed
            await asyncio.sleep(0.01)
            continue
        try:
            result = handle(item)
            if inspect.isawaitable(result):
                await result
        finally:
            q.task_done()
