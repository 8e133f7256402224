"""The standard library's queue.Queue, re-exported: the baseline every check must pass.

If a conformance check fails on this module, the check is wrong.
"""

from queue import Empty, Full, Queue

__all__ = ["Empty", "Full", "Queue"]

try:
    from queue import ShutDown  # Python 3.13+
except ImportError:  # before 3.13, queue.Queue has no shutdown()
    pass
else:
    __all__ += ["ShutDown"]
