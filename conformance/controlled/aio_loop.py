"""Controlled schedules for asyncio: an event loop that owns its schedule.

On one event loop only the loop decides what runs next, and the standard loop always
decides the same way: its ready callbacks in the order they came (FIFO), its timers
when the wall clock says. A free-running test therefore tries one order of the tasks'
steps among the many that other timings would give. This loop asks a seeded strategy
(`strategies.py`, the thread scheduler's own) instead, one callback at a time:

- **Lanes.** Each task is a lane (a column of the trace, a "thread" to the
  strategies); a callback that is not a task's step (a future's done callback, a
  `call_soon` of the implementation's) belongs to the lane that scheduled it, and one
  scheduled from outside any lane to the `loop` lane. Within a lane callbacks keep
  their order; across lanes the strategy chooses. The lane at the head of the ready
  queue is the `current` one: the standard loop's order costs no preemption, every
  other order does (so the exhaustive strategy's preemption bound counts departures
  from FIFO).
- **Virtual time.** `time()` is a virtual clock that moves only when the loop says:
  when nothing is ready it jumps to the next timer, and while callbacks are ready the
  strategy may still choose the next timer (`due`: the `clock` lane), as if the ready
  work had taken that long. A timeout fires at its deadline exactly, never before,
  and a `wait_for(q.get(), 5)` costs no real time.
- **Exact deadlock.** Nothing ready, no timer pending, a task not done: no order and
  no amount of time can make progress. Reported with each waiting task's line.
- **Bounded.** At most `max_steps` callbacks a run (a livelock, or a run too long to
  judge, is the `step-limit` finding).

No change to the implementation's code: every `await` that suspends is a switch
point, because the task's next step is a callback of its own. An implementation that
starts threads (an executor) is outside what this loop controls.
"""

from __future__ import annotations

import asyncio
import heapq
import re
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from prodcon.aio.blocking import BlockingWatch, implementation_line
from prodcon.aio.loop import task_line
from prodcon.controlled.scheduler import Finding, RunResult
from prodcon.controlled.strategies import INJECTED
from prodcon.controlled.trace import Trace

#: Jumps of the clock in a row, with nothing ready and no progress, that make a deadlock.
FORCED_JUMPS = 5
#: Steps taken by every controlled loop of this process: what `aio_exploration` watches
#: to tell a loop held in one step (a `with threading_lock:` no profile function sees).
STEPS = [0]
#: A task named by asyncio itself ("Task-17": a process-wide count, different from one
#: run to the next) is named after its lane in the trace instead.
_DEFAULT_NAME = re.compile(r"Task-\d+")


class LoopBlocked(BaseException):
    """The implementation made a blocking call on the loop's thread (`time.sleep`, a
    threading lock another task holds): raised in it, before it blocks, since on one
    thread nothing could ever end the wait. The run cannot go on; the free-running
    tests judge the call (`event-loop`). A BaseException, as the watch raises it inside
    the implementation's code, which must not catch it."""


class _RefusingWatch(BlockingWatch):
    """`aio.blocking`'s watch, which raises `LoopBlocked` where the free-running one
    takes note: under the controlled loop a blocking call would block for ever (or for
    real seconds, at every one of thousands of runs)."""

    def __init__(self, scheduler: LoopScheduler) -> None:
        super().__init__()
        self.scheduler = scheduler

    def _note(self, frame, what: str) -> None:  # pragma: no cover - a profile callback
        line = implementation_line(frame)
        if line is None:
            return
        if self.scheduler.blocked is None:
            self.scheduler.blocked = f"{what} at {line}"
        raise LoopBlocked(self.scheduler.blocked)


class Lane:
    """One column of the trace: a task, the loop's own callbacks, or the clock."""

    __slots__ = ("index", "name", "task")

    def __init__(self, index: int, name: str, task: asyncio.Task | None) -> None:
        self.index = index
        self.name = name
        self.task = task


