"""A queue split over two modules of one package, as libraries are shipped.

`core` holds the Queue (the locking, the waiting, the timeouts); `store` holds the
items, the package's own Empty and Full, and a module-level lock that guards every
store's items. The modules import each other relatively. Given to the kit as the
package's folder (or its dotted name), the controlled schedules run the whole package
on managed primitives, its module-level lock included.
"""

from .core import Queue
from .store import Empty, Full

__all__ = ["Empty", "Full", "Queue"]
