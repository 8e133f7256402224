"""The items of every queue of the package, and the package's own Empty and Full."""

import threading
from collections import deque

#: Module-level state: one lock guards the items of every store (a package's shared
#: lock, taken inside a queue's own lock, never the other way round).
_ITEMS_LOCK = threading.Lock()


class Empty(Exception):
    """get() found no item in time."""


class Full(Exception):
    """put() found no room in time."""


class Store:
    """A FIFO of items and the count of those not yet marked done."""

    def __init__(self):
        self._items = deque()
        self.unfinished = 0

    def add(self, item):
        with _ITEMS_LOCK:
            self._items.append(item)

    def take(self):
        with _ITEMS_LOCK:
            return self._items.popleft()

    def __len__(self):
        with _ITEMS_LOCK:
            return len(self._items)
