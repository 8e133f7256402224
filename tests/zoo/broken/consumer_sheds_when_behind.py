"""Once a handle() took over a second, the consumer skips the next item to catch up.

Load shedding inside a consumer: it marks the skipped item done (so join() still
returns), but the item is never handled, and the coordinator takes join()'s return
for "every item was handled". Every item taken must reach handle(). Free-running
handle() calls take milliseconds, so it never sheds; one that takes seconds shows it.
"""

import time

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "conservation"

BEHIND = 1.0  # seconds


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    behind = False
    while True:
        item = q.get()
        if item is None:
            q.task_done()
            return
        if behind:
            behind = False  # skipped one: caught up
            q.task_done()
            continue
        start = time.monotonic()
        handle(item)
        behind = time.monotonic() - start > BEHIND
        q.task_done()
