"""The producer calls q.put(item) without `await`: each call only creates a coroutine
object, which is dropped; no item is ever put (Python prints "coroutine ... was never
awaited" once, somewhere, and the program hangs or ends early)."""

import inspect

CAUGHT_BY = "awaited"


async def producer(q, items):
    for item in items:
        q.put(item)  # the bug: no await


async def consumer(q, handle):
    while True:
        item = await q.get()
        if item is None:
            q.task_done()
            return
        result = handle(item)
        if inspect.isawaitable(result):
            await result
        q.task_done()
