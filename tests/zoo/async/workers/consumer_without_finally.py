"""Broken: the asyncio documentation's worker as written, task_done() after the work and
no `finally`:

    async def worker(name, queue):
        while True:
            item = await queue.get()
            ...                      # the work: if it raises, the next line never runs
            queue.task_done()

When the work raises for one item, the task ends with the exception and the item is
never marked done: `await queue.join()` waits forever. (The zoo's docs_worker_cancelled
is the same worker with the `finally:` added, and passes.)
"""

import inspect

CAUGHT_BY = "join"
STOP = "cancel"


async def producer(q, items):
    for item in items:
        await q.put(item)


async def consumer(q, handle):
    while True:
        item = await q.get()
        result = handle(item)
        if inspect.isawaitable(result):
            await result
        q.task_done()
