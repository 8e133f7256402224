"""The producer puts with a timeout and silently drops the item when the queue stays full.

A timed put() that raises Full only means the consumers were busy for a while (a
slow handle(), a burst of work); the item still has to be delivered. Dropping it
loses work without a trace: no error, and the producer returns as if every item
were in. The producer must block in put() (or try again) until the item is in.
Free-running consumers never stay busy for a second; a handle() that takes
seconds (as a real one may) keeps the queue full long enough.
"""

import queue

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "conservation"

PUT_TIMEOUT = 1.0  # seconds: "if the queue is stuck that long, the consumers are swamped"


def producer(q, items):
    for item in items:
        try:
            q.put(item, timeout=PUT_TIMEOUT)
        except queue.Full:
            continue  # shed the load: the item is gone


def consumer(q, handle):
    while True:
        item = q.get()
        if item is None:
            q.task_done()
            return
        handle(item)
        q.task_done()
