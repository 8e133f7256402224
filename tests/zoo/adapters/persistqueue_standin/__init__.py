"""A stand-in for persist-queue (`persistqueue`) in the kit's tests: the same shape
(a package whose `Queue(path, maxsize=0)` lives in a submodule named `queue`, with
exceptions of its own), with the items kept in memory instead of on disk.

Not an implementation the kit is pointed at: `persistqueue_adapter.py` beside it is.
"""

from .exceptions import Empty, Full
from .queue import Queue

__all__ = ["Empty", "Full", "Queue"]
