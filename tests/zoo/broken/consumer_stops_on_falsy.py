"""The consumer stops at the first falsy item (`if not item: break`), not at the sentinel.

The truth test matches the None sentinel, but also 0, "", [] and any item whose __bool__
is False: the consumer returns early and the item is never handled. The sentinel must be
recognised by identity (`item is SENTINEL`), and every other item handled.
"""

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "sentinel-shutdown"


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    while True:
        item = q.get()
        if not item:  # the sentinel is None
            break
        handle(item)
        q.task_done()