class LoopScheduler:
    """Runs one coroutine on a `ControlledLoop` under one strategy; one per run."""

    def __init__(self, strategy: Any, max_steps: int = 20_000, watched: bool = True) -> None:
        self.strategy = strategy
        self.max_steps = max_steps
        self.watched = watched  # blocking calls refused (`LoopBlocked`): 5x the CPU on 3.10
        self.lanes: list[Lane] = []
        self._by_task: dict[asyncio.Task, Lane] = {}
        self.loop_lane = self._lane("loop", None)
        self.clock_lane = self._lane("clock", None)
        self.origin: dict[asyncio.Handle, Lane] = {}  # a non-task callback -> its lane
        self.running: Lane | None = None
        self.trace = Trace([lane.name for lane in self.lanes])
        self.schedule: list[int] = []
        self.findings: list[Finding] = []
        self.steps = 0
        self.blocked: str | None = None  # the implementation's blocking call, if it made one
        self.now = 0.0  # the loop's virtual time
        #: Of it, the time the strategy let pass while callbacks were ready (firing a
        #: timer early in the order): the loop's doing, as load is, so a timed call's
        #: deadline moves on by as much (`controlled.deadlines`' "let pass").
        self.let_pass = 0.0
        # Cancellations the strategy may inject (`INJECTED + lane`), of the tasks the
        # run says are suspended in a call it may cancel, and how the run cancels one.
        self.cancels_left = 0
        self.cancellable: Callable[[], list[asyncio.Task]] = list
        self.cancel: Callable[[asyncio.Task], None] = asyncio.Task.cancel
        #: How far the run got (`History.progress`): time jumping from timer to timer
        #: FORCED_JUMPS times with nothing ready between and no progress is a deadlock
        #: of tasks that only time out and try again.
        self.progress: Callable[[], int] = lambda: 0
        self._forced: tuple[int, int] = (0, -1)  # jumps in a row, progress at the first
        self._winding_down = False  # the verdict is made: no more findings

    # -- lanes ----------------------------------------------------------------------

    def _lane(self, name: str, task: asyncio.Task | None) -> Lane:
        lane = Lane(len(self.lanes), name, task)
        self.lanes.append(lane)
        if task is not None:
            self._by_task[task] = lane
        return lane

    def lane_of(self, handle: asyncio.Handle) -> Lane:
        owner = getattr(handle._callback, "__self__", None)  # noqa: SLF001
        if isinstance(owner, asyncio.Task):
            lane = self._by_task.get(owner)
            if lane is None:
                name = owner.get_name()
                if _DEFAULT_NAME.fullmatch(name):
                    name = f"task{len(self.lanes)}"
                lane = self._lane(name, owner)
                self.trace.names.append(lane.name)
            return lane
        return self.origin.get(handle, self.loop_lane)

    def note(self, text: str, mark: bool = False) -> None:
        """Put `text` (a call: "put(1)") into the trace, in the running lane's column."""
        lane = self.running or self.loop_lane
        self.trace.pending.extend((lane, text, self.now, mark))

    # -- one step -------------------------------------------------------------------

    def step(self, loop: ControlledLoop) -> None:
        """Run one callback of `loop`, the one the strategy chooses (`_run_once`)."""
        if self.steps >= self.max_steps:
            if self._winding_down:
                loop.stop()
                return
            self.findings.append(Finding("step-limit", None, (
                f"the run took more than {self.max_steps:,} steps of the event loop "
                "without ending (a livelock: tasks that keep running without getting "
                "anywhere)")))
            loop.stop()
            return
        scheduled = loop._scheduled  # noqa: SLF001
        while scheduled and scheduled[0]._cancelled:  # noqa: SLF001
            heapq.heappop(scheduled)._scheduled = False  # noqa: SLF001
            loop._timer_cancelled_count -= 1  # noqa: SLF001
        ready = loop._ready  # noqa: SLF001
        if any(handle._cancelled for handle in ready):  # noqa: SLF001
            kept = [handle for handle in ready if not handle._cancelled]  # noqa: SLF001
            ready.clear()
            ready.extend(kept)
        if not ready:
            if scheduled:  # nothing to do until the next timer: time jumps to it
                if self._only_timers_fire(loop):
                    return
                self._fire_next_timer(loop)
                return
            if not loop._stopping:  # noqa: SLF001
                if self._winding_down:
                    loop.stop()
                else:
                    self._deadlock(loop)
            return
        lanes: list[Lane] = []
        for handle in ready:
            lane = self.lane_of(handle)
            if lane not in lanes:
                lanes.append(lane)
        options = [lane.index for lane in lanes]
        due = self.clock_lane.index if scheduled else None
        if due is not None:
            options.append(due)
        if self.cancels_left > 0:
            options += sorted(INJECTED + self._by_task[task].index
                              for task in self.cancellable() if task in self._by_task)
        if len(options) == 1 and self.strategy.single_is_free:
            choice = options[0]
        else:
            choice = self.strategy.choose(options, lanes[0].index, due)
            if len(options) > 1 and not self._winding_down:
                self.schedule.append(choice)
        self.steps += 1
        STEPS[0] += 1
        if choice >= INJECTED:
            self.cancels_left -= 1
            self.running = self.lanes[choice - INJECTED]
            try:
                self.cancel(self.running.task)
            finally:
                self.running = None
            return
        if choice == due:  # time let pass while callbacks were ready: not theirs
            before = self.now
            handle = self._fire_next_timer(loop)
            self.let_pass += self.now - before
            ready.remove(handle)
        else:
            handle = next(h for h in ready if self.lane_of(h).index == choice)
            ready.remove(handle)
        self._run(handle)

    def _only_timers_fire(self, loop: ControlledLoop) -> bool:
        """Whether time has jumped FORCED_JUMPS times in a row with nothing ready and no
        progress: the tasks only time out and try again (found as a deadlock)."""
        jumps, at = self._forced
        now = self.progress()
        self._forced = (jumps + 1, at) if now == at else (1, now)
        if self._forced[0] < FORCED_JUMPS or self._winding_down:
            return False
        waiting = [lane for lane in self.lanes if lane.task is not None
                   and not lane.task.done()]
        lines = "\n".join(f"  {task_line(lane.task)}" for lane in waiting)
        self.findings.append(Finding("deadlock", None, (
            f"only timers fired, {FORCED_JUMPS} in a row with nothing else to run and "
            "nothing getting done: the tasks time out and try again, and none can go on. "
            f"Each waits at:\n{lines}")))
        loop.stop()
        return True

    def _fire_next_timer(self, loop: ControlledLoop) -> asyncio.TimerHandle:
        """Move the clock to the next timer's deadline and make it ready (with any
        other timer due at that instant, in deadline order); the first one."""
        scheduled = loop._scheduled  # noqa: SLF001
        first = scheduled[0]
        self.now = max(self.now, first.when())
        while scheduled and scheduled[0].when() <= self.now:
            timer = heapq.heappop(scheduled)
            timer._scheduled = False  # noqa: SLF001
            loop._ready.append(timer)  # noqa: SLF001
        return first

    def _run(self, handle: asyncio.Handle) -> None:
        lane = self.lane_of(handle)
        self.origin.pop(handle, None)
        self.running = lane
        try:
            handle._run()  # noqa: SLF001
        finally:
            self.running = None
        if self.blocked is not None and not self._winding_down:
            raise LoopBlocked(self.blocked)  # the task it killed is not the finding

    def _deadlock(self, loop: ControlledLoop) -> None:
        waiting = [lane for lane in self.lanes if lane.task is not None
                   and not lane.task.done()]
        lines = "\n".join(f"  {task_line(lane.task)}" for lane in waiting)
        self.findings.append(Finding("deadlock", None, (
            "nothing left to run and no timer pending, with tasks still waiting: no order "
            "of the steps and no amount of time can let them go on. Each waits at:\n"
            f"{lines}")))
        loop.stop()

    # -- a run ----------------------------------------------------------------------

    def run(self, main: Callable[[], Coroutine]) -> RunResult:
        """Run `main()` to its end on a fresh controlled loop (or to a finding); then
        cancel what is left, in the loop's own order, and close the loop."""
        loop = ControlledLoop(self)
        previous = sys.getprofile()
        if self.watched:
            _RefusingWatch(self).install()
        try:
            task = loop.create_task(main(), name="main")
            try:
                loop.run_until_complete(task)
            except LoopBlocked:
                self._wind_down(loop)
                raise
            except Exception as exc:  # noqa: BLE001 - the scenario's failure is a finding
                if task.done() and not task.cancelled() and task.exception() is exc:
                    self.findings.append(Finding("exception", "main",
                                                 f"{type(exc).__name__}: {exc}"))
                elif not self.findings:  # not stopped by a finding: the kit's own error
                    raise
            self.trace.mark_last()
            steps, now = self.steps, self.now
            self._wind_down(loop)
        finally:
            sys.setprofile(previous)
            loop.close()
        return RunResult(self.findings, self._compact(self.trace), self.schedule, now, steps)

    def _compact(self, trace: Trace) -> Trace:
        """The trace with a column only for the lanes that have a step in it (the loop's
        own and the clock's lanes, an executor's task, often have none)."""
        steps = trace.pending
        used = sorted({lane.index for lane in steps[0::4]})
        if len(used) == len(self.lanes):
            return trace
        new_lanes = {index: Lane(position, self.lanes[index].name, None)
                     for position, index in enumerate(used)}
        compact = Trace([self.lanes[index].name for index in used])
        for lane, text, clock, mark in zip(steps[0::4], steps[1::4], steps[2::4], steps[3::4],
                                           strict=True):
            compact.pending.extend((new_lanes[lane.index], text, clock, mark))
        return compact

    def _wind_down(self, loop: ControlledLoop) -> None:
        """Cancel every task still pending and let them end, first in first out, with
        no strategy asked and no step counted: the run's verdict is already made."""
        for lane in self.lanes:  # their exceptions are the run's findings, seen
            if lane.task is not None and lane.task.done() and not lane.task.cancelled():
                lane.task.exception()
        order = {lane.task: lane.index for lane in self.lanes if lane.task is not None}
        pending = sorted((t for t in asyncio.all_tasks(loop) if not t.done()),
                         key=lambda t: order.get(t, len(order)))  # the same order each run
        for task in pending:
            task.cancel()
        self.strategy = _Fifo()
        self._winding_down = True
        self.max_steps = self.steps + 10_000
        if pending:
            try:
                loop.run_until_complete(asyncio.wait(pending, timeout=60))
            except RuntimeError:  # stopped: a task that will not end (the verdict has it)
                pass
        for task in asyncio.all_tasks(loop):  # one that will not end: closed, quietly
            if not task.done():
                task._log_destroy_pending = False  # noqa: SLF001 - asyncio's own switch
                asyncio.events._set_running_loop(loop)  # noqa: SLF001
                try:
                    task.get_coro().close()
                except BaseException:  # noqa: BLE001, S110 - the verdict is made
                    pass
                finally:
                    asyncio.events._set_running_loop(None)  # noqa: SLF001


