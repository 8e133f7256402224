"""threading.Semaphore and BoundedSemaphore, written as CPython writes them, on the
managed Condition: their waits are the Condition's, so they are switch points too."""

from __future__ import annotations

from prodcon.controlled.primitives.caller import caller
from prodcon.controlled.primitives.clock import monotonic
from prodcon.controlled.primitives.condition import Condition
from prodcon.controlled.primitives.locks import Lock


class Semaphore:
    """threading.Semaphore, written as CPython writes it, on the managed Condition."""

    def __init__(self, value: int = 1):
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._cond = Condition(Lock())
        self._value = value
        # Semaphore(1) used as a mutex: the task whose acquire took it, until the next
        # release (by anyone). Only the lockset pass (controlled/lockset.py) reads it; a
        # counting semaphore lets several threads in, so it guards nothing there.
        self._binary = value == 1
        self._taker = None

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        rc = False
        endtime = None
        with self._cond:
            while self._value == 0:
                if not blocking:
                    break
                if timeout is not None:
                    if endtime is None:
                        endtime = monotonic() + timeout
                    else:
                        timeout = endtime - monotonic()
                        if timeout <= 0:
                            break
                self._cond.wait(timeout)
            else:
                self._value -= 1
                rc = True
                if self._binary:
                    self._taker = caller()[1]
        return rc

    __enter__ = acquire

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        with self._cond:
            self._value += n
            self._taker = None
            self._cond.notify(n)

    def __exit__(self, *exc) -> None:
        self.release()


class BoundedSemaphore(Semaphore):
    def __init__(self, value: int = 1):
        super().__init__(value)
        self._initial_value = value

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        with self._cond:
            if self._value + n > self._initial_value:
                raise ValueError("Semaphore released too many times")
            self._value += n
            self._taker = None
            self._cond.notify(n)
