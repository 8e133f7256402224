"""One CPU core for the threads of a test: under the GIL they cost half as much there.

Under the GIL one thread runs Python at a time, whatever the number of cores. Every
hand-over from one thread to another (a lock released to a waiter, a call handed to
the kit's caller thread and its answer handed back, a controlled run's turn) wakes
another OS thread, and on a machine of several cores the kernel wakes it on another
core, where it waits for the GIL the first thread is only now dropping: each hand-over
crosses cores. Kept on one core, the woken thread takes the core the other one
leaves. Measured on 2 cores, 3.11: a call handed to a caller thread and back, 82 us of
CPU across cores and 15 on one; the quick profile on the reference, 10.3 CPU-s and
13.5 s across cores, 4.2 CPU-s and 7.2 s on one; a controlled schedule of the busiest
plan under a random walk, 12.6 and 5.6 ms. The kill matrix (benchmarks/kill_matrix.py,
seed 20261128) catches all 61 broken modules either way, each for its property, and
the free-running tests kill as many of them on one core as across cores (3 kills lost
and 10 gained, within one seed's run-to-run variation).

So a prodcon test of an implementation written in Python runs its threads on one core
under the GIL: `for_test` keeps the thread that runs the test on the core it is on as
the test starts, and every thread the test starts inherits that core and ends with it
(the kernel spreads the tests of several processes as it spreads their main threads).
A free-threaded interpreter without the GIL runs threads at once: there every test
keeps every core (a race needs them), and so does an implementation whose queue is
not Python code (a C extension may run outside the GIL, in parallel). A controlled
run lets one thread go at a time under any interpreter: its threads always share one
core (`keep_on`, from the scheduler).

Linux only (`os.sched_setaffinity`, libc's `sched_getcpu`); elsewhere every call here
does nothing and threads run where the kernel puts them, as before.
"""

from __future__ import annotations

import ctypes
import inspect
import os
import threading
from contextlib import contextmanager

from prodcon.settings import gil_disabled


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
#: The cores this process was given (taskset, a cgroup): what a thread goes back to.
EVERY_CORE: frozenset[int] | None = (frozenset(os.sched_getaffinity(0)) if _getcpu is not None
                                     else None)


class _Kept(threading.local):
    core: int | None = None  # the core keep_on gave this thread; None: every core


_kept = _Kept()


def current_core() -> int | None:
    """The core the calling thread runs on now, or None where that cannot be known."""
    if _getcpu is None:
        return None
    core = _getcpu()
    return core if core >= 0 else None


def keep_on(core: int | None) -> None:
    """Keep the calling thread, and the threads it starts from now on, on `core` (None:
    leave it be). A core this process may not use (a cgroup changed meanwhile) leaves
    the thread where it is."""
    if core is None:
        return
    try:
        os.sched_setaffinity(0, (core,))
    except OSError:
        return
    _kept.core = core


def release() -> None:
    """The calling thread back on every core of the process."""
    if _kept.core is None or EVERY_CORE is None:
        return
    try:
        os.sched_setaffinity(0, EVERY_CORE)
    except OSError:
        pass
    _kept.core = None


def kept() -> int | None:
    """The core `keep_on` keeps the calling thread on, or None."""
    return _kept.core


def follow(thread: threading.Thread, core: int | None) -> None:
    """Put another thread (the kit's caller of a call, say) on `core`, or back on every
    core for None, so that a hand-over between it and the calling thread stays on one
    core."""
    if EVERY_CORE is None or thread.native_id is None:
        return
    try:
        os.sched_setaffinity(thread.native_id, EVERY_CORE if core is None else (core,))
    except OSError:  # the thread has ended, or the core was taken away
        pass


def python_code(queue_class, *functions) -> bool:
    """Whether the roles run as Python code: the queue class's put and get are Python
    functions, its own or inherited (as queue.Queue's are), and no worker role is a
    builtin; the GIL then serializes all of it."""
    return (all(inspect.isfunction(inspect.getattr_static(queue_class, name, None))
                for name in ("put", "get"))
            and not any(inspect.isbuiltin(f) or inspect.ismethoddescriptor(f)
                        for f in functions))


def pays(queue_class, *functions) -> bool:
    """Whether a test of these roles runs on one core: under the GIL, for Python code."""
    return _getcpu is not None and not gil_disabled() and python_code(queue_class, *functions)


@contextmanager
def for_test(enabled: bool):
    """Keep the calling thread (and what it starts) on its present core for the block,
    then give it every core back; `enabled` False: nothing happens."""
    if not enabled or _getcpu is None:
        yield
        return
    keep_on(current_core())
    try:
        yield
    finally:
        release()
