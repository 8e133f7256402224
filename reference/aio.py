"""The reference's async roles, for asyncio code: `--prodcon-impl=reference
--prodcon-model=asyncio` runs the async suite on them, and they fill in whatever async
role a module under test does not provide. Read async_queue.py, then async_workers.py.
"""

from .async_queue import Queue, QueueEmpty, QueueFull, QueueShutDown
from .async_workers import SENTINEL, STOP, consumer, producer

__all__ = ["Queue", "QueueEmpty", "QueueFull", "QueueShutDown", "SENTINEL", "STOP", "consumer",
           "producer"]
