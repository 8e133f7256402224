"""One CPU core for a run's threads: a controlled run's turns cost half as much there.

A controlled run lets one thread go at a time, and every turn handed over wakes
another OS thread and parks the one that ran (scheduler.py). On a machine of
several cores the kernel wakes the next thread on another core, where it waits
for the GIL the parked one is only now dropping: each turn crosses cores twice.
Kept on the core of the thread that started the run, the woken thread takes the
core the parked one leaves (measured on the reference's busiest plan, 2 cores:
12.6 ms of CPU a schedule under a random walk, 5.6 ms on one core; PCT, which
hands over less often, 6.1 and 3.6 ms). Nothing runs in parallel in a controlled
run, so nothing is lost, and the free-running tests, whose races need cores, are
never pinned: only the threads a run starts are, and they end with it.

The core is chosen afresh for each run (where its starter is running then), so
runs of many processes spread over the cores as the kernel spreads their starters.
Where the platform cannot say or pin (not Linux), runs go unpinned, as before.
"""

from __future__ import annotations

import ctypes
import os


def _sched_getcpu():
    """libc's sched_getcpu (a vDSO read, well under a microsecond), or None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sched_getcpu
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_int
    function.argtypes = ()
    return function


_getcpu = _sched_getcpu()


def current_core() -> int | None:
    """The core the calling thread runs on now, or None where that cannot be known."""
    if _getcpu is None:
        return None
    core = _getcpu()
    return core if core >= 0 else None


def keep_on(core: int | None) -> None:
    """Keep the calling thread on `core` from now on (None: leave it be). A core this
    process may not use (a cgroup changed meanwhile) leaves the thread where it is."""
    if core is None:
        return
    try:
        os.sched_setaffinity(0, (core,))
    except OSError:
        pass
