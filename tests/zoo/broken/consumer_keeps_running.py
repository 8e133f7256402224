"""On the sentinel the consumer `continue`s instead of returning, so it never stops.

It then blocks in get() forever (the thread is left running), or swallows another
consumer's sentinel. A consumer must return as soon as it takes its sentinel.
"""

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "sentinel-shutdown"


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    while True:
        item = q.get()
        if item is None:
            continue  # nothing to handle
        handle(item)
        q.task_done()
