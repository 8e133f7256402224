"""Worker role only, as a good student writes it, with a custom sentinel object.

A fresh object() can never be confused with a real item, not even with None, so the
items may be anything. The kit supplies the queue (the reference one).
"""

__all__ = ["SENTINEL", "consumer", "producer"]

SENTINEL = object()  # unique: no item can be this very object


def producer(q, items):
    """Put all items in order; the coordinator puts the sentinels, not us."""
    for item in items:
        q.put(item)


def consumer(q, handle):
    """Handle items until the sentinel, marking each one done after handling it."""
    while True:
        item = q.get()
        if item is SENTINEL:  # identity: items with odd __eq__ are not the sentinel
            return  # no task_done() for the sentinel: allowed by the contract
        handle(item)
        q.task_done()  # only now is the work on this item finished
