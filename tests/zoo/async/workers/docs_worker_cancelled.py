"""Correct: the asyncio documentation's worker, stopped by cancellation after join().

    async def worker(name, queue):
        while True:
            item = await queue.get()
            ...
            queue.task_done()

The coordinator awaits queue.join(), then cancels the workers: each is idle in get(),
holding no item, and ends with the CancelledError.
"""

import inspect

STOP = "cancel"


async def producer(q, items):
    for item in items:
        await q.put(item)


async def consumer(q, handle):
    while True:
        item = await q.get()
        try:
            result = handle(item)
            if inspect.isawaitable(result):
                await result
        finally:
            q.task_done()
