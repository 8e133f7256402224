"""The producer sets an item aside when a timed put() raises Full and puts it after the rest.

Meant to keep the producer busy while the consumers catch up, it breaks the order:
the item set aside comes out after items given to the producer later. A producer
puts its items in the order given; on Full it waits (or tries the same item
again). Free-running consumers never keep the queue full for a second; a handle()
that takes seconds does.
"""

import queue

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "order"

PUT_TIMEOUT = 1.0


def producer(q, items):
    later = []
    for item in items:
        try:
            q.put(item, timeout=PUT_TIMEOUT)
        except queue.Full:
            later.append(item)  # come back to it once the queue has room
    for item in later:
        q.put(item)


def consumer(q, handle):
    while True:
        item = q.get()
        if item is None:
            q.task_done()
            return
        handle(item)
        q.task_done()