class _Fifo:
    """The standard loop's order: the lane at the head of the ready queue."""

    single_is_free = True

    def choose(self, runnable: list[int], current: int | None, due: int | None = None) -> int:
        return current if current is not None else runnable[0]


class ControlledLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop whose every step and whose clock a `LoopScheduler` decides.

    It is a standard loop in all else (tasks, futures, `call_soon`, timers), so the
    implementation's code runs on it unchanged; only `_run_once` (one callback, chosen)
    and `time` (virtual) differ, and `call_soon`/`call_at` note which lane scheduled
    each callback.
    """

    def __init__(self, scheduler: LoopScheduler) -> None:
        super().__init__()
        self.scheduler = scheduler

    def time(self) -> float:
        return self.scheduler.now

    def call_soon(self, callback, *args, context=None):  # noqa: ANN001 - asyncio's
        handle = super().call_soon(callback, *args, context=context)
        self._note_origin(handle)
        return handle

    def call_at(self, when, callback, *args, context=None):  # noqa: ANN001 - asyncio's
        timer = super().call_at(when, callback, *args, context=context)
        self._note_origin(timer)
        return timer

    def _note_origin(self, handle: asyncio.Handle) -> None:
        running = self.scheduler.running
        if running is not None and not isinstance(
                getattr(handle._callback, "__self__", None), asyncio.Task):  # noqa: SLF001
            self.scheduler.origin[handle] = running

    def _run_once(self) -> None:
        self.scheduler.step(self)
