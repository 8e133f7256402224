"""Who calls a managed primitive, and what its timeout means: what every family shares.

A call comes from a task of a running scheduler, or from outside any run (module
import, the final check in the test thread), where the primitives act as plain
uncontended ones and refuse to block, since nothing could ever wake them.
"""

from __future__ import annotations

from prodcon.controlled.scheduler import Task, current

#: The owner of a lock taken outside any run.
OUTSIDE = object()


def caller():
    """(scheduler, task) of the calling thread; (None, OUTSIDE) outside a run."""
    sched, task = current()
    return sched, task if task is not None else OUTSIDE


def task_name(task) -> str:
    return task.name if isinstance(task, Task) else "outside"


def lock_deadline(sched, timeout) -> float | None:
    """Lock.acquire's reading: None or -1 waits for ever."""
    if timeout is None or timeout < 0:
        return None
    return sched.clock + timeout


def wait_deadline(sched, timeout) -> float | None:
    """Condition.wait's and Thread.join's reading: a negative timeout is no wait at all
    (CPython clamps it to 0), so it must not turn into waiting for ever."""
    return None if timeout is None else sched.clock + max(timeout, 0)


class OutsideRun(RuntimeError):
    """A wait or a thread start outside a controlled run, where nothing schedules it:
    the kit's limit (it builds each queue before its run starts), not a bug of the
    code that asked."""


def refuse_outside(what: str):
    raise OutsideRun(f"{what} would block outside a controlled run; nothing could wake it")
