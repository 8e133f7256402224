"""Once a handle() took over a second, the consumer takes two items and handles the newer first.

"When behind, serve the freshest work first": the two items come from the queue
in order, and handling them newest first reverses them, so one producer's items
are handled out of the order it put them. A consumer handles items in the order
it takes them. Free-running handle() calls take milliseconds, so it never thinks
it is behind; one that takes seconds shows it.
"""

import queue
import time

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "order"

BEHIND = 1.0  # seconds: a handle() slower than this means the consumer is falling behind


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    behind = False
    while True:
        batch = [q.get()]
        if behind and batch[0] is not None:
            try:
                batch.append(q.get_nowait())
            except queue.Empty:
                pass
        if batch[-1] is not None:
            batch.reverse()  # freshest first
        for item in batch:
            if item is None:
                q.task_done()
                return
            start = time.monotonic()
            handle(item)
            behind = time.monotonic() - start > BEHIND
            q.task_done()
