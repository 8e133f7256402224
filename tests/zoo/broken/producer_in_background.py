"""The producer starts a thread to put its items and returns at once.

The coordinator takes the return to mean "all my items are in the queue" and may call
join() and put the sentinels while items are still coming; those are never handled. The
feeder's pauses only widen the window so that stress testing catches it on every run.
"""

import threading
import time

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "conservation"


def producer(q, items):
    items = list(items)

    def feed():
        time.sleep(0.05)  # let the consumers start first
        for item in items:
            q.put(item)
            time.sleep(0.001)  # pace the puts

    threading.Thread(target=feed, name="feeder", daemon=True).start()


def consumer(q, handle):
    while True:
        item = q.get()
        if item is None:
            return
        handle(item)
        q.task_done()
