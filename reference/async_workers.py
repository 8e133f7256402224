"""The async worker role: a producer task that fills a queue, a consumer task that drains it.

The same protocol as reference/workers.py, with awaits: the coordinator waits for the
producers, then `await q.join()`, then stops the consumers, either by putting one
SENTINEL per consumer (STOP = "sentinel") or by cancelling them, as the asyncio
documentation's worker example does (STOP = "cancel"). This consumer follows both.
"""

import inspect

SENTINEL = None
#: How the coordinator stops these consumers: "sentinel" (one SENTINEL each) or "cancel".
STOP = "sentinel"


async def producer(q, items):
    """Put every item, in order, and return; no sentinel (the coordinator's job)."""
    for item in items:
        # `await`, always: `q.put(item)` alone only creates a coroutine object and
        # drops it, and the item is never put (Python warns "never awaited", once).
        await q.put(item)


async def consumer(q, handle):
    """Take items and handle them until the sentinel arrives (or the task is cancelled)."""
    while True:
        # Cancelled here (STOP = "cancel"), the consumer holds no item: nothing to undo.
        item = await q.get()
        try:
            if item is SENTINEL:  # `is`: items may be 0, "", None-like or odd objects
                return
            result = handle(item)
            if inspect.isawaitable(result):  # handle() may be a coroutine function
                await result
        finally:
            # In a finally: the item is marked done however handling ended, with an
            # exception or a cancellation in the middle of `await result`, so join()
            # never waits for an item nobody will mark. (The sentinel is marked too:
            # it was put, so its task_done() keeps the count exact.)
            q.task_done()
