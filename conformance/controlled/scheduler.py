"""One thread at a time: the scheduler that owns the interleaving.

Every managed thread is a real OS thread, but it runs only while it holds the
baton: at each switch point the running thread asks the strategy who goes next,
releases that thread's private gate and parks on its own. No thread ever spins,
and the order of everything a scenario does is a pure function of the strategy's
choices, which is what makes a failing schedule replayable from its choices.

Time is virtual: it stands still while any thread can run and jumps to the
earliest deadline only when none can, so a timeout costs no real time and a
state where nothing can run and nothing is due is a deadlock, exactly.
"""

from __future__ import annotations

import threading as _real
import traceback
from dataclasses import dataclass, field
from typing import Literal, get_args

from prodcon import one_core
from prodcon.controlled.dependence import CLOCK, RELEASE, WRITE
from prodcon.controlled.lines import LineSwitches
from prodcon.controlled.trace import Trace
from prodcon.errors import KitError, SchedulerError

#: A task's state. Plain strings, named once here: a trace shows them as they are.
TaskState = Literal["runnable", "blocked", "done"]
RUNNABLE, BLOCKED, DONE = get_args(TaskState)
FindingKind = Literal["exception", "deadlock", "step-limit", "check"]

_local = _real.local()


class _Abort(BaseException):
    """Raised inside a parked thread to unwind it once its run is over.

    A BaseException so that `except Exception` in the implementation cannot swallow it.
    """


@dataclass
class Finding:
    """What a run found: a task's exception, a deadlock, the step limit (a livelock, or
    a run too long to judge), or a failed check of the run's end state."""

    kind: FindingKind
    thread: str | None
    text: str

    def __post_init__(self) -> None:
        if self.kind not in get_args(FindingKind):
            raise ValueError(f"finding kind {self.kind!r} is not one of "
                             f"{', '.join(get_args(FindingKind))}")

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


@dataclass
class Task:
    index: int
    name: str
    body: object
    state: TaskState = RUNNABLE
    verb: str = ""
    blocked_on: object = None
    waitlist: list | None = None
    deadline: float | None = None
    waiting_since: float = 0.0  # the virtual time its current wait began
    timed_out: bool = False
    joiners: list = field(default_factory=list)
    handle: object = None  # the primitives' Thread object for current_thread(); set by them
    gate: object = field(default_factory=_real.Lock)
    finished: object = field(default_factory=_real.Event)
    real: object = None
    # what the task's next step starts with (dependence.py): the instruction or line it
    # stopped before, or its first step's start; read and cleared by a systematic search
    pending: tuple = ()
    # the lock (managed, untimed acquire) the task stopped before taking, or the thread
    # it joins for ever: until `wants._free_for(task)`, the task is not offered
    wants: object = None


def current() -> tuple[Scheduler | None, Task | None]:
    """The scheduler and task of the calling thread; (None, None) outside a run."""
    return getattr(_local, "scheduler", None), getattr(_local, "task", None)


@dataclass
class RunResult:
    findings: list
    trace: Trace
    schedule: list
    clock: float
    steps: int


