"""The consumer tests for the sentinel with `item == None` instead of `item is None`.

An item whose __eq__ says True to everything is taken for the sentinel (the consumer
quits without handling it), and one whose __eq__ raises kills the consumer. The sentinel
must be compared by identity.
"""

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "sentinel-shutdown"


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    while True:
        item = q.get()
        if item == None:  # noqa: E711 - the bug: equality, not identity
            return
        handle(item)
        q.task_done()
