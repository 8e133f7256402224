"""The consumer marks an item done as soon as it takes it, then handles it: join()
returns while the last items are still being handled."""

import inspect

CAUGHT_BY = "join"


async def producer(q, items):
    for item in items:
        await q.put(item)


async def consumer(q, handle):
    while True:
        item = await q.get()
        q.task_done()  # the bug: before handle() has finished
        if item is None:
            return
        result = handle(item)
        if inspect.isawaitable(result):
            await result
