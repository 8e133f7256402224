"""The consumer treats a momentarily empty queue as the end of the work and returns.

An empty queue only means the producers are slower than the consumers for now: the
consumer returns before its sentinel, leaving later items unhandled. It must block in
get() and return only on the sentinel.
"""

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "sentinel-shutdown"


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    while True:
        if q.empty():  # nothing left to do
            return
        item = q.get()
        if item is None:
            return
        handle(item)
        q.task_done()
