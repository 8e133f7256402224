"""The bundled suite's one surface: the `prodcon` fixture (`Kit`) and the vocabulary the
suite's tests state their expectations in. The suite imports nothing else of the kit.

Every call into the implementation goes through `Kit.call` (bounded, on a daemon
thread). `returns` and `raises` turn "the implementation did something else" into
a `Violation` that says what was called, what happened and what was due. The
scenarios and the controlled exploration run through the Kit too, with the run's
settings and implementation.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict
from typing import Any

import pytest

from prodcon.aio.calls import AsyncCalls
from prodcon.aio.loop import EventLoop
from prodcon.aio.scenario import run_async_queue_scenario
from prodcon.aio.workers import run_async_worker_scenario
from prodcon.bursts import put_all, put_then_take, take_then_put
from prodcon.contract import Implementation
from prodcon.controlled.aio_exploration import ASYNC_PLANS, explore_async_queue
from prodcon.controlled.queue_exploration import (
    PLANS,
    SYSTEMATIC,
    explore_queue,
    explore_systematic,
)
from prodcon.controlled.worker_exploration import PLANS as WORKER_PLANS
from prodcon.controlled.worker_exploration import explore_workers
from prodcon.engine import scenario
from prodcon.engine.harness import Crew, Pending, call
from prodcon.engine.outcome import Outcome, taken_item
from prodcon.engine.recording import History
from prodcon.errors import KitError
from prodcon.isolation.async_parent import then_settled
from prodcon.items import (
    PLAIN_VALUES,
    EqualsEverything,
    FalsyItem,
    Item,
    TouchyItem,
    UnhashableItem,
    describe,
)
from prodcon.session.reports import COVERAGE_KEY
from prodcon.session.state import RUN
from prodcon.settings import (
    BLOCK_PROBE,
    CALL_BOUND,
    FREE_THREADED_STRESS_ROUNDS,
    Profile,
    Settings,
    Shape,
    gil_disabled,
)
from prodcon.verdict import Violation, expect, judge

__all__ = [
    "ASYNC_PLANS", "CALL_BOUND", "COVERAGE_KEY", "PLAIN_VALUES", "PLANS", "SYSTEMATIC",
    "EqualsEverything", "FalsyItem", "Item", "Kit", "KitError", "Shape", "TouchyItem",
    "UnhashableItem", "Violation", "WORKER_PLANS", "coverage", "describe",
    "exploration_failure", "expect", "judge", "put_all", "put_then_take", "take_then_put",
]


def coverage(plan_id: str, found: dict) -> str:
    """What a systematic search that found nothing covered, in words a grader can show."""
    bound = found["bound"]
    within = f"with at most {bound} preemption{'s' if bound != 1 else ''}"
    if found["complete"]:
        return (f"complete: every schedule of {plan_id} {within}, up to the order of steps "
                f"that commute, explored ({found['schedules']} schedules), no violation")
    return (f"incomplete: {found['schedules']} schedules of {plan_id} {within} explored, "
            "no violation, before the profile's budget ran out")


def exploration_failure(found: dict, schedules: int, columns: str, legend: str = "",
                        lane: str = "thread") -> Violation:
    """The violation a failed controlled exploration reports (what `Kit.explore`,
    `Kit.explore_workers` and `Kit.explore_async` found): where the search failed, the
    finding, how far it was shrunk, and the trace. `columns` says what marks the trace's
    columns carry, `legend` anything more the reader needs before the trace, `lane` what
    a column is (a thread, or an asyncio task)."""
    if found["found_again"]:
        smaller = (f"the same failure on the smaller plan {found['plan']}, "
                   f"{found['found_again']}")
    else:
        smaller = f"plan {found['plan']}: no smaller plan failed the same way"
    props = tuple(found["props"])
    return Violation(props[0], "\n".join([
        f"controlled schedule {found['failed_at']} of {schedules} failed "
        f"(strategy {found['strategy']}).",
        "",
        found["message"],
        "",
        f"The failing schedule, one column per {lane}{columns}, shrunk to {found['calls']} "
        f"queue calls from {found['calls_before']} ({smaller}) and to {found['switches']} "
        f"forced {lane} switches from that schedule's {found['switches_before']}; "
        f"{found['steps']} switch points{legend}:",
        found["trace"],
        "",
        f"Only one {lane} ran at a time and the kit chose which, in virtual time, so the "
        "same seed runs the same schedules and shows this trace again, byte for byte.",
    ]), props)


#: Real seconds allowed per controlled schedule before the kit calls the whole
#: exploration stuck (scaled by --prodcon-timeout-factor). A run takes 3-10 ms on a
#: loaded 2-core machine; a livelocked one runs to its step limit in about 2 s.
SECONDS_PER_SCHEDULE = 0.5
#: Plus this much for shrinking a failure: at most 550,000 switch points in all
#: (queue_exploration.FEWER_CALLS_STEPS + MINIMIZE_STEPS), about 55 s if every attempt
#: livelocks; twice that, for a slow machine.
SECONDS_TO_SHRINK = 120


#: How long one async test's coroutine may run, in all (scaled by the timeout factor);
#: a loop blocked by the implementation is reported sooner (aio.loop's heartbeat).
ASYNC_TEST_BOUND = 30.0
#: The same for an async scenario, which bounds itself: it fails once its items stop
#: moving for STALL_BOUND (livelocks included), so this is only the net under that,
#: and a slow correct run (a sandboxed one, thousands of round trips) must fit in it.
ASYNC_SCENARIO_BOUND = 600.0
#: Items per producer of a sandboxed async scenario, at most (`Kit._async_items`).
SANDBOXED_ASYNC_ITEMS = 150


class Kit:
    """The `prodcon` fixture: one test's view of the run (its settings, the implementation,
    a random generator seeded for this test alone) and the expectations it states."""

    def __init__(self, settings: Settings, impl: Implementation, name: str) -> None:
        self.settings = settings
        self.profile = settings.profile
        self.impl = impl
        self.Full = impl.Full
        self.Empty = impl.Empty
        self.ShutDown = impl.ShutDown
        self.rng: random.Random = settings.rng(name)
        self.name = name

    @staticmethod
    def profile_of(config: pytest.Config) -> Profile:
        """The session's profile, for a test module's `pytest_generate_tests` (which runs
        before any fixture)."""
        return config.stash[RUN].settings.profile

    @property
    def stress_rounds(self) -> int:
        """How many rounds an unpaced stress test runs: more without the GIL, where the
        races it looks for really collide."""
        return FREE_THREADED_STRESS_ROUNDS if gil_disabled() else 1

    def bound(self, seconds: float) -> float:
        return self.settings.bound(seconds)

    @property
    def stress_items(self) -> int:
        """How many items an unpaced stress run puts, in all. A sandboxed implementation
        (`--prodcon-isolate`, every graded submission) gets a quarter: each of its calls
        is a round trip to its process, which paces the threads more than any pause
        would, so the run shows what the paced scenarios show at ten times their cost
        (3.6 s a test on 3.10 for 8,000 items: grading 300 submissions spent half an
        hour of CPU on the two unpaced tests alone)."""
        items = self.profile.stress_items
        return items // 4 if getattr(self.impl, "sandbox", None) is not None else items

    def run_async(self, main, bound: float = ASYNC_TEST_BOUND) -> Any:
        """Run `main(calls)`, an async test's body (`calls`: an `AsyncCalls` on the
        implementation), on an event loop of its own, bounded; its value."""
        loop = EventLoop(self.name)
        try:
            # then_settled: a sandboxed queue's last calls are judged with the run
            return loop.run(then_settled(main(AsyncCalls(self.impl,
                                                          self.settings.timeout_factor))),
                            self.bound(bound), f"the test's coroutine ({self.name})")
        finally:
            loop.close(self.bound(2.0))

    def run_async_queue_scenario(self, shape: Shape, rng: random.Random, items: int) -> None:
        """Producer and consumer tasks on the async queue (`aio.scenario`), on an event loop
        of their own."""
        items = self._async_items(items)
        self.run_async(lambda calls: run_async_queue_scenario(
            self.impl, shape, rng, items, self.settings.strict, self.settings.timeout_factor),
            ASYNC_SCENARIO_BOUND)

    def run_async_worker_scenario(self, shape: Shape, rng: random.Random, items: int,
                                  failing: int = 0) -> None:
        """The user's async producer and consumer tasks, coordinated as the contract says
        (`aio.workers`), on an event loop of their own; the handler raises for `failing`
        items."""
        items = self._async_items(items)
        self.run_async(lambda calls: run_async_worker_scenario(
            self.impl, shape, rng, items, self.settings.timeout_factor, failing),
            ASYNC_SCENARIO_BOUND)

    def _async_items(self, items: int) -> int:
        """Items per producer of an async scenario: at most SANDBOXED_ASYNC_ITEMS (the
        quick profile's) for a sandboxed implementation (`--prodcon-isolate`). Each of
        its items costs about a dozen round trips to its process there (a call begun,
        its outcome carried back by the next tick, a handle, a task_done): the thorough
        profile's 8 producers x 1,000 items x 3 took 35 s a test on 3.13."""
        if getattr(self.impl, "sandbox", None) is None:
            return items
        return min(items, SANDBOXED_ASYNC_ITEMS)

    def run_queue_scenario(self, shape: Shape, rng: random.Random, items: int) -> None:
        """Producers and consumers on the implementation's queue (`scenario.run_queue_scenario`)."""
        scenario.run_queue_scenario(self.settings, self.impl, shape, rng, items)

    def run_payload_scenario(self, shape: Shape, rng: random.Random, items: int) -> None:
        """The same with everyday values for items (ints, floats, str, None, repeats...),
        judged by value (`scenario.run_payload_scenario`)."""
        scenario.run_payload_scenario(self.settings, self.impl, shape, rng, items)

    def run_join_scenario(self, shape: Shape, rng: random.Random, items: int) -> None:
        """The same, consumers acknowledging each item and the kit joining the queue."""
        scenario.run_join_scenario(self.settings, self.impl, shape, rng, items)

    def run_worker_scenario(self, shape: Shape, rng: random.Random, items: int,
                            **extra: Any) -> None:
        """The user's producer and consumer functions under the N-sentinel protocol."""
        scenario.run_worker_scenario(self.settings, self.impl, shape, rng, items, **extra)

    def pass_through(self, q: Any, values: list) -> list:
        """One producer puts `values`, one consumer gets as many; what it got, in order.
        A thread that dies breaks `any-item` (the values are the odd kinds)."""
        history = History()
        crew = Crew(self.settings, history.progress)
        producer_view = history.view(q, "p0")
        consumer_view = history.view(q, "c0")
        taken: list = []
        producer = crew.start("p0", lambda: [producer_view.put(v) for v in values])
        consumer = crew.start("c0", lambda: [taken.append(consumer_view.get()) for _ in values])
        crew.wait([producer, consumer], "passing odd items through the queue", prop="any-item")
        judge([Violation("any-item", f"thread {w.name} died with {type(w.error).__name__}: "
                         f"{w.error}\n    {w.error_trace}")
               for w in (producer, consumer) if w.error])
        return taken

    def explore(self, plan, seed: int, schedules: int) -> dict:
        """Run `plan` under `schedules` controlled schedules (in the submission's process
        when it is sandboxed); what the exploration found, as `explore_queue` tells it."""
        # the module, not a queue: each run builds its own, as the module's Queue role does
        args = (self.impl.module, json.dumps(asdict(plan)), seed, schedules,
                self.settings.strict)
        return self._exploration(explore_queue, args, schedules,
                                 f"exploring {schedules} controlled schedules of {plan.id}")

    def explore_systematic(self, plan, seed: int, bound: int, schedules: int) -> dict:
        """Every schedule of `plan` with at most `bound` preemptions, up to the order of
        steps that commute, or its first `schedules`; as `explore_systematic` tells it."""
        args = (self.impl.module, json.dumps(asdict(plan)), seed, bound, schedules,
                self.settings.strict)
        return self._exploration(explore_systematic, args, schedules,
                                 f"searching the schedules of {plan.id} with at most "
                                 f"{bound} preemptions")

    def explore_workers(self, plan, seed: int, schedules: int) -> dict:
        """Run the worker `plan` (one of `WORKER_PLANS`) under `schedules` controlled
        schedules, in the submission's process when it is sandboxed; what the exploration
        found, as `explore_workers` tells it (the same keys as `explore`)."""
        args = (self.impl.module, json.dumps(asdict(plan)), ",".join(sorted(self.impl.borrowed)),
                seed, schedules)
        return self._exploration(explore_workers, args, schedules, f"exploring {schedules} "
                                 f"controlled schedules of the workers, {plan.id}")

    def explore_async(self, plan, seed: int, schedules: int) -> dict:
        """Run the async queue `plan` (one of `ASYNC_PLANS`) under `schedules` schedules of
        the controlled event loop (in the submission's process when it is sandboxed); what
        the exploration found, as `explore` tells it."""
        args = (self.impl.module, json.dumps(asdict(plan)), seed, schedules,
                self.settings.strict)
        return self._exploration(explore_async_queue, args, schedules, f"exploring "
                                 f"{schedules} controlled schedules of the event loop, "
                                 f"{plan.id}")

    def _exploration(self, explorer, args: tuple, schedules: int, what: str) -> dict:
        """`explorer(*args)` within a bound for `schedules`, where the queue lives; its
        JSON read, and a failure of the kit's own raised as the kit's error."""
        bound = SECONDS_TO_SHRINK + SECONDS_PER_SCHEDULE * schedules
        sandbox = getattr(self.impl, "sandbox", None)
        if sandbox is not None:
            found = self.call(sandbox.run_in_child, explorer, *args, bound=bound, what=what)
        else:
            found = self.call(explorer, *args, bound=bound, what=what)
        found = json.loads(found)
        if found["kit_error"]:
            raise KitError(f"{what}: {found['kit_doing']}", found["kit_error"])
        return found

    def call(self, fn, *args, **kwargs) -> Any:
        """Call into the implementation with a bound (see `harness.call`); a sandboxed
        one is asked, before a call is called stuck, whether it is still in that call."""
        sandbox = getattr(self.impl, "sandbox", None)
        if sandbox is not None:
            kwargs.setdefault("running", sandbox.in_call)
        return call(self.settings, fn, *args, **kwargs)

    def queue(self, maxsize: int = 0) -> Any:
        return self.call(self.impl.Queue, maxsize, what=f"Queue({maxsize})")

    def outcome(self, what: str, fn, *args, bound: float = CALL_BOUND, prop: str = "deadlock",
                **kwargs) -> Outcome:
        start = time.monotonic()
        try:
            value = self.call(fn, *args, bound=bound, prop=prop, what=what, **kwargs)
        except Exception as exc:  # noqa: BLE001 - judged by the caller
            return Outcome(error=exc, elapsed=time.monotonic() - start)
        return Outcome(value=value, elapsed=time.monotonic() - start)

    def at_once(self, what: str, fn, *args) -> Outcome:
        """`fn`'s calls back to back in one thread, where the queue lives.

        In-process one thread keeps the GIL from one call to the next. When the
        submission runs in a sandbox (`--prodcon-isolate`) each call would be a round
        trip another thread could slip into, so `fn` runs in the submission's process.
        """
        sandbox = getattr(self.impl, "sandbox", None)
        if sandbox is not None:
            return self.outcome(what, sandbox.run_in_child, fn, *args)
        return self.outcome(what, fn, *args)

    def returns(self, what: str, fn, *args, prop: str, due: str, bound: float = CALL_BOUND,
                **kwargs) -> Any:
        """The call must return; its value is handed back."""
        result = self.outcome(what, fn, *args, bound=bound, prop=prop, **kwargs)
        if result.error is not None:
            raise Violation(prop, f"{what} {result.text()}; {due}.")
        return result.value

    def raises(self, exc_type: type[BaseException], what: str, fn, *args, prop: str, due: str,
               bound: float = CALL_BOUND, stuck: str | None = None, **kwargs) -> Outcome:
        """The call must raise `exc_type` (or a subclass).

        `prop` is broken when it returns instead, `stuck` (default: `prop`) when it
        does not come back at all, "exceptions" when it raises something else.
        """
        result = self.outcome(what, fn, *args, bound=bound, prop=stuck or prop, **kwargs)
        if not isinstance(result.error, exc_type):
            wrong = "exceptions" if result.error is not None else prop
            raise Violation(wrong, f"{what} {result.text()}; {due}.")
        return result

    def get_item(self, queue: Any, expected: Any, what: str = "get_nowait()") -> Any:
        """Take one item (non-blocking) and insist it is `expected` (by identity)
        (`outcome.taken_item`); a non-blocking get that never comes back breaks
        `blocking`."""
        result = self.outcome(what, queue.get_nowait, prop="blocking")
        again = None
        if isinstance(result.error, self.Empty):
            again = self.outcome(f"{what} asked again", queue.get_nowait, prop="blocking")
        return taken_item(what, expected, result, again, self.Empty)

    def start(self, fn, *args, **kwargs) -> Pending:
        """Start a call that is expected to block; see `must_block`."""
        return Pending(fn, args, kwargs)

    def must_block(self, pending: Pending, what: str, prop: str = "blocking",
                   expires: tuple[type[BaseException], float] | None = None) -> bool:
        """`pending` must still be running after a short look (it should be waiting).

        False if it may stop being watched: see `must_block_all`'s `expires`.
        """
        return bool(self.must_block_all([pending], what, prop, expires))

    def must_block_all(self, pendings: list[Pending], what: str, prop: str = "blocking",
                       expires: tuple[type[BaseException], float] | None = None
                       ) -> list[Pending]:
        """Each of `pendings` must still be running after one short look at them all.

        One look for all: they were started together, so after the first one's
        probe every other one has been running at least as long.

        `expires`, for timed calls: the exception their timeout raises, and the
        timeout (less the clock slack the test allows). A call that raised it once its
        whole timeout had passed did its job: the look came late (a loaded machine can
        keep the kit's thread waiting longer than a short timeout), not the answer.
        Such a call is left out of the list returned, the calls still waiting, which
        are the ones a test can go on with.
        """
        waiting = []
        for index, pending in enumerate(pendings):
            if not pending.wait(BLOCK_PROBE if index == 0 else 0):
                waiting.append(pending)
                continue
            worker = pending.worker
            # elapsed counts from before the thread started: a call that gave up a
            # little early may pass for on time here, never the other way round
            if expires is not None and isinstance(worker.error, expires[0]) \
                    and pending.elapsed >= expires[1]:
                continue
            done = (f"raised {type(worker.error).__name__}" if worker.error is not None
                    else f"returned {describe(worker.result)}")
            raise Violation(prop, f"{what} {done} after {pending.elapsed:.3f} s instead "
                            "of waiting.")
        return waiting
