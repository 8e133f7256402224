"""threading.Condition: notify(n) wakes exactly n waiters, in the order they waited.

A notify that woke everybody would never show a lost wake-up, so the managed one
is as exact as CPython's, and every wait and notify is a switch point.
"""

from __future__ import annotations

from prodcon.controlled.dependence import WRITE
from prodcon.controlled.primitives.caller import caller, refuse_outside, wait_deadline
from prodcon.controlled.primitives.clock import monotonic
from prodcon.controlled.primitives.locks import RLock


class Condition:
    """threading.Condition: notify(n) wakes exactly n waiters, first come first woken."""

    def __init__(self, lock=None):
        self._lock = RLock() if lock is None else lock
        self.acquire = self._lock.acquire
        self.release = self._lock.release
        self._waiters: list = []

    def __enter__(self):
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)

    def _is_owned(self) -> bool:
        return self._lock._is_owned()

    def _holder(self):
        return None

    def _describe(self, sched) -> str:
        name = sched.name_of(self, "Condition")
        waiting = ", ".join(t.name for t in self._waiters) or "nobody"
        return f"{name} (waiting: {waiting}; its lock {self._lock._describe(sched)})"

    def wait(self, timeout: float | None = None) -> bool:
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        sched, me = caller()
        if sched is None:
            refuse_outside("Condition.wait")
        sched.switch(me, f"wait {sched.name_of(self, 'Condition')}")
        saved = self._lock._release_save()
        try:
            return sched.block(me, "wait on", self, self._waiters,
                               wait_deadline(sched, timeout))
        finally:
            self._lock._acquire_restore(saved)

    def wait_for(self, predicate, timeout: float | None = None):
        endtime = None
        waittime = timeout
        result = predicate()
        while not result:
            if waittime is not None:
                if endtime is None:
                    endtime = monotonic() + waittime
                else:
                    waittime = endtime - monotonic()
                    if waittime <= 0:
                        break
            self.wait(waittime)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        sched, me = caller()
        woken = self._waiters[:n]
        del self._waiters[:n]
        if sched is None:
            return
        sched.touch(("sync", id(self)), WRITE)
        for task in woken:
            sched.wake(task)
        who = ", ".join(t.name for t in woken) or "nobody"
        sched.switch(me, f"notify {sched.name_of(self, 'Condition')} -> woke {who}")

    def notify_all(self) -> None:
        self.notify(len(self._waiters))

    notifyAll = notify_all

    def __repr__(self) -> str:
        return f"<managed Condition({self._lock!r}, {len(self._waiters)} waiting)>"
