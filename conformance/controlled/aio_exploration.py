"""Controlled schedules of an async queue: small plans of producer and consumer tasks on
the implementation's `Queue`, run on `aio_loop`'s controlled event loop under many
seeded schedules, each judged as a free-running run is; the first failure shrunk.

A plan is the thread plans' shape (`queue_exploration.QueuePlan`: producers, consumers,
maxsize, items, forms, join), with asyncio's forms: `blocking` (`await q.get()`),
`timed` (`asyncio.wait_for(q.get(), timeout)`: its timeout fires when the strategy
lets the clock reach it, which may be while an item is being handed over), `nowait`
(`get_nowait()`, and `asyncio.sleep` between polls), `mixed` (each task its own form),
and `cancels`: how many times a schedule may cancel a task suspended in a queue call
(as `task.cancel()` would, from another task), a choice of the strategy's like any
other. A cancelled or timed-out call is tried again, as the thread plans' timed calls
are: it must have left the queue as it was.

The search, the shrinking (fewer calls, then fewer forced choices) and the verdict are
the thread plans' own (`queue_exploration`), fed by these runs: their history, their
violations, their findings.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import threading
from dataclasses import dataclass
from typing import Any

from prodcon import contract
from prodcon.aio.recording import AsyncRecordingQueue
from prodcon.controlled import queue_exploration as shared
from prodcon.controlled.aio_loop import STEPS, LoopBlocked, LoopScheduler
from prodcon.controlled.scheduler import Finding
from prodcon.engine import checkers, harness
from prodcon.engine.recording import History
from prodcon.engine.scenario import Stop
from prodcon.items import describe, make_batch
from prodcon.verdict import Violation

#: Virtual seconds a timed call waits, and a polling task sleeps between polls.
TIMEOUT = 5.0
POLL = 0.01
#: What a call the kit cancelled gives back: the task ends, as a cancelled task would.
CANCELLED = object()


@dataclass(frozen=True)
class AsyncQueuePlan:
    """One controlled scenario of the async queue role (see the module's docstring)."""

    producers: int
    consumers: int
    maxsize: int
    items: int
    forms: str = "blocking"  # blocking | timed | nowait | nowait-puts | mixed
    join: bool = True
    cancels: int = 0
    timeout: float = TIMEOUT

    @property
    def id(self) -> str:
        size = f"max{self.maxsize}" if self.maxsize > 0 else "unbounded"
        return (f"{self.producers}p{self.consumers}c-{size}-{self.items}items-{self.forms}"
                f"{'-join' if self.join else ''}"
                f"{f'-cancel{self.cancels}' if self.cancels else ''}")

    def schedules(self, budget: int) -> int:
        return budget


#: The quick profile's plans: the thread plans' smallest shapes, and the cancellation
#: bugs' shapes (a getter cancelled while an item is handed to it, a putter cancelled
#: while a slot is handed to it).
ASYNC_PLANS = (
    AsyncQueuePlan(2, 2, 1, 2, "blocking"),
    AsyncQueuePlan(2, 2, 1, 2, "timed"),
    AsyncQueuePlan(1, 2, 1, 2, "blocking", cancels=1),
    AsyncQueuePlan(2, 1, 1, 2, "blocking", join=False, cancels=1),
    AsyncQueuePlan(2, 2, 0, 2, "nowait-puts"),
    AsyncQueuePlan(2, 2, 2, 2, "mixed"),
)


class _Deadlines:
    """The timed calls in flight, for `queue_exploration._late_in_flight`: a run that
    never ended while a timed call was past its deadline failed at that call.

    Late is counted as `controlled.deadlines` counts it: the virtual time the call
    took, less the time the strategy let pass while callbacks were ready (the loop's
    doing, as load is). wait_for's timer fires at the deadline and cancels the call; a
    correct queue lets the cancellation end it then, so its counted time is exactly
    its timeout."""

    def __init__(self, scheduler: LoopScheduler) -> None:
        self.scheduler = scheduler
        self.calls: dict[int, _TimedCall] = {}

    def begin(self, key: int, text: str, timeout: float) -> _TimedCall:
        call = self.calls[key] = _TimedCall(text, self.scheduler.now,
                                            self.scheduler.let_pass, timeout)
        return call

    def counted(self, call: _TimedCall) -> float:
        return (self.scheduler.now - call.start) - (self.scheduler.let_pass - call.let_pass)

    def late_in_flight(self) -> list[_TimedCall]:
        return [call for call in self.calls.values()
                if self.counted(call) > call.timeout + SLACK]


#: Virtual time is a float: `t + 5 - t` may differ from 5 by an ulp.
SLACK = 1e-6


@dataclass
class _TimedCall:
    text: str
    start: float
    let_pass: float
    timeout: float

    def message(self, refused: str = "") -> str:
        return (f"{self.text} was still waiting {self.timeout:g} virtual seconds after it "
                "began, its timeout fired: asyncio.wait_for() cancels the call then, and a "
                "correct queue lets the cancellation end it at once (an except "
                "CancelledError that does not re-raise keeps it waiting).")


class _AsyncRun:
    """One schedule's objects, built afresh for every run."""

    #: What a report calls a caller, and which exceptions may leave a queue call.
    LANE = "task"
    ESCAPES = ("Nothing but QueueEmpty and QueueFull (from get_nowait() and put_nowait()) "
               "may escape a queue call.")

    def __init__(self, impl: Any, plan: AsyncQueuePlan, strict: bool,
                 scheduler: LoopScheduler) -> None:
        self.impl = impl
        self.plan = plan
        self.strict = strict
        self.scheduler = scheduler
        self.empty = (impl.Empty,)
        self.full = (impl.Full,)
        self.history = History(clock=itertools.count().__next__)
        rng = random.Random(0)  # the same items in every run: a schedule replays exactly
        self.batches = [make_batch(p, plan.items, rng) for p in range(plan.producers)]
        self.stops = [Stop(i) for i in range(plan.consumers)]
        self.total = plan.producers * plan.items
        self.acks_begun = 0
        self.violations: list[Violation] = []
        self.deadlines = _Deadlines(scheduler)
        self.waiting: dict[asyncio.Task, str] = {}  # a task suspended in a queue call
        self.injected: set[asyncio.Task] = set()  # the tasks the kit cancelled
        self.live_consumers: set[asyncio.Task] = set()
        self.producers: set[asyncio.Task] = set()
        self.stopping = False

    # -- the tasks ----------------------------------------------------------------

    async def main(self) -> None:
        plan = self.plan
        try:
            queue = self.impl.Queue(plan.maxsize)
        except Exception as exc:  # noqa: BLE001 - the implementation's own error
            raise shared._QueueNotBuilt(f"Queue({plan.maxsize}) raised "  # noqa: SLF001
                                        f"{type(exc).__name__}: {exc}") from None
        self.queue = queue
        consumers = [asyncio.create_task(self.consume(i), name=f"c{i}")
                     for i in range(plan.consumers)]
        self.live_consumers = set(consumers)
        producers = [asyncio.create_task(self.produce(p), name=f"p{p}")
                     for p in range(plan.producers)]
        self.producers = set(producers)
        await self._all(producers)
        self.stopping = True  # from now on the kit cancels nobody
        view = AsyncRecordingQueue(queue, self.history, "main")
        if plan.join:
            await self._call(view, "join()", view.join)
            put = self._items_put()
            if self.acks_begun < put:
                self._fail(Violation(
                    "join", f"join() returned when {self.acks_begun} of the {put} "
                    "task_done() calls had begun; it must wait for a task_done() per item"))
        live = [c for c in consumers if c in self.live_consumers]
        for stop in self.stops[:len(live)]:
            while not await self._put(view, "blocking", stop):
                pass
        await self._all(consumers)

    def _items_put(self) -> int:
        """How many of the producers' items went in (a put that returned): a producer
        the kit cancelled put fewer than its batch."""
        return sum(1 for call in self.history.calls()
                   if call.thread != "main" and call.op in ("put", "put_nowait") and call.ok)

    async def _all(self, tasks: list[asyncio.Task]) -> None:
        """Wait for `tasks`; a violation one of them found ends the run with it."""
        for task in tasks:
            await asyncio.wait([task])
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # _Failed: a violation; else the kit's own error

    def form(self, role: str, index: int) -> str:
        forms = self.plan.forms
        if forms == "mixed":  # in turn, the consumers one step on
            return ("blocking", "timed", "nowait")[(index + (role == "consumer")) % 3]
        if forms == "nowait-puts":  # put_nowait() while getters wait
            return "nowait" if role == "producer" else "blocking"
        return forms

    async def produce(self, index: int) -> None:
        view = AsyncRecordingQueue(self.queue, self.history, f"p{index}")
        form = self.form("producer", index)
        for item in self.batches[index]:
            while not await self._put(view, form, item):
                if asyncio.current_task() in self.injected:
                    return  # cancelled: it puts no more (the items it put are judged)

    async def consume(self, index: int) -> None:
        view = AsyncRecordingQueue(self.queue, self.history, f"c{index}")
        form = self.form("consumer", index)
        while True:
            got, value = await self._get(view, form)
            while not got:
                if value is CANCELLED:
                    self.live_consumers.discard(asyncio.current_task())
                    return  # cancelled in its get(): it takes no more
                got, value = await self._get(view, form)
            if isinstance(value, Stop):
                return
            if self.plan.join:
                self.acks_begun += 1
                self._plain(view, "task_done()", view.task_done)

    # -- the calls ----------------------------------------------------------------

    async def _put(self, view, form: str, item) -> bool:
        """Put `item` in `form`: whether it went in (not: try again, unless the task was
        cancelled by the kit)."""
        if form == "nowait":
            return await self._polled(lambda: self._plain(
                view, f"put_nowait({describe(item)})", view.put_nowait, item), self.full)
        got, _ = await self._waited(view, form, f"put({describe(item)})",
                                    lambda: view.put(item))
        return got

    async def _get(self, view, form: str):
        if form == "nowait":
            value = []
            done = await self._polled(lambda: value.append(
                self._plain(view, "get_nowait()", view.get_nowait)), self.empty)
            return done, value[0] if done else None
        return await self._waited(view, form, "get()", view.get)

    async def _polled(self, call, refused: tuple) -> bool:
        try:
            call()
            return True
        except refused:
            await asyncio.sleep(POLL)
            return False

    async def _waited(self, view, form: str, text: str, make):
        """A coroutine call, awaited (`blocking`) or under wait_for (`timed`): (True, its
        value), or (False, None) when it timed out or the kit cancelled it."""
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        timed = form == "timed"
        shown = f"wait_for(q.{text}, {self.plan.timeout:g})" if timed else f"q.{text}"
        key = id(task)
        deadline = self.deadlines.begin(key, shown, self.plan.timeout) if timed else None
        began = loop.time()
        self.waiting[task] = shown
        try:
            call = make()
            value = await (asyncio.wait_for(call, self.plan.timeout) if timed else
                           self._call(view, shown, lambda: call))
            if timed:
                self._note(f"{shown} -> {describe(value)}" if text == "get()"
                           else f"{shown} done")
                self._judge_late(deadline, "returned")
            if task in self.injected:
                self._fail(Violation("cancellation", (
                    f"{task.get_name()}'s {shown} was cancelled while it waited, and "
                    f"{'returned ' + describe(value) if text == 'get()' else 'returned'} "
                    "instead of raising CancelledError: it swallowed its cancellation. A "
                    "cancelled call ends with CancelledError (asyncio throws it in at its "
                    "await even when what it awaited is done), leaving the queue as it "
                    "was.")))
            return True, value
        except asyncio.CancelledError:
            if task not in self.injected:
                raise
            self._note(f"{shown} -> CancelledError")
            return False, CANCELLED
        except (asyncio.TimeoutError, TimeoutError):
            waited = loop.time() - began
            if waited < self.plan.timeout - SLACK:
                self._fail(Violation("timeout", (
                    f"{shown} raised TimeoutError after {waited:g} virtual seconds of its "
                    f"{self.plan.timeout:g} s timeout: it gave up before its time")))
            self._note(f"{shown} timed out")
            self._judge_late(deadline, "gave up")
            return False, None
        except self.empty + self.full as exc:
            self._fail(Violation("blocking", (
                f"{shown} raised {type(exc).__name__}: a get() or put() waits (for an item, "
                "for room) instead; QueueEmpty and QueueFull belong to get_nowait() and "
                "put_nowait()")))
        finally:
            self.waiting.pop(task, None)
            self.deadlines.calls.pop(key, None)

    def _judge_late(self, call: _TimedCall | None, how: str) -> None:
        if call is None:
            return
        counted = self.deadlines.counted(call)
        if counted > call.timeout + SLACK:
            self._fail(Violation("timeout", (
                f"{call.text} {how} {counted - call.timeout:g} virtual seconds after its "
                f"timeout of {call.timeout:g} s fired: asyncio.wait_for() cancels the call "
                "at its timeout, and a correct queue lets that cancellation end it at once "
                "(an except CancelledError that does not re-raise keeps it waiting).")))

    async def _call(self, view, text: str, method):
        self._note(text)
        try:
            value = await method()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not isinstance(exc, self.empty + self.full):
                self._fail(Violation("exceptions", (
                    f"{asyncio.current_task().get_name()}'s {text} raised "
                    f"{type(exc).__name__}: {exc}\n{self.ESCAPES}")))
            raise
        self._note(f"{text} -> {describe(value)}" if "get()" in text else f"{text} done")
        return value

    def _plain(self, view, text: str, method, *args):
        self._note(text)
        try:
            value = method(*args)
        except Exception as exc:
            self._note(f"{text} raised {type(exc).__name__}")
            if not isinstance(exc, self.empty + self.full):
                self._fail(Violation("exceptions", (
                    f"{asyncio.current_task().get_name()}'s {text} raised "
                    f"{type(exc).__name__}: {exc}")))
            raise
        if text.startswith("get"):
            self._note(f"{text} -> {describe(value)}")
        return value

    def _note(self, text: str) -> None:
        self.scheduler.note(text)

    def _fail(self, violation: Violation) -> None:
        self.scheduler.note(f"VIOLATION: {violation.prop}", mark=True)
        self.violations.append(violation)
        raise _Failed

    # -- the verdict --------------------------------------------------------------

    def cancellable(self) -> list[asyncio.Task]:
        """The tasks the kit may cancel now: a producer or consumer in a put() or get()
        (woken or not), while the producers run, but never the last consumer (the items
        left would wait for ever: the plan's doing, not the queue's)."""
        if self.stopping:
            return []
        return [task for task in self.waiting if not task.done() and task not in self.injected
                and (task in self.producers
                     or (task in self.live_consumers and len(self.live_consumers) > 1))]

    def cancel(self, task: asyncio.Task) -> None:
        self.injected.add(task)
        self.scheduler.note(f"{self.waiting.get(task, 'its call')}: task.cancel()")
        task.cancel()

    def lost(self) -> Violation | None:
        """For a run that never ended: the items put and never taken while the queue says
        it holds none (a lost item leaves its consumers waiting for ever)."""
        try:
            held = self.queue.qsize()
        except Exception:  # noqa: BLE001 - its own answer is a hint only
            return None
        lost = checkers.lost_items(self.history.calls(), self.batches)
        if held != 0 or not lost:
            return None
        return Violation("conservation", (
            f"{len(lost)} item(s) were put (put() returned) but never taken: "
            f"{checkers.named(lost)}, and the queue holds none (qsize() is 0): they are "
            "lost, and the tasks waiting for them wait for ever. Every item put must come "
            "out of the queue exactly once."))

    def check(self) -> None:
        """After a run without a finding: the history, judged like a free-running one."""
        found = shared.judged_history(self, "checking the history of a controlled "
                                      "asyncio schedule")
        if found:
            self.violations.extend(found)


class _Failed(Exception):
    """A violation ended the run (it is in `_AsyncRun.violations`)."""


# --- exploring ------------------------------------------------------------------------


def explore_async_queue(module: Any, plan: str, seed: int, schedules: int,
                        strict: bool = False) -> str:
    """Up to `schedules` schedules of the plan (JSON of an `AsyncQueuePlan`) on the async
    Queue of `module` (its roles resolved as the contract says: its own QueueEmpty, or
    asyncio's); the first failure, shrunk, as JSON of a `queue_exploration.Exploration`."""
    chosen = AsyncQueuePlan(**json.loads(plan))
    impl = contract.resolve(getattr(module, "__name__", "the module"), module, "asyncio")

    def explored() -> shared.Exploration:
        try:
            return _explored(impl, chosen, seed, schedules, strict)
        except LoopBlocked as blocked:
            return shared.Exploration(0, skipped=_blocked(str(blocked)))
    return _watched(lambda: json.dumps(shared.guarded(
        explored, "queue", "searching and shrinking the schedules", _Endless, "")))


def _blocked(where: str) -> str:
    return (f"the queue blocks the event loop ({where}): on the controlled loop that call "
            "would never end; the free-running tests judge it (event-loop)")


def _watched(explore) -> str:
    """`explore()` on a thread of its own, given up (a skip) once no controlled loop
    took a step for STEP_BOUND seconds: a loop held in one step by a blocking call the
    profile watch cannot see (`with threading_lock:` calls no function a profile
    function is told of), which no other task of the thread can ever end. The held
    thread is asked to stop (a spinning one does) and left behind."""
    answer: list[str] = []
    worker = threading.Thread(target=lambda: answer.append(explore()), daemon=True,
                              name="prodcon-controlled-loop")
    worker.start()
    seen, still = STEPS[0], 0.0
    while worker.is_alive():
        worker.join(WATCH)
        if STEPS[0] != seen or not worker.is_alive():
            seen, still = STEPS[0], 0.0
            continue
        still += WATCH
        if still >= STEP_BOUND:
            where = "; ".join(harness.where(worker, limit=2))
            harness.interrupt(worker)
            return json.dumps(shared.Exploration(0, skipped=_blocked(
                f"its thread held in one step for {STEP_BOUND:g} s, at {where}")).asdict())
    return answer[0]


#: The first runs of an exploration refuse blocking calls (`aio_loop.LoopBlocked`): a
#: queue that sleeps or takes a threading lock does it in every run, and the watch costs
#: five times the CPU of a run on 3.10 (1.9 s against 0.4 for a plan's 150 schedules).
#: A rarer blocking call later costs its real time, or STEP_BOUND when it never ends.
WATCHED_RUNS = 3
#: Real seconds a controlled loop may spend in one step (a callback of microseconds)
#: before its exploration is given up, and how often that is looked at.
STEP_BOUND = 2.0
WATCH = 0.1


class _Endless(Exception):
    """Never raised: an async run that never ends is the step-limit finding."""


def _explored(module: Any, plan: AsyncQueuePlan, seed: int, schedules: int,
              strict: bool) -> shared.Exploration:
    attempts = [0]

    def attempt(plan: AsyncQueuePlan, strategy):
        attempts[0] += 1
        return run_schedule(module, plan, strategy, strict, attempts[0] <= WATCHED_RUNS)

    found = shared._search(attempt, plan, seed, schedules)  # noqa: SLF001
    if found is None:
        return shared.Exploration(schedules)
    index, description, failure = found
    target = shared._verdict(failure[1], failure[2])[0]  # noqa: SLF001
    first_calls = shared._calls(failure[2])  # noqa: SLF001
    small, small_failure, found_again = shared._fewer_calls(  # noqa: SLF001
        attempt, plan, seed, failure, target)
    exploration = shared._minimized(  # noqa: SLF001
        lambda strategy: attempt(small, strategy), *small_failure, target=target,
        most_calls=first_calls)
    exploration.schedules = exploration.failed_at = index + 1
    exploration.strategy = description
    exploration.plan, exploration.calls_before = small.id, first_calls
    exploration.found_again = found_again
    return exploration


def run_schedule(module: Any, plan: AsyncQueuePlan, strategy, strict: bool = False,
                 watched: bool = True):
    """One schedule of `plan`: (the loop scheduler's result, its findings, the run);
    `watched`: blocking calls refused (`aio_loop.LoopBlocked`)."""
    scheduler = LoopScheduler(strategy, shared.MAX_STEPS, watched)
    run = _AsyncRun(module, plan, strict, scheduler)
    scheduler.cancels_left = plan.cancels
    scheduler.cancellable = run.cancellable
    scheduler.cancel = run.cancel
    scheduler.progress = run.history.progress
    strategy.begin_run()
    try:
        result = scheduler.run(run.main)
    finally:
        strategy.end_run()
    findings = [f for f in result.findings
                if not (f.kind == "exception" and f.text.startswith("_Failed"))]
    if not findings and not run.violations:
        run.check()
    elif not run.violations and hasattr(run, "queue"):
        lost = run.lost()
        if lost is not None:
            run.violations.append(lost)
    if run.violations and not findings:
        findings = [Finding("check", None, run.violations[0].message)]
    return result, findings, run

