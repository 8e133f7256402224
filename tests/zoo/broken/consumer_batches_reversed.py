"""The consumer takes up to two items at a time and handles the pair in reverse order.

Two consecutive items of one producer are then handled newest first, which breaks the
per-producer order. A batch must be handled in the order its items were taken.
"""

import queue

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "order"


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    while True:
        batch = [q.get()]
        if batch[0] is None:
            return
        try:
            batch.append(q.get_nowait())  # a second one, if there is one right now
        except queue.Empty:
            pass
        stop = batch[-1] is None
        if stop:
            batch.pop()
        for item in reversed(batch):
            handle(item)
            q.task_done()
        if stop:
            return
