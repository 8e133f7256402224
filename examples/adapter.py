"""An adapter: the classroom shape of `student_seed.py` under prodcon's worker contract.

    pytest --prodcon-impl=examples/adapter.py

The contract wants `producer(q, items)` to put the items it is given and no sentinel,
and `consumer(q, handle)` to hand each item to `handle` before `task_done()`. The
student's functions make their own items, put their own sentinel and print instead of
handling, so each gets a thin view of the queue that translates.
"""

import student_seed as student


class _ProducerView:
    """The queue as the student's producer sees it: our items go in instead of its own,
    and its sentinel is dropped (the coordinator puts one per consumer)."""

    def __init__(self, q, items):
        self._q = q
        self._items = iter(items)

    def put(self, item, *args, **kwargs):
        if item is None:
            return
        self._q.put(next(self._items), *args, **kwargs)


class _ConsumerView:
    """The queue as the student's consumer sees it: each item it finishes goes to
    `handle` just before its task_done()."""

    def __init__(self, q, handle):
        self._q = q
        self._handle = handle
        self._current = None

    def get(self, *args, **kwargs):
        self._current = self._q.get(*args, **kwargs)
        return self._current

    def task_done(self):
        self._handle(self._current)
        self._q.task_done()


def producer(q, items):
    items = list(items)
    student.producer(_ProducerView(q, items), len(items))


def consumer(q, handle):
    student.consumer(_ConsumerView(q, handle))
