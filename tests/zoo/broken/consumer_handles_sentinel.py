"""The consumer calls handle() on the sentinel too before returning.

handle(None) receives an item no producer put: an invented item. The sentinel is a
stop signal, never work: the consumer must return without handling it.
"""

__all__ = ["CAUGHT_BY", "consumer", "producer"]

CAUGHT_BY = "conservation"


def producer(q, items):
    for item in items:
        q.put(item)


def consumer(q, handle):
    while True:
        item = q.get()
        handle(item)
        if item is None:
            return
        q.task_done()
