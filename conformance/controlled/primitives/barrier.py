"""threading.Barrier, written as CPython writes it, on the managed Condition and Lock."""

from __future__ import annotations

import threading as _real

from prodcon.controlled.primitives.condition import Condition
from prodcon.controlled.primitives.locks import Lock

BrokenBarrierError = _real.BrokenBarrierError  # the real class, so `except` clauses match


class Barrier:
    """threading.Barrier: CPython's state machine on the managed Condition and Lock.

    Follows Lib/threading.py step for step so that each wait and notify is a
    switch point where CPython has one, and a thread that wakes finds the barrier
    draining, resetting or broken in exactly the states a real run can show it.
    Outside a controlled run, a wait that would block raises like Condition.wait.

    A deadlock report names the Condition inside (`Condition#N`, waiting: the
    parties), not `Barrier#N`: kept, because naming it after the Barrier would change
    the text of controlled reports, which stay byte-identical from one release to
    the next; the waiters it lists are the Barrier's.
    """

    def __init__(self, parties, action=None, timeout=None):
        if parties < 1:
            _real.Barrier(parties)  # 3.13+ refuses with its ValueError; older versions accept
        self._cond = Condition(Lock())
        self._action = action
        self._timeout = timeout
        self._parties = parties
        self._state = 0  # 0 filling, 1 draining, -1 resetting, -2 broken
        self._count = 0

    def wait(self, timeout=None) -> int:
        if timeout is None:
            timeout = self._timeout
        with self._cond:
            self._enter()
            index = self._count
            self._count += 1
            try:
                if index + 1 == self._parties:
                    self._release()
                else:
                    self._wait(timeout)
                return index
            finally:
                self._count -= 1
                self._exit()

    def _enter(self) -> None:
        while self._state in (-1, 1):  # the last round is still draining or resetting
            self._cond.wait()
        if self._state < 0:
            raise BrokenBarrierError

    def _release(self) -> None:
        try:
            if self._action:
                self._action()
            self._state = 1
            self._cond.notify_all()
        except BaseException:  # CPython's bare except: whatever the action raises breaks it
            self._break()
            raise

    def _wait(self, timeout) -> None:
        if not self._cond.wait_for(lambda: self._state != 0, timeout):
            self._break()  # a timeout breaks the barrier for every party
            raise BrokenBarrierError
        if self._state < 0:
            raise BrokenBarrierError

    def _exit(self) -> None:
        if self._count == 0 and self._state in (-1, 1):
            self._state = 0
            self._cond.notify_all()

    def reset(self) -> None:
        with self._cond:
            if self._count > 0:
                if self._state in (0, -2):
                    self._state = -1  # cleared by the last waiter to leave
            else:
                self._state = 0
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self._break()

    def _break(self) -> None:
        self._state = -2
        self._cond.notify_all()

    @property
    def parties(self) -> int:
        return self._parties

    @property
    def n_waiting(self) -> int:
        return self._count if self._state == 0 else 0

    @property
    def broken(self) -> bool:
        return self._state == -2

    def __repr__(self) -> str:
        if self.broken:
            return "<managed Barrier broken>"
        return f"<managed Barrier waiters={self.n_waiting}/{self.parties}>"
