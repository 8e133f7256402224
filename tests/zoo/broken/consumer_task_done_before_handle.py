"""The consumer calls task_done() before handle(item), not after it.

join() can then return while the last items are still being handled, so "all work is
finished" is a lie. task_done() means the work on the item is done: call it after
handle(item) returns.
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
        q.task_done()  # got it
        handle(item)
