"""threading.Semaphore and BoundedSemaphore, each acquire and release one step.

CPython writes them on a Condition, so each call is atomic under the condition's
lock, and a waiter woken by a release competes for the permit with any thread that
comes to acquire meanwhile (it may wait again). The same here, in one switch point
per call: a release wakes every waiter and the strategy picks who takes the permit,
as for a Lock. The lock and condition inside CPython's add switch points that show
nothing more, and cost a systematic search an order of their own to try.
"""

from __future__ import annotations

from prodcon.controlled.dependence import READ, WRITE
from prodcon.controlled.primitives.caller import caller, refuse_outside, wait_deadline


class Semaphore:
    """threading.Semaphore: permits taken and given back atomically."""

    _verb = "acquire"  # what a task that `wants` it waits in (the scheduler's deadlock report)

    def __init__(self, value: int = 1):
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._value = value
        self._waiters: list = []
        # Semaphore(1) used as a mutex: the task whose acquire took it, until the next
        # release (by anyone). Only the lockset pass (controlled/lockset.py) reads it; a
        # counting semaphore lets several threads in, so it guards nothing there.
        self._binary = value == 1
        self._taker = None

    def _holder(self):
        return None

    def _describe(self, sched) -> str:
        return f"{sched.name_of(self, 'Semaphore')} (value {self._value})"

    def _free_for(self, task) -> bool:
        return self._value > 0

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        sched, me = caller()
        if sched is None:
            if self._value > 0:
                self._value -= 1
                return True
            if not blocking:
                return False
            refuse_outside("acquire of a Semaphore with no permit")
        name = sched.name_of(self, "Semaphore")
        if blocking and timeout is None:
            # Waiting for ever: not offered to the strategy until a permit is there (as a
            # Lock's waiter is not until the lock is free)
            me.wants, me.waiting_since = self, sched.clock
            if self._value == 0:
                sched.changed()
            try:
                sched.switch(me, f"acquire {name}")
            finally:
                me.wants = None
        else:
            sched.switch(me, f"acquire {name}")
        deadline = wait_deadline(sched, timeout) if blocking else None
        while self._value == 0:
            if not blocking or (deadline is not None and sched.clock >= deadline):
                sched.touch(("sync", id(self)), READ)
                return False
            if not sched.block(me, "acquire", self, self._waiters, deadline) and (
                    self._value == 0):
                sched.touch(("sync", id(self)), READ)
                sched.note(me, f"acquire {name} timed out")
                return False
        self._value -= 1
        if self._binary:
            self._taker = me
        sched.touch(("sync", id(self)), WRITE)
        sched.changed()
        return True

    __enter__ = acquire

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        self._give(n)

    def _give(self, n: int) -> None:
        sched, me = caller()
        self._value += n
        self._taker = None
        if sched is None:
            return
        sched.touch(("sync", id(self)), WRITE)
        sched.changed()
        for task in self._waiters:
            sched.wake(task)
        self._waiters.clear()
        sched.note(me, f"release {sched.name_of(self, 'Semaphore')}")

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<managed Semaphore value={self._value}>"


class BoundedSemaphore(Semaphore):
    def __init__(self, value: int = 1):
        super().__init__(value)
        self._initial_value = value

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        if self._value + n > self._initial_value:
            raise ValueError("Semaphore released too many times")
        self._give(n)
