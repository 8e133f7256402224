"""threading.Event, written as CPython writes it, on the managed Condition."""

from __future__ import annotations

from prodcon.controlled.dependence import READ, WRITE
from prodcon.controlled.primitives.caller import caller
from prodcon.controlled.primitives.condition import Condition
from prodcon.controlled.primitives.locks import Lock


class Event:
    def __init__(self):
        self._cond = Condition(Lock())
        self._flag = False

    def is_set(self) -> bool:
        _touch(self, READ)
        return self._flag

    isSet = is_set

    def set(self) -> None:
        _touch(self, WRITE)
        with self._cond:
            self._flag = True
            self._cond.notify_all()

    def clear(self) -> None:
        _touch(self, WRITE)
        with self._cond:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        with self._cond:
            signaled = self._flag
            if not signaled:
                signaled = self._cond.wait(timeout)
            return signaled


def _touch(event: Event, mode: str) -> None:
    """The flag is read without the lock: the event itself is what a step touches."""
    sched = caller()[0]
    if sched is not None:
        sched.touch(("sync", id(event)), mode)
