"""put() sees room under the queue's lock, releases it, then adds the item in another module.

A queue split over two modules of one package: `core.put` checks for room holding the
queue's lock, lets it go, and only then calls `store.add`, which takes the package's
module-level lock. Two producers can both see the one free slot of a full queue and
both add: the queue holds more than maxsize items. The check and the add must be one
critical section (hold the queue's lock across both). The window is not widened (no
sleep): a free-running test rarely sees it, the controlled schedules find it.
"""

from .core import Queue
from .store import Empty, Full

__all__ = ["CAUGHT_BY", "Empty", "Full", "Queue"]

CAUGHT_BY = "capacity"
