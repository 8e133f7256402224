"""The consumer never calls task_done(), so join() never returns.

Every item put raises the unfinished-task count and only task_done() lowers it: the
consumer must call q.task_done() after handling each item.
"""

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "join"


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    while True:
        item = q.get()
        if item is None:
            return
        handle(item)
