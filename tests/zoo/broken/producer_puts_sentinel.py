"""The producer puts a sentinel after its items, on top of the coordinator's sentinels.

With M producers, M extra sentinels make consumers return while items are still queued
or yet to come. Only the coordinator puts sentinels (one per consumer, after join()): a
producer puts its items and returns.
"""

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "sentinel-shutdown"


def producer(q, items):
    for item in items:
        q.put(item)
    q.put(None)  # tell the consumers we are done


def consumer(q, handle):
    while True:
        item = q.get()
        if item is None:
            return
        handle(item)
        q.task_done()
