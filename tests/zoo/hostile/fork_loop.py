"""Hostile: forks at import until the system refuses, each child sleeping on.

The process limit stops the loop; the sandbox then cannot start the threads the
tests need, and closing it ends every one of these processes.
"""

import os
import time
from queue import Empty, Full, Queue  # noqa: F401

for _ in range(100_000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.setsid()
        time.sleep(300)
        os._exit(0)
