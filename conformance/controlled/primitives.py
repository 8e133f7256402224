"""Managed threading and time: CPython's semantics, with every wait a scheduler decision.

The implementation under test sees these instead of `threading` and `time`. They
keep the exact contract of the real ones (the same RuntimeErrors, RLock counts,
notify(n) waking exactly n waiters in the order they waited) because a managed
primitive that is kinder than the real one hides exactly the bugs we look for:
a notify that woke everybody would never show a lost wake-up.

Outside a controlled run (module import, the final check in the test thread)
they act as plain uncontended primitives and refuse to block, since nothing
could ever wake them.
"""

from __future__ import annotations

import threading as _real
import time as _time

from prodcon.controlled.scheduler import Task, current

TIMEOUT_MAX = _real.TIMEOUT_MAX
_EPOCH = 1_700_000_000.0  # virtual time.time() at virtual 0: a plausible wall clock
_OUTSIDE = object()  # the owner of a lock taken outside any run


def _me():
    sched, task = current()
    return sched, task if task is not None else _OUTSIDE


def _name(sched, task) -> str:
    return task.name if isinstance(task, Task) else "outside"


def _deadline(sched, timeout) -> float | None:
    """Lock.acquire's reading: None or -1 waits for ever."""
    if timeout is None or timeout < 0:
        return None
    return sched.clock + timeout


def _wait_deadline(sched, timeout) -> float | None:
    """Condition.wait's and Thread.join's reading: a negative timeout is no wait at all
    (CPython clamps it to 0), so it must not turn into waiting for ever."""
    return None if timeout is None else sched.clock + max(timeout, 0)


class OutsideRun(RuntimeError):
    """A wait or a thread start outside a controlled run, where nothing schedules it:
    the kit's limit (it builds each queue before its run starts), not a bug of the
    code that asked."""


def _outside_block(what: str):
    raise OutsideRun(f"{what} would block outside a controlled run; nothing could wake it")


def _check_acquire_args(blocking, timeout) -> None:
    if not blocking and timeout != -1:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0 and timeout != -1:
        raise ValueError("timeout value must be a non-negative number")


class Lock:
    """threading.Lock: any thread may release it, releasing it unlocked is an error."""

    _kind = "Lock"

    def __init__(self):
        self._owner = None
        self._waiters: list = []

    def _holder(self):
        return self._owner

    def _describe(self, sched) -> str:
        name = sched.name_of(self, self._kind)
        return f"{name} held by {_name(sched, self._owner)}" if self._owner else f"{name} (free)"

    def locked(self) -> bool:
        return self._owner is not None

    def _free_for(self, task) -> bool:
        return self._owner is None

    def _take(self, task) -> None:
        self._owner = task

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        _check_acquire_args(blocking, timeout)
        sched, me = _me()
        if sched is None:
            if self._free_for(me):
                self._take(me)
                return True
            if not blocking:
                return False
            _outside_block(f"acquire of a held {self._kind}")
        name = sched.name_of(self, self._kind)
        sched.switch(me, f"acquire {name}")
        return self._acquire_blocking(sched, me, blocking, timeout)

    def _acquire_blocking(self, sched, me, blocking, timeout) -> bool:
        deadline = _deadline(sched, timeout)
        waited = False
        while not self._free_for(me):
            if not blocking or (deadline is not None and sched.clock >= deadline):
                sched.note(me, f"acquire {sched.name_of(self, self._kind)} failed")
                return False
            waited = True
            if not sched.block(me, "acquire", self, self._waiters, deadline):
                if not self._free_for(me):
                    sched.note(me, f"acquire {sched.name_of(self, self._kind)} timed out")
                    return False
        self._take(me)
        if waited:
            sched.note(me, f"got {sched.name_of(self, self._kind)}")
        return True

    def release(self) -> None:
        sched, me = _me()
        if self._owner is None:
            raise RuntimeError("release unlocked lock")
        self._drop(sched, me)

    def _drop(self, sched, me) -> None:
        self._owner = None
        if sched is not None:
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

    def release(self) -> None:
        sched, me = _me()
        if self._owner is not me:
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if self._count == 0:
            self._drop(sched, me)

    def _is_owned(self) -> bool:
        return self._owner is _me()[1]

    def _release_save(self):
        sched, me = _me()
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
        sched, me = _me()
        if sched is None:
            _outside_block("Condition.wait")
        sched.switch(me, f"wait {sched.name_of(self, 'Condition')}")
        saved = self._lock._release_save()
        try:
            return sched.block(me, "wait on", self, self._waiters,
                               _wait_deadline(sched, timeout))
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
        sched, me = _me()
        woken = self._waiters[:n]
        del self._waiters[:n]
        if sched is None:
            return
        for task in woken:
            sched.wake(task)
        who = ", ".join(t.name for t in woken) or "nobody"
        sched.switch(me, f"notify {sched.name_of(self, 'Condition')} -> woke {who}")

    def notify_all(self) -> None:
        self.notify(len(self._waiters))

    notifyAll = notify_all

    def __repr__(self) -> str:
        return f"<managed Condition({self._lock!r}, {len(self._waiters)} waiting)>"


