"""threading.Lock and threading.RLock, each acquire a switch point and each wait a
scheduler decision.

Their exact contract is kept (the same RuntimeErrors, RLock counts), and so is
the protocol Condition uses on its lock (`_is_owned`, `_release_save`,
`_acquire_restore`), as in CPython's threading.py.
"""

from __future__ import annotations

import threading as _real

from prodcon.controlled.dependence import ACQUIRE, READ, RELEASE
from prodcon.controlled.primitives.caller import (
    caller,
    lock_deadline,
    refuse_outside,
    task_name,
)

TIMEOUT_MAX = _real.TIMEOUT_MAX


def _check_acquire_args(blocking, timeout) -> None:
    if not blocking and timeout != -1:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0 and timeout != -1:
        raise ValueError("timeout value must be a non-negative number")


class Lock:
    """threading.Lock: any thread may release it, releasing it unlocked is an error."""

    _kind = "Lock"
    _verb = "acquire"  # what a task that `wants` it waits in (the scheduler's deadlock report)

    def __init__(self):
        self._owner = None
        self._waiters: list = []

    def _holder(self):
        return self._owner

    def _describe(self, sched) -> str:
        name = sched.name_of(self, self._kind)
        return f"{name} held by {task_name(self._owner)}" if self._owner else f"{name} (free)"

    def locked(self) -> bool:
        sched = caller()[0]
        if sched is not None:
            sched.touch(self._key(), READ)
        return self._owner is not None

    def _key(self):
        """What a step that takes, tries or lets go of it touches (dependence.py)."""
        return ("sync", id(self))

    def _taken_first(self) -> bool:
        """Whether the acquire just made took it free (not an RLock's count raised)."""
        return True

    def _free_for(self, task) -> bool:
        return self._owner is None

    def _take(self, task) -> None:
        self._owner = task

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        _check_acquire_args(blocking, timeout)
        sched, me = caller()
        if sched is None:
            if self._free_for(me):
                self._take(me)
                return True
            if not blocking:
                return False
            refuse_outside(f"acquire of a held {self._kind}")
        name = sched.name_of(self, self._kind)
        if blocking and timeout == -1:
            # Waiting for ever: the thread cannot run until the lock is free, so the
            # scheduler does not offer it until then (a blocked try changes nothing a
            # later acquire would not: a release wakes every waiter, who then compete).
            me.wants, me.waiting_since = self, sched.clock
            if not self._free_for(me):
                sched.changed()
            try:
                sched.switch(me, f"acquire {name}")
            finally:
                me.wants = None
        else:
            sched.switch(me, f"acquire {name}")
        return self._acquire_blocking(sched, me, blocking, timeout)

    def _acquire_blocking(self, sched, me, blocking, timeout) -> bool:
        deadline = lock_deadline(sched, timeout)
        waited = False
        while not self._free_for(me):
            if not blocking or (deadline is not None and sched.clock >= deadline):
                sched.touch(self._key(), READ)  # a release would have made it succeed
                sched.note(me, f"acquire {sched.name_of(self, self._kind)} failed")
                return False
            waited = True
            if not sched.block(me, "acquire", self, self._waiters, deadline):
                if not self._free_for(me):
                    sched.touch(self._key(), READ)
                    sched.note(me, f"acquire {sched.name_of(self, self._kind)} timed out")
                    return False
        self._take(me)
        # taking it again (an RLock's count) changes nothing another thread can see
        sched.touch(self._key(), ACQUIRE if self._taken_first() else READ)
        sched.changed()
        if waited:
            sched.note(me, f"got {sched.name_of(self, self._kind)}")
        return True

    def release(self) -> None:
        sched, me = caller()
        if self._owner is None:
            raise RuntimeError("release unlocked lock")
        self._drop(sched, me)

    def _drop(self, sched, me) -> None:
        # Every waiter is woken and the strategy picks which one gets the lock, not a FIFO
        # hand-off: a real lock is unfair too, and a fair one would hide orders a real run
        # can show (the releaser barging back in, a later waiter winning). The exact,
        # first-come-first-woken wake-up is Condition.notify(n)'s.
        self._owner = None
        if sched is not None:
            sched.touch(self._key(), RELEASE)
            sched.changed()
            for task in self._waiters:
                sched.wake(task)
        self._waiters.clear()
        if sched is not None:
            sched.note(me, f"release {sched.name_of(self, self._kind)}")

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    # the protocol Condition uses, as in CPython's threading.py
    def _is_owned(self) -> bool:
        # CPython probes with acquire(False); asking directly adds no switch point
        return self._owner is not None

    def _release_save(self):
        self.release()

    def _acquire_restore(self, saved) -> None:
        self.acquire()

    def __repr__(self) -> str:
        state = "locked" if self._owner is not None else "unlocked"
        return f"<managed {self._kind} {state}>"


class RLock(Lock):
    """threading.RLock: counts, and only the owner may release it."""

    _kind = "RLock"

    def __init__(self):
        super().__init__()
        self._count = 0

    def _free_for(self, task) -> bool:
        return self._owner is None or self._owner is task

    def _take(self, task) -> None:
        self._owner = task
        self._count += 1

    def _taken_first(self) -> bool:
        return self._count == 1

    def release(self) -> None:
        sched, me = caller()
        if self._owner is not me:
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if self._count == 0:
            self._drop(sched, me)

    def _is_owned(self) -> bool:
        return self._owner is caller()[1]

    def _release_save(self):
        sched, me = caller()
        if self._owner is not me:
            raise RuntimeError("cannot release un-acquired lock")
        count, self._count = self._count, 0
        self._drop(sched, me)
        return count

    def _acquire_restore(self, saved) -> None:
        self.acquire()
        self._count = saved

    def __repr__(self) -> str:
        return f"<managed RLock count={self._count}>"
