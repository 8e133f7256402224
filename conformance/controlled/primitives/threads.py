"""threading.Thread and Timer as managed tasks of the running scheduler, and the
calls that name the running thread (current_thread, get_ident).

The scheduler knows a task, not its Thread: the handle lives in the task's
`handle` slot, set by Thread.start for the threads the implementation starts,
and made on first use by current_thread() for the bodies a run starts itself.
"""

from __future__ import annotations

import threading as _real

from prodcon.controlled.dependence import ACQUIRE, READ
from prodcon.controlled.primitives.caller import OutsideRun, caller, refuse_outside, wait_deadline
from prodcon.controlled.primitives.event import Event
from prodcon.controlled.scheduler import Task, current


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
        sched, me = caller()
        if sched is None:
            raise OutsideRun("a managed Thread can only start inside a controlled run")
        name = self._name or f"T{len(sched.tasks)}"
        self._name = name
        self._task = sched.spawn(self.run, name)
        self._task.handle = self  # before the new task's first turn, which comes below
        sched.switch(me, f"start {name}")

    def join(self, timeout: float | None = None) -> None:
        if self._task is None:
            raise RuntimeError("cannot join thread before it is started")
        sched, me = caller()
        if self._task is me:
            raise RuntimeError("cannot join current thread")
        if sched is None:
            if self._task.state != "done":
                refuse_outside("Thread.join")
            return
        if timeout is None:
            # Waiting for ever: not offered to the strategy until the thread has ended
            # (as a lock's waiter is not until the lock is free)
            me.wants, me.waiting_since = self, sched.clock
            if not self._free_for(me):
                sched.changed()
            try:
                sched.switch(me, f"join {self._name}")
            finally:
                me.wants = None
            sched.touch(("task", self._task.index), ACQUIRE)
            return
        sched.switch(me, f"join {self._name}")
        sched.touch(("task", self._task.index), READ)
        if self._task.state != "done":
            sched.block(me, "join", self, self._task.joiners, wait_deadline(sched, timeout))

    _verb = "join"

    def _key(self):
        """What its start, its end and a join touch (dependence.py)."""
        return ("task", self._task.index)

    def _free_for(self, task) -> bool:
        """Whether a join for ever can return now (the scheduler's `wants`)."""
        return self._task.state == "done"

    def _holder(self):
        return None

    def _describe(self, sched) -> str:
        return f"{self._name} ({self._task.state if self._task else 'not started'})"

    def is_alive(self) -> bool:
        if self._task is not None:
            sched = current()[0]
            if sched is not None:
                sched.touch(("task", self._task.index), READ)
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
    if task is None:
        return _real.current_thread()
    if task.handle is None:  # a body the run started itself: its handle, made once
        task.handle = Thread._for_task(task)
    return task.handle


currentThread = current_thread


def get_ident() -> int:
    sched, task = current()
    return task.index + 1 if task is not None else _real.get_ident()


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