class Semaphore:
    """threading.Semaphore, written as CPython writes it, on the managed Condition."""

    def __init__(self, value: int = 1):
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._cond = Condition(Lock())
        self._value = value

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
        return rc

    __enter__ = acquire

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        with self._cond:
            self._value += n
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
            self._cond.notify(n)


class Event:
    def __init__(self):
        self._cond = Condition(Lock())
        self._flag = False

    def is_set(self) -> bool:
        return self._flag

    isSet = is_set

    def set(self) -> None:
        with self._cond:
            self._flag = True
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        with self._cond:
            signaled = self._flag
            if not signaled:
                signaled = self._cond.wait(timeout)
            return signaled


class Thread:
    """threading.Thread, started as a managed task of the running scheduler."""

    def __init__(self, group=None, target=None, name=None, args=(), kwargs=None, *,
                 daemon=None):
        self._target, self._args, self._kwargs = target, args, kwargs or {}
        self._name = name
        self._daemonic = bool(daemon)
        self._task: Task | None = None

    @classmethod
    def _for_task(cls, task: Task) -> Thread:
        handle = cls(name=task.name)
        handle._task = task
        return handle

    def run(self) -> None:
        if self._target is not None:
            self._target(*self._args, **self._kwargs)

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("threads can only be started once")
        sched, me = _me()
        if sched is None:
            raise OutsideRun("a managed Thread can only start inside a controlled run")
        name = self._name or f"T{len(sched.tasks)}"
        self._name = name
        self._task = sched.spawn(self.run, name)
        self._task.handle = self
        sched.switch(me, f"start {name}")

    def join(self, timeout: float | None = None) -> None:
        if self._task is None:
            raise RuntimeError("cannot join thread before it is started")
        sched, me = _me()
        if self._task is me:
            raise RuntimeError("cannot join current thread")
        if sched is None:
            if self._task.state != "done":
                _outside_block("Thread.join")
            return
        sched.switch(me, f"join {self._name}")
        if self._task.state != "done":
            sched.block(me, "join", self, self._task.joiners, _wait_deadline(sched, timeout))

    def _holder(self):
        return None

    def _describe(self, sched) -> str:
        return f"{self._name} ({self._task.state if self._task else 'not started'})"

    def is_alive(self) -> bool:
        return self._task is not None and self._task.state != "done"

    @property
    def name(self) -> str:
        return self._name or "Thread"

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def daemon(self) -> bool:
        return self._daemonic

    @daemon.setter
    def daemon(self, value: bool) -> None:
        if self._task is not None:
            raise RuntimeError("cannot set daemon status of active thread")
        self._daemonic = bool(value)

    @property
    def ident(self) -> int | None:
        return None if self._task is None else self._task.index + 1

    native_id = ident

    def __repr__(self) -> str:
        return f"<managed Thread({self.name})>"


def current_thread():
    sched, task = current()
    return task.handle if task is not None else _real.current_thread()


currentThread = current_thread


def get_ident() -> int:
    sched, task = current()
    return task.index + 1 if task is not None else _real.get_ident()


# -- the virtual clock --------------------------------------------------------

def monotonic() -> float:
    sched, task = current()
    return sched.clock if sched is not None else 0.0


def sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    sched, me = current()
    if sched is None:
        return
    sched.switch(me, f"sleep({seconds:g})")
    if seconds > 0:
        sched.block(me, "sleep", None, None, sched.clock + seconds)


def time() -> float:
    return _EPOCH + monotonic()


def monotonic_ns() -> int:
    return int(monotonic() * 1e9)


def time_ns() -> int:
    return int(time() * 1e9)


perf_counter = monotonic
perf_counter_ns = monotonic_ns
_real_time = _time


# -- Barrier and Timer, written as CPython writes them ------------------------

BrokenBarrierError = _real.BrokenBarrierError  # the real class, so `except` clauses match


class Barrier:
    """threading.Barrier: CPython's state machine on the managed Condition and Lock.

    Follows Lib/threading.py step for step so that each wait and notify is a
    switch point where CPython has one, and a thread that wakes finds the barrier
    draining, resetting or broken in exactly the states a real run can show it.
    Outside a controlled run, a wait that would block raises like Condition.wait.
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


class Timer(Thread):
    """threading.Timer: the interval is a timed Event.wait, so it passes on the virtual
    clock (a 100 s timer costs no real time) and may fire at any point after it."""

    def __init__(self, interval, function, args=None, kwargs=None):
        super().__init__()
        self.interval = interval
        self.function = function
        self.args = args if args is not None else []
        self.kwargs = kwargs if kwargs is not None else {}
        self.finished = Event()

    def cancel(self) -> None:
        self.finished.set()

    def run(self) -> None:
        self.finished.wait(self.interval)
        if not self.finished.is_set():
            self.function(*self.args, **self.kwargs)
        self.finished.set()