class Scheduler:
    """Runs one scenario under one strategy; build a new one for every run."""

    def __init__(self, strategy, line_files=(), max_steps: int = 200_000,
                 safety: float = 30.0, granularity: str = "line", observer=None,
                 run_on: bool = False):
        if granularity not in ("line", "opcode", "access"):
            raise ValueError("granularity is 'line', 'opcode' or 'access'")
        self.strategy = strategy
        self.line_files = frozenset(line_files)
        self.opcodes = granularity != "line"
        # "access": only the opcodes that touch what another thread may (dependence.py)
        self.shared_only = granularity == "access"
        self.max_steps = max_steps
        self.safety = safety
        # observer(scheduler, task, frame, line) at each line a managed thread starts in
        # line_files (lockset.py's, on the one replay of a failure); None costs nothing
        self.observer = observer
        # after a thread raises, the others run on until the run ends (lockset.py watches
        # what they go on to do); the run's first finding stays its finding
        self.run_on = run_on
        self.tasks: list[Task] = []
        self.clock = 0.0
        self.steps = 0
        self.schedule: list[int] = []
        self.trace = Trace()
        self._record = self.trace.pending.extend  # bound once: called at every switch point
        self.findings: list[Finding] = []
        self._names: dict[int, tuple[object, str]] = {}
        self._counts: dict[str, int] = {}
        self._clock_listeners: list = []
        self._over = _real.Event()
        self._aborting = False
        self._internal: BaseException | None = None
        # who can run, kept from one switch point to the next: (the options, the due
        # task, the one task to run without asking the strategy, if any), None once a
        # task's state changes (spawn, block, wake, finish, stop)
        self._options: tuple[list[int], Task | None, Task | None] | None = None
        # a strategy that makes no choice of a single option is not asked for one
        self._asks_single = not getattr(strategy, "single_is_free", False)
        # a systematic search is told what each step touches (dependence.py); for any
        # other strategy `touch` costs a call that returns
        self._on_touch = getattr(strategy, "touched", None)
        self._woke = getattr(strategy, "woke", None)
        if self._on_touch is not None:
            if granularity == "line":
                # a line's touches are all put on the step that starts it, though a
                # switch point inside the line (a lock taken) ends that step early
                raise ValueError("a systematic search needs opcode switch points "
                                 "(granularity 'opcode' or 'access')")
            strategy.attach(self)
        self._core: int | None = None  # the one core of the run's threads (one_core.py)

    # -- naming and recording ------------------------------------------------

    def name_of(self, obj, kind: str) -> str:
        """A per-run name (Lock#1, Condition#2, ...) in order of first use: ids differ
        between runs, first-use order under the same schedule does not. Not the
        implementation's attribute names: a primitive may have none (a local, a list's
        element) or several, and the trace shows where each one is first used."""
        entry = self._names.get(id(obj))
        if entry is None:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            entry = (obj, f"{kind}#{self._counts[kind]}")
            self._names[id(obj)] = entry
        return entry[1]

    def held_by(self, task: Task) -> list[str]:
        """The names of the locks (Lock, RLock, a Condition's lock) `task` holds now,
        in the order they were first used: every lock a run takes is named when taken."""
        return [name for obj, name in self._names.values()
                if getattr(obj, "_holder", None) is not None and obj._holder() is task]

    def note(self, task: Task, text: str, mark: bool = False) -> None:
        if self._aborting:  # the run is over; unwinding is not part of its story
            return
        self._record((task, text, self.clock, mark))

    def changed(self) -> None:
        """A lock or a semaphore was taken or given back, or a task that waits for ever
        on one began to: who can run may have changed."""
        self._options = None

    def touch(self, key, mode: str) -> None:
        """The running task's step touched `key` (reading, writing...: dependence.py's
        modes): what a systematic search needs to know which steps commute."""
        if self._on_touch is not None and not self._aborting:
            self._on_touch(key, mode)

    def listen_to_clock(self, listener) -> None:
        """Call `listener(old, new, fired, forced)` before the clock moves from `old` to
        `new` firing the timeout of the task `fired` (still blocked, its deadline set);
        `forced`: no thread could run instead. When nothing can run and nothing is due
        (a deadlock), `new` and `fired` are None. What a timed call's lateness is judged
        by (`deadlines.py`): the scheduler keeps no account of its own."""
        self._clock_listeners.append(listener)

    # -- the run -------------------------------------------------------------

    def run(self, bodies, names=None) -> RunResult:
        if self.tasks:
            raise RuntimeError("a Scheduler runs once; build a new one for the next run")
        if not bodies:
            raise ValueError("a run needs at least one thread body")
        observe = self._line_observed if self.observer is not None else None
        touching = self._on_touch is not None
        self._lines = LineSwitches(self.line_files, self.opcodes,
                                   self._line_switch_touching if touching else self._line_switch,
                                   observe, touch=self.touch if touching else None,
                                   shared_only=self.shared_only)
        self._core = one_core.current_core()
        try:
            self._lines.start()
            for i, body in enumerate(bodies):
                self.spawn(body, names[i] if names else f"T{i}")
            self.trace.names = [t.name for t in self.tasks]
            first = self._choose(None)
            first.gate.release()
            last = -1
            while not self._over.wait(self.safety):
                if self.steps == last:
                    self._internal = SchedulerError(
                        f"no switch point for {self.safety:g} s: a thread is blocked on something "
                        "the scheduler does not manage (a real lock, I/O, a C extension)")
                    break
                last = self.steps
            self._abort_all()
            if self._internal is not None:
                raise self._internal
        finally:
            self._lines.stop()  # a monitoring tool id is process-wide: free it whatever happened
        return RunResult(self.findings, self.trace, list(self.schedule), self.clock, self.steps)

    def spawn(self, body, name: str) -> Task:
        """A new task, runnable, waiting for its turn: a body of the run, or a managed
        Thread.start()."""
        task = Task(len(self.tasks), name, body)
        # starting a thread happens before its first step: both touch the thread
        task.pending = ((("task", task.index), WRITE),)
        self.touch(("task", task.index), WRITE)
        if self._woke is not None and self.tasks:  # a thread started by another one
            self._woke(task.index)
        task.gate.acquire()
        self.tasks.append(task)
        self._options = None
        task.real = _real.Thread(target=self._thread_main, args=(task,),
                                 name=f"prodcon-controlled-{name}", daemon=True)
        task.real.start()
        return task

    def _thread_main(self, task: Task) -> None:
        _local.scheduler, _local.task = self, task
        one_core.keep_on(self._core)
        try:
            self._wait_turn(task)
            self._lines.enter_thread()
            task.body()
        except _Abort:
            pass
        except (SchedulerError, KitError) as exc:  # the run cannot go on: not a finding
            self._internal = exc
            self._over.set()
        except BaseException as exc:  # noqa: BLE001 - every failure is a finding
            self._lines.leave_thread()
            if self._aborting:  # unwinding after the run ended: not a finding of this run
                self._finish(task)
                return
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.note(task, f"raised {text}", mark=True)
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.findings.append(Finding("exception", task.name, f"{task.name}: {tb}"))
            if self.run_on:
                self._finish(task)
                return
            self._stop_others(task)
            return
        finally:
            self._lines.leave_thread()
            _local.scheduler = _local.task = None
        self._finish(task)

    def _finish(self, task: Task) -> None:
        """The thread ended: wake its joiners and hand the baton on. A failure here is
        the scheduler's own, so it ends the run as the kit's failure."""
        try:
            task.state = DONE
            self._options = None
            self.touch(("task", task.index), RELEASE)  # a join that waited may go on
            for joiner in task.joiners:
                self.wake(joiner)
            task.joiners.clear()
            if self._aborting:
                task.finished.set()
                return
            self.note(task, "ends")
            nxt = self._choose(None)
            task.finished.set()
            if nxt is None:
                if any(t.state != DONE for t in self.tasks):
                    self._record_deadlock(task)
                self._over.set()
            else:
                nxt.gate.release()
        except Exception as exc:
            self._internal = self._internal or KitError.caught(
                "handing on the turn of a thread that ended", exc)
            task.finished.set()
            self._over.set()

    def _stop_others(self, task: Task) -> None:
        """After a finding, the run is over: let the parked threads unwind."""
        task.state = DONE
        self._options = None
        task.finished.set()
        self._over.set()

    def _abort_all(self) -> None:
        self._aborting = True
        for task in self.tasks:
            if task.finished.is_set():
                continue
            try:
                task.gate.release()
            except RuntimeError:  # never parked (it is the one that stopped the run)
                pass
            if not task.finished.wait(self.safety):
                self._internal = self._internal or SchedulerError(
                    f"{task.name} did not unwind within {self.safety:g} s")
        for task in self.tasks:
            task.real.join(self.safety)

    def _wait_turn(self, task: Task) -> None:
        if not task.gate.acquire(timeout=self.safety):
            raise SchedulerError(f"{task.name} waited {self.safety:g} s for its turn")
        if self._aborting:
            raise _Abort

    # -- choosing who runs ---------------------------------------------------

    def _choose(self, me: Task | None) -> Task | None:
        """Who runs next, or None when nothing can run and nothing is due (a deadlock).

        The earliest timed waiter is one of the options even while others could
        run: real time may pass during any step, so a timeout may fire at any
        point after its deadline is set, and code that mishandles a timeout racing
        a wake-up is found that way. Time then jumps to that deadline. When nobody
        else can run, the timeout is the only option.
        """
        known = self._options
        if known is None:
            known = self._options = self._options_now()
        options, due, alone = known
        if alone is not None:
            return alone
        if not options:
            return None
        current = me.index if me is not None and me.state == RUNNABLE and (
            me.wants is None or me.wants._free_for(me)) else None
        choice = self.strategy.choose(options, current, due.index if due else None)
        if len(options) > 1:
            self.schedule.append(choice)
        if due is not None and choice == due.index:
            self._time_out(due, forced=len(options) == 1)
        return self.tasks[choice]

    def _options_now(self) -> tuple[list[int], Task | None, Task | None]:
        """The runnable threads in index order, then the timed waiter of the earliest
        deadline (the lowest index among equal ones) if any; that waiter; and the only
        option when it is the strategy's answer, which then changes nothing."""
        options = []
        due = None
        for t in self.tasks:
            state = t.state
            if state == RUNNABLE:
                if t.wants is None or t.wants._free_for(t):
                    options.append(t.index)
            elif state == BLOCKED and t.deadline is not None and (
                    due is None or t.deadline < due.deadline):
                due = t
        if due is not None:
            options.append(due.index)
        alone = None
        if len(options) == 1 and due is None and not self._asks_single:
            alone = self.tasks[options[0]]
        return options, due, alone

    def _time_out(self, task: Task, forced: bool) -> None:
        new = max(self.clock, task.deadline)
        for listener in self._clock_listeners:
            listener(self.clock, new, task, forced)
        self.clock = new
        self.touch(CLOCK, WRITE)
        if task.blocked_on is not None:  # off the waiters' list: as a notify would
            self.touch(_key(task.blocked_on), WRITE)
        task.timed_out = True
        if task.waitlist is not None and task in task.waitlist:
            task.waitlist.remove(task)
        self.wake(task)
        self.note(task, f"times out at t={self.clock:g}")

    def _pass(self, me: Task) -> None:
        nxt = self._choose(me)
        if nxt is not me:
            self._hand_over(me, nxt)

    def _hand_over(self, me: Task, nxt: Task | None) -> None:
        """Let `nxt` run and park `me` until its turn comes again."""
        if nxt is None:  # me is blocked and nothing can ever wake it
            self._record_deadlock(me)
            self._over.set()
            self._wait_turn(me)  # raises _Abort
            raise SchedulerError("a deadlocked thread resumed")
        nxt.gate.release()
        self._wait_turn(me)

    def switch(self, task: Task, reason: str | int | None) -> None:
        """A switch point: the strategy may let another thread run before this one goes on.
        `reason` is the step's text, or for a line switch point the line's number
        (`Trace` makes it "line N" only if the trace is read).

        Called from the implementation's code (its locks, its lines): anything but
        the scheduler's own ways of ending a run raised here is the kit's failure,
        and must not pass for an exception of the implementation.
        """
        if self._aborting:
            return
        try:
            self.steps += 1
            self._record((task, reason, self.clock, False))  # note(), inlined: the hot path
            if self.steps > self.max_steps:
                self.findings.append(Finding(
                    "step-limit", task.name,
                    f"{self.max_steps} switch points without the scenario ending (a "
                    "livelock, or a spin loop that never yields)"))
                self.trace.mark_last()
                self._over.set()
                self._wait_turn(task)
            known = self._options
            if known is not None and known[2] is task:
                return  # the only thread that can run, and no choice to count: go on
            nxt = self._choose(task)  # _pass(), inlined: most switch points go on
            if nxt is not task:
                self._hand_over(task, nxt)
        except SchedulerError:
            raise
        except Exception as exc:
            raise KitError.caught("choosing the thread to run at a switch point", exc) from exc

    def block(self, task: Task, verb: str, obj, waitlist: list | None,
              deadline: float | None) -> bool:
        """Park until woken (True) or until the virtual clock reaches the deadline (False).

        Like `switch`, called from the implementation's code: a failure here is the kit's.
        """
        if self._aborting:
            raise _Abort
        try:
            task.state, task.verb, task.blocked_on = BLOCKED, verb, obj
            self._options = None
            task.waitlist, task.deadline, task.timed_out = waitlist, deadline, False
            task.waiting_since = self.clock
            if waitlist is not None:
                waitlist.append(task)
            if obj is not None:
                self.touch(_key(obj), WRITE)
            if obj is not None and verb != "wait on":
                self.note(task, f"blocked: {obj._describe(self)}")
            self._pass(task)
        except SchedulerError:
            raise
        except Exception as exc:
            raise KitError.caught("parking a thread that waits", exc) from exc
        task.verb, task.blocked_on = "", None
        return not task.timed_out

    def wake(self, task: Task) -> None:
        """A blocked task may run again (a release, a notify, a thread that ended, its
        timeout); one that is not blocked is left as it is."""
        if task.state == BLOCKED:
            task.state, task.deadline, task.waitlist = RUNNABLE, None, None
            self._options = None
            if self._woke is not None and not self._aborting:
                self._woke(task.index)

    # -- line switch points (lines.py: sys.monitoring on 3.12+, sys.settrace before) --

    def _line_switch(self, line) -> None:
        task = _local.task
        if task is not None:
            self.switch(task, line)  # the number: formatted only if the trace is shown

    def _line_switch_touching(self, line, touched) -> None:
        task = _local.task
        if task is not None:
            task.pending = touched
            self.switch(task, line)

    def _line_observed(self, frame, line) -> None:
        task = _local.task
        if task is not None and not self._aborting:
            self.observer(self, task, frame, line)

    # -- deadlock report -----------------------------------------------------

    def _record_deadlock(self, last: Task) -> None:
        for listener in self._clock_listeners:
            listener(self.clock, None, None, True)
        lines = ["no thread can run and no timeout is pending:"]
        for task in self.tasks:
            if task.state == BLOCKED:
                what = task.blocked_on._describe(self) if task.blocked_on is not None else ""
                lines.append(f"  {task.name} blocked in {task.verb} {what}".rstrip())
            elif task.state == RUNNABLE and task.wants is not None:  # not offered: held
                lines.append(f"  {task.name} blocked in {task.wants._verb} "
                             f"{task.wants._describe(self)}")
        held = [obj._describe(self) for obj, _ in self._names.values()
                if getattr(obj, "_holder", lambda: None)() is not None]
        if held:
            lines.append("  locks held: " + "; ".join(held))
        self.findings.append(Finding("deadlock", None, "\n".join(lines)))
        self.trace.mark_last()


def _key(obj):
    """What waiting on `obj` touches (dependence.py): a thread's own key for a Thread
    (its start, end and joins use it), the object's for any other primitive."""
    key = getattr(obj, "_key", None)
    return key() if key is not None else ("sync", id(obj))
