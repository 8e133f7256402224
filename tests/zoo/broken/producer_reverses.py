"""The producer puts its items in reverse order.

reversed() was meant for something else; per-producer FIFO order is part of the
contract: the producer must put items in the order given.
"""

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "order"


def producer(q, items):
    for item in reversed(list(items)):
        q.put(item)


def consumer(q, handle):
    while True:
        item = q.get()
        if item is None:
            return
        handle(item)
        q.task_done()
