"""An adapter over a library queue built with a path first, as persist-queue's is.

The library's constructor is `persistqueue.Queue(path, maxsize=0)`. The kit builds every queue as
`Queue(maxsize)`, so the adapter's Queue returns the library's, given a path.

`persistqueue_standin` beside this file stands in for the library (pure Python, the
same shape). Controlled runs must build queues through this Queue (never by calling
the library's class with maxsize as its path), and must run the library's class on
managed primitives too: its lock and conditions are where a race would be.
"""

import os
import tempfile

import persistqueue_standin
from persistqueue_standin import Empty, Full

__all__ = ["Empty", "Full", "Queue"]

#: Where the library would keep its items (the stand-in writes nothing there).
PATH = os.path.join(tempfile.gettempdir(), "prodcon-persistqueue-standin")


class Queue:
    """The contract's `Queue(maxsize)`: the library's queue, at PATH."""

    def __new__(cls, maxsize=0):
        return persistqueue_standin.Queue(PATH, maxsize=maxsize)
