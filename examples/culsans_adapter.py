"""An adapter for a library's queue: culsans' synchronous face under the Queue role.

    pip install culsans
    pytest --prodcon-impl=examples/culsans_adapter.py

`culsans.Queue(maxsize)` is a mixed sync/async queue; its `sync_q` face has
queue.Queue's API and raises queue.Empty and queue.Full (subclasses of them). The kit
builds every queue as `Queue(maxsize)`, so the adapter's Queue returns that face. The
controlled schedules load culsans, and the aiologic primitives it waits on, again from
their source on the kit's managed threads, so a race inside the library is explored
like one in a single file.
"""

from queue import Empty, Full

import culsans
from culsans import SyncQueueShutDown as ShutDown

__all__ = ["Empty", "Full", "Queue", "ShutDown"]


class Queue:
    """The contract's `Queue(maxsize)`: a culsans queue's synchronous face."""

    def __new__(cls, maxsize=0):
        return culsans.Queue(maxsize).sync_q
