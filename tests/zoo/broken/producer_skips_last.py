"""The producer's loop runs to len(items) - 1, so the last item is never put.

An off-by-one in range(): every item of `items` must be put, the last one included.
"""

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "conservation"


def producer(q, items):
    items = list(items)
    for i in range(len(items) - 1):
        q.put(items[i])


def consumer(q, handle):
    while True:
        item = q.get()
        if item is None:
            return
        handle(item)
        q.task_done()
