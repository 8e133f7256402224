"""Each producer puts the sentinel after its items: with two producers, the first one
to finish stops a consumer while the other's items are still coming."""

import inspect

CAUGHT_BY = "sentinel-shutdown"


async def producer(q, items):
    for item in items:
        await q.put(item)
    await q.put(None)  # the bug: ending the consumers is the coordinator's job


async def consumer(q, handle):
    while True:
        item = await q.get()
        try:
            if item is None:
                return
            result = handle(item)
            if inspect.isawaitable(result):
                await result
        finally:
            q.task_done()
