"""The consumer waits for an item with a timeout and returns when none comes in time.

"Nothing for two seconds: the producers must be done." A quiet queue only means
the producers (or the other consumers' handle() calls) are slow for now; this
consumer returns before its sentinel and leaves the rest of the work, and its
sentinel, to the others. A consumer blocks in get() (or asks again after Empty)
and returns only on the sentinel. Free-running producers are never quiet for two
seconds; a handle() that takes seconds keeps them waiting on a full queue that long.
"""

import queue

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "sentinel-shutdown"

GET_TIMEOUT = 2.0


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    while True:
        try:
            item = q.get(timeout=GET_TIMEOUT)
        except queue.Empty:
            return  # idle too long: no more work is coming
        if item is None:
            q.task_done()
            return
        handle(item)
        q.task_done()
