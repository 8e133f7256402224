"""Threads with bounded waits: the only place the kit runs the implementation's code.

Every call into the implementation runs on a daemon thread and is waited for with a
bound, so a deadlocked implementation costs one bound per test and the session goes
on. When a bound runs out, the report names each stuck thread, the lines it waits
on, and the queue's observable state. Threads left behind are interrupted where
Python allows it (a spinning loop stops; a thread blocked on a lock stays blocked,
as a daemon, and never keeps the process alive).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterable
from queue import SimpleQueue
from typing import Any

from prodcon import one_core
from prodcon.errors import kit_file
from prodcon.settings import CALL_BOUND, STALL_BOUND, Settings
from prodcon.verdict import Stuck

POLL = 0.01
#: How late a poll may come back and still count in full (see `Watch`).
LATE = 0.1
#: A bound measured by `Watch` ends after this many times its length in wall time, at
#: the latest, however starved the machine: every wait of the kit stays bounded.
_STARVED = 4


class Watch:
    """How long a wait has lasted, counting only time this process was given to run.

    The kit polls every `POLL` seconds while it waits for the implementation. On a
    machine running more than it has cores for (CI's parallel workers, a class graded
    several at a time), the kit's threads and the implementation's are all kept off the
    CPU now and then, for whole seconds: that time is no evidence of a hang, and a
    correct queue must never be called stuck for it. A poll that comes back late counts
    as one poll and `LATE` of slack, never more; a hang on an idle machine is timed
    exactly as before, and on a starved one within `_STARVED` times its bound.
    """

    def __init__(self, bound: float) -> None:
        self.bound = bound
        self.start = self.last = time.monotonic()
        self.counted = 0.0

    def tick(self) -> bool:
        """Count the time since the last tick; True once the bound has passed."""
        now = time.monotonic()
        self.counted += min(now - self.last, POLL + LATE)
        self.last = now
        return self.counted > self.bound or now - self.start > _STARVED * self.bound

    def restart(self) -> None:
        self.start = self.last = time.monotonic()
        self.counted = 0.0


class Abandoned(BaseException):
    """Raised inside a thread the kit has given up on, to stop it if it still runs code."""


class Worker:
    """One call on a thread (a scenario's thread, or a pooled `_Caller`); keeps what its
    target returned or raised."""

    def __init__(self, name: str, target: Callable, args: tuple,
                 thread: threading.Thread | None = None) -> None:
        self.name = name
        self.result: Any = None
        self.error: BaseException | None = None
        self.error_trace = ""
        self.ended: int | None = None  # perf_counter_ns when the target returned
        self.done = threading.Event()
        self._target = target
        self._args = args
        # a thread of its own, or a `_Caller`'s (which runs `_run` when handed this worker)
        self.thread = thread if thread is not None else threading.Thread(
            target=self._run, name=f"prodcon-{name}", daemon=True)

    def _run(self) -> None:
        try:
            self.result = self._target(*self._args)
        except Abandoned:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported by the scenario
            self.error = exc
            self.error_trace = _user_trace(exc)
        finally:
            self.ended = time.perf_counter_ns()
            self.done.set()

    @property
    def alive(self) -> bool:
        return not self.done.is_set()


class Crew:
    """The threads of one test, with waits bounded by progress.

    `progress` is a counter that moves whenever work gets done (the history's);
    a wait fails only when it stops moving for the stall bound, so a slow
    implementation is given all the time it needs as long as it gets somewhere.
    The counter is bounded (distinct items moved), so a livelock stalls it too.
    `state` describes the queue for hang reports.
    """

    def __init__(
        self,
        settings: Settings,
        progress: Callable[[], int] = lambda: 0,
        state: Callable[[], str] = lambda: "",
        doing: Callable[[str], str] = lambda name: "",
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.state = state
        self.doing = doing
        self.workers: list[Worker] = []

    def start(self, name: str, target: Callable, *args: Any) -> Worker:
        worker = Worker(name, target, args)
        self.workers.append(worker)
        worker.thread.start()
        return worker

    def wait(
        self,
        workers: Iterable[Worker],
        what: str,
        prop: str = "deadlock",
        stall: float = STALL_BOUND,
    ) -> None:
        """Wait until every worker has finished, or raise `Stuck` naming the stuck ones.

        No early exit when every consumer is gone and the rest can only wait: it would
        speed up only runs that fail anyway, and every stall must mean the same bound.
        """
        workers = list(workers)
        stall_bound = self.settings.bound(stall)
        stalled = Watch(stall_bound)
        last = None
        while True:
            alive = [w for w in workers if w.alive]
            if not alive:
                return
            alive[0].done.wait(POLL)
            over = stalled.tick()
            mark = (self.progress(), sum(w.alive for w in workers))
            if mark != last:
                last = mark
                stalled.restart()
            elif over:
                raise self._stuck(
                    prop, f"no progress for {stall_bound:.1f} s while {what}", workers
                )

    def _stuck(self, prop: str, headline: str, workers: list[Worker]) -> Stuck:
        alive = [w for w in workers if w.alive]
        lines = [f"{headline}; {len(alive)} thread(s) stuck:"]
        for worker in alive:
            doing = self.doing(worker.name)
            lines.append(f"  {worker.name}{': ' + doing if doing else ''}")
            lines.extend(f"      {frame}" for frame in where(worker.thread))
        state = self.state()
        if state:
            lines.append(f"queue state: {state}")
        self.abandon()
        return Stuck(prop, "\n".join(lines))

    def abandon(self) -> None:
        """Stop what can be stopped of the threads still running."""
        for worker in self.workers:
            if worker.alive:
                interrupt(worker.thread)


def call(
    settings: Settings,
    fn: Callable,
    *args: Any,
    bound: float = CALL_BOUND,
    prop: str = "deadlock",
    what: str | None = None,
    state: Callable[[], str] = lambda: "",
    running: Callable[[threading.Thread], bool | None] | None = None,
    **kwargs: Any,
) -> Any:
    """Call `fn(*args, **kwargs)` in a daemon thread; return or raise what it did.

    `bound` is in unscaled seconds. If the call has not returned by then, raise
    `Stuck(prop)` naming the call and where it waits.

    The thread is a `_Caller` kept from an earlier call when one is idle: starting a
    thread costs 82 us of CPU, handing a call to a waiting one 11 (3.11, 2 cores).
    The sequential model makes thousands of calls one at a time, and a failing
    example it shrinks tens of thousands (204,000 for `duplicates_sometimes`, 35 s).
    A caller goes back to the pool only when its call came back within the bound: one
    that was judged stuck stays with its call for good, even if the call returns while
    the report is written, since it has been interrupted (`Abandoned` may still be
    pending in it) and, in a sandbox, its lane's twin may still be running the call.
    """
    caller = _Caller.take()
    caller.keep_with_me()
    pending = Pending(fn, args, kwargs, caller)
    try:
        value = pending.result(settings, bound, prop, what, state, running)
    except Stuck:
        raise
    except BaseException:
        caller.give_back()  # the call itself raised: it came back, the thread is free
        raise
    caller.give_back()
    return value


class _Caller:
    """A daemon thread that runs the kit's one-at-a-time calls, one after another.

    Idle callers wait in a pool; a call takes one (or starts a new one), so calls
    made at once from several threads each get a thread of their own, as before.
    The pool is the process's, not a session's: it holds threads, no test's state.
    """

    _idle: list[_Caller] = []
    _pool_lock = threading.Lock()

    def __init__(self) -> None:
        self._jobs: SimpleQueue[Worker] = SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="prodcon-call", daemon=True)
        self.core = one_core.kept()  # a thread starts on its starter's cores
        self.thread.start()

    @classmethod
    def take(cls) -> _Caller:
        with cls._pool_lock:
            if cls._idle:
                return cls._idle.pop()
        return cls()

    def keep_with_me(self) -> None:
        """On the core the calling thread is kept on, if any (one_core.py): the call
        and its answer then change hands on one core. A pooled caller may come from a
        test kept on another core, or from none."""
        core = one_core.kept()
        if core != self.core:
            one_core.follow(self.thread, core)
            self.core = core

    def give_back(self) -> None:
        with self._pool_lock:
            self._idle.append(self)

    def run(self, worker: Worker) -> None:
        self.thread.name = f"prodcon-{worker.name}"  # what a thread of its own was called
        self._jobs.put(worker)

    def _serve(self) -> None:
        while True:
            try:
                self._jobs.get()._run()
            except Abandoned:  # an interrupt that came after its call: never handed
                return          # another (see `call`), this thread has no more to do

    @classmethod
    def _forget_all(cls) -> None:
        """In a forked child the idle callers' threads do not exist."""
        cls._idle = []
        cls._pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_Caller._forget_all)


class Pending:
    """A call started in the background; the test watches whether it returns."""

    def __init__(self, fn: Callable, args: tuple = (), kwargs: dict | None = None,
                 caller: _Caller | None = None) -> None:
        target = functools.partial(fn, **kwargs) if kwargs else fn
        name = getattr(fn, "__name__", "call")
        self.worker = Worker(name, target, tuple(args), caller.thread if caller else None)
        self.started = time.perf_counter_ns()
        if caller is None:
            self.worker.thread.start()
        else:
            caller.run(self.worker)

    @property
    def finished(self) -> bool:
        return not self.worker.alive

    @property
    def elapsed(self) -> float:
        """Seconds from the start to the end of the call (to now while it runs).

        Frozen at the end: read later, by a kit thread the machine kept waiting, it
        would otherwise say the call took that long too.
        """
        end = self.worker.ended or time.perf_counter_ns()
        return (end - self.started) / 1e9

    def wait(self, seconds: float) -> bool:
        return self.worker.done.wait(seconds)

    def result(
        self,
        settings: Settings,
        bound: float = CALL_BOUND,
        prop: str = "deadlock",
        what: str | None = None,
        state: Callable[[], str] = lambda: "",
        running: Callable[[threading.Thread], bool | None] | None = None,
    ) -> Any:
        """The call's return value (or its exception, re-raised), within `bound` seconds.

        `running(thread)`, where the call runs in another process (a sandbox), says
        whether that process is still inside the call for `thread`: when it is not (it
        returned, and its answer has yet to arrive; or it has yet to start), the call is
        given its bound once more before it is called stuck, since the wait was the
        machine's, not the implementation's."""
        limit = settings.bound(bound)
        if not self._returned_within(limit) and not (
                running is not None and running(self.worker.thread) is False
                and self._returned_within(2 * limit)):
            label = what or f"{self.worker.name}()"
            lines = [f"{label} had not returned after {self.elapsed:.1f} s; it waits at:"]
            lines.extend(f"    {frame}" for frame in where(self.worker.thread))
            described = state()
            if described:
                lines.append(f"queue state: {described}")
            interrupt(self.worker.thread)
            raise Stuck(prop, "\n".join(lines))
        if self.worker.error is not None:
            raise self.worker.error
        return self.worker.result

    def _returned_within(self, limit: float) -> bool:
        """Whether the call returns within `limit` seconds from its start, counted as
        `Watch` counts them (a call that returns at once costs one wait)."""
        done = self.worker.done
        watch = Watch(max(0.0, limit - self.elapsed))
        while not done.wait(POLL):
            if watch.tick():
                return done.is_set()
        return True


def where(thread: threading.Thread, limit: int = 4) -> list[str]:
    """The innermost frames of `thread` outside the kit: 'file:line in func: code'."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return ["(thread has finished)"]
    frames = [f for f in traceback.extract_stack(frame)
              if not kit_file(f.filename) and not _thread_start(f)]
    return [_frame_line(f) for f in frames[-limit:]] or ["(only kit frames)"]


def _thread_start(frame: traceback.FrameSummary) -> bool:
    """threading's own frames under every thread's target: never where it is stuck."""
    return frame.filename == threading.__file__ and frame.name in (
        "_bootstrap", "_bootstrap_inner", "run")


def _frame_line(frame: traceback.FrameSummary) -> str:
    return f"{_short_path(frame.filename)}:{frame.lineno} in {frame.name}: {frame.line or ''}"


def _short_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except (ValueError, OSError):  # another drive; or the working directory is gone
        return path
    return rel if not rel.startswith("..") else path


def _user_trace(exc: BaseException) -> str:
    remote = getattr(exc, "remote_traceback", "")  # raised in a sandboxed submission
    if remote:
        return "\n".join(line for line in remote.strip().splitlines()[-6:])
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not kit_file(f.filename)]
    return "\n".join(_frame_line(f) for f in frames[-3:])


def interrupt(thread: threading.Thread) -> None:
    """Raise `Abandoned` in `thread` the next time it runs Python code.

    This stops a thread left spinning (a busy-wait that will never succeed), which
    would otherwise steal the GIL from every later test. Skipped on CPython 3.11
    under a tracer (coverage's C tracer, a debugger): there, and only there, a pending
    asynchronous exception in one thread makes a traced thread spin forever in the
    interpreter's pending-call check (tried on 3.10, 3.11, 3.12 and 3.13, each under
    sys.settrace and, from 3.12, sys.monitoring). Skipping it everywhere under
    coverage left the zoo's spinning producers running to the end of their kit
    process: the coverage run spent twice the CPU of a bare one on the broken zoo.
    """
    if thread.ident is None or not thread.is_alive() or _spins_when_traced():
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(Abandoned)
    )
    _interrupted.add(thread)


_interrupted: weakref.WeakSet = weakref.WeakSet()


def withdraw_interrupts() -> None:
    """Take back the interrupts still pending in threads blocked for good in a lock.

    A thread that never runs Python code again keeps its interrupt pending, and with
    it the interpreter's "an exception is pending somewhere" flag, which only the
    thread that takes an exception clears. On CPython 3.11 that flag makes any
    thread traced later spin for ever (a controlled run traces its threads; seen
    after a deadlocked stress test). So the pending ones are withdrawn, and a thread
    of ours takes one exception, which clears the flag.
    """
    if not _interrupted:
        return
    for thread in list(_interrupted):
        if thread.is_alive() and thread.ident is not None:
            # NULL withdraws the thread's pending exception (the flag stays set)
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), None)
    _interrupted.clear()
    stop = threading.Event()

    def absorb() -> None:
        try:
            while not stop.is_set():
                for _ in range(1000):  # Python code: where a pending exception lands
                    pass
        except Abandoned:
            pass

    sponge = threading.Thread(target=absorb, name="prodcon-interrupt-sponge", daemon=True)
    sponge.start()
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(sponge.ident),
                                               ctypes.py_object(Abandoned))
    sponge.join(CALL_BOUND)
    stop.set()


def _spins_when_traced() -> bool:
    """CPython 3.11 with a trace function set: see `interrupt`."""
    return sys.version_info[:2] == (3, 11) and sys.gettrace() is not None


def probe_state(settings: Settings, queue: Any) -> str:
    """The queue's observable state, read without risking a hang."""
    parts = []
    try:
        size = call(settings, queue.qsize, bound=0.5)
        parts.append(f"qsize()={size}")
    except Stuck:
        parts.append("qsize() did not answer within 0.5 s (its lock is held by a stuck thread?)")
    except Exception as exc:  # noqa: BLE001
        parts.append(f"qsize() raised {type(exc).__name__}")
    unfinished = getattr(queue, "unfinished_tasks", None)
    if isinstance(unfinished, int):
        parts.append(f"unfinished_tasks={unfinished}")
    maxsize = getattr(queue, "maxsize", None)
    if isinstance(maxsize, int):
        parts.append(f"maxsize={maxsize}")
    return ", ".join(parts)
