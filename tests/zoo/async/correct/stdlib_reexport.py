"""asyncio.Queue itself, re-exported: the standard the async suite is written against."""

from asyncio import Queue, QueueEmpty, QueueFull  # noqa: F401

try:
    from asyncio import QueueShutDown  # noqa: F401  (3.13+)
except ImportError:
    pass
