"""The worker role's scenarios, run under controlled schedules.

The same protocol as the free-running worker scenarios (the kit is the
coordinator: it starts N consumers and M producers, waits for the producers,
calls join() and puts one sentinel per consumer), with the user's `producer`
and `consumer` and the reference queue all run again from their source on
managed primitives, so the scheduler chooses every interleaving and time is
virtual. The `handle` each consumer is given takes virtual time, drawn per item
from nothing to far longer than any polling timeout a worker might use
(`HANDLE_LONGEST`): a queue then stays full, or empty, for seconds, which
free-running runs never show, so a producer that gives up on Full, a consumer
that leaves on Empty, and one that reorders or drops items once it falls
behind are found.

The verdict is the free-running one (`engine.scenario`'s worker judge): the
same properties (conservation, order, sentinel-shutdown, join, exceptions,
deadlock) with the same words, so a student reads the same finding whichever
way it was found. Searching, looking again with fewer calls and shrinking the
schedule are `queue_exploration`'s; the outcome is its `Exploration`, as JSON
(it may cross from the sandbox's child).

Each schedule draws its own handle() times (from the seed and the schedule's
index); once a schedule fails its times are kept, so shrinking replays it.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
import traceback
import zlib
from dataclasses import dataclass
from pathlib import Path

from prodcon import contract
from prodcon.controlled import primitives
from prodcon.controlled.explore import note
from prodcon.controlled.loader import QUEUE_METHODS, CannotLoad, load_again

# The search, its shrinking and the verdict of a run are queue_exploration's, used here
# by their private names: the worker role landed beside the queue role without
# reshaping it (another change was editing that module). They belong in a public
# controlled/search.py that takes a verdict function; until then a rename there
# breaks this import at once, loudly, not quietly.
from prodcon.controlled.queue_exploration import (
    LOAD_ROUNDS,
    Exploration,
    _calls,
    _fewer_calls,
    _minimized,
    _Run,
    _search,
    _verdict,
    guarded,
    run_main,
)
from prodcon.controlled.scheduler import Finding
from prodcon.engine.harness import withdraw_interrupts
from prodcon.engine.recording import History
from prodcon.engine.scenario import WorkerJudge
from prodcon.errors import KitError, kit_code
from prodcon.items import ODD_KINDS, Item, describe
from prodcon.verdict import Violation

#: The longest a handle() call takes, in virtual seconds: far beyond the timeout of a
#: worker that polls or gives up (they use 0.01 to a few seconds).
HANDLE_LONGEST = 8.0
#: Switch points a run may take before it is called a spin (see `_Spins`). Correct
#: workers on these plans took at most 1,200 (the reference, the correct zoo).
MAX_STEPS = 20_000


@dataclass(frozen=True)
class WorkerPlan:
    """A controlled worker scenario's fixed part: producers, consumers, the reference
    queue's maxsize, items per producer."""

    producers: int
    consumers: int
    maxsize: int
    items: int
    #: Lines, not bytecodes: the bugs looked for here are in the protocol (what a worker
    #: does on Full, on Empty, once behind), not races inside one line of worker code;
    #: the queue's locks and waits are switch points either way. 20% cheaper, and every
    #: zoo worker is found as early (measured: 4 seeds each, within 10 schedules).
    granularity: str = "line"

    @property
    def id(self) -> str:
        size = f"max{self.maxsize}" if self.maxsize > 0 else "unbounded"
        return f"{self.producers}p{self.consumers}c-{size}-{self.items}each-workers"


#: One plan, small enough for 150 schedules to cost about a second: with maxsize 1 the
#: queue is full (the producers wait) while both consumers are in handle(), and empty
#: (the consumers wait) while the producers wait for room; three items each give a
#: consumer that fell behind a second item to take. Every worker bug of the zoo that
#: needs time to show is found within its first ten schedules (8 seeds each).
PLANS = (WorkerPlan(2, 2, 1, 3),)


@dataclass(frozen=True)
class ManagedWorkers:
    """The worker role and the reference queue, on modules run again on managed
    primitives; `files` are the worker code's (its lines are switch points)."""

    producer: object
    consumer: object
    sentinel: object
    queue: object  # the reference's Queue there
    files: frozenset


def managed_workers(module, borrowed: frozenset) -> ManagedWorkers:
    """`module`'s worker role (parts in `borrowed` from the reference, as the contract
    fills them) and the reference queue, on managed primitives; `CannotLoad` if the
    module cannot be run again."""
    bundled = contract.load(contract.BUNDLED, Path.cwd()).module
    queue_home = bundled.Queue.__module__
    reference = _managed_parts(bundled, ("Queue", "producer", "consumer"), {queue_home})
    own = not {"producer", "consumer"} <= borrowed
    mine = own and module is not bundled
    workers = _managed_parts(module, ("producer", "consumer"), set()) if mine else reference

    def part(name: str):
        found = getattr(reference if name in borrowed else workers, name, None)
        if not callable(found):
            raise CannotLoad(f"run again, the module's {name} is not a function")
        return found

    queue_file = getattr(sys.modules.get(queue_home), "__file__", None)
    files = workers.__prodcon_facades__.files - {queue_file}
    return ManagedWorkers(
        part("producer"), part("consumer"),
        getattr(workers, "SENTINEL", None) if own else reference.SENTINEL,
        reference.Queue, frozenset(files))


def _managed_parts(module, names: tuple, also: set):
    """`module` run again on managed primitives with the modules that define its
    `names` (a package's `producer` lives in a submodule it imports): the managed
    module, whose named functions and classes all run on managed primitives."""
    for _ in range(LOAD_ROUNDS):
        managed = load_again(module, also)
        facades = managed.__prodcon_facades__
        homes = {getattr(found, "__module__", None) for found in
                 (getattr(managed, name, None) for name in names)
                 if hasattr(found, "__qualname__") and not facades.runs_managed(found)}
        homes.discard(None)
        if not homes:
            return managed
        for home in homes:
            top = home.partition(".")[0]
            if top in sys.stdlib_module_names:
                raise CannotLoad(f"its worker functions come from {home}, of the standard "
                                 "library, which the kit does not run on managed primitives")
            path = getattr(sys.modules.get(home), "__file__", None)
            if home in also or not path or not path.endswith(".py"):
                raise CannotLoad(f"its worker functions come from {home}, which cannot be "
                                 "run again from Python source")
        also |= homes
    raise CannotLoad(f"its worker functions still ran on real primitives after "
                     f"{LOAD_ROUNDS} modules were run again")


def handle_time(rng: random.Random) -> float:
    """How long one handle() call takes, in virtual seconds: nothing (a quarter of the
    calls), a moment, up to a second, or longer than any sensible polling timeout."""
    draw = rng.random()
    if draw < 0.25:
        return 0.0
    if draw < 0.45:
        return round(rng.uniform(0.001, 0.05), 3)
    if draw < 0.7:
        return round(rng.uniform(0.05, 1.0), 2)
    return round(rng.uniform(1.0, HANDLE_LONGEST), 1)


class _Part:
    """One of the user's threads, as the judge reads a free-running `Worker`: its name,
    whether it still runs, what it raised, when (on the run's clock) it ended."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.error: BaseException | None = None
        self.error_trace = ""
        self.ended: int | None = None

    @property
    def alive(self) -> bool:
        return self.ended is None


class _Handler:
    """The `handle` given to one consumer: records each call (item, start, end on the
    run's clock) and takes the item's virtual time."""

    def __init__(self, name: str, clock, times: dict) -> None:
        self.name = name
        self.clock = clock
        self.times = times
        self.handled: list = []

    def __call__(self, item) -> None:
        entry = [item, self.clock(), None]
        self.handled.append(entry)
        seconds = self.times.get(id(item), 0.0)
        note(f"handle({describe(item)}) {seconds:g} s")
        if seconds:
            primitives.sleep(seconds)
        entry[2] = self.clock()


def worker_batches(plan: WorkerPlan) -> list[list[Item]]:
    """Each producer's items: a plain one first, then the odd kinds in turn, every kind
    once in the default plan. The same in every run; a worker that trips over a falsy
    item, one equal to everything, an unhashable one or one that refuses ==, bool()
    and hash() is shown in a shrunk schedule, as the free-running tests find it."""
    kinds = itertools.cycle(ODD_KINDS)
    return [[Item(p, 0), *(next(kinds)(p, seq) for seq in range(1, plan.items))]
            for p in range(plan.producers)]


class _WorkerRun:
    """One schedule's objects; built afresh for every run."""

    LANE, ESCAPES = _Run.LANE, _Run.ESCAPES  # a worker is a thread, its queue the same

    def __init__(self, roles: ManagedWorkers, plan: WorkerPlan, times_key: str):
        self.plan = plan
        self.roles = roles
        self.times_key = times_key
        self.clock = itertools.count().__next__
        self.history = History(clock=self.clock)
        self.queue = roles.queue(plan.maxsize)
        self.batches = worker_batches(plan)
        times = {id(item): handle_time(random.Random(zlib.crc32(f"{times_key}:{item.label}"
                                                                .encode())))
                 for batch in self.batches for item in batch if isinstance(item, Item)}
        self.total = plan.producers * plan.items
        self.handlers = [_Handler(f"c{i}", self.clock, times) for i in range(plan.consumers)]
        self.consumers = [_Part(h.name) for h in self.handlers]
        self.producers = [_Part(f"p{p}") for p in range(plan.producers)]
        self.sentinel = roles.sentinel
        self.judge = WorkerJudge(self.history, self.batches, self.handlers, self.consumers,
                                  self.producers, self.sentinel)
        self.phase = "producers"  # what the coordinator is waiting for
        self.join_call = None
        self.violations: list[Violation] = []

    def main(self) -> None:
        consumers = [primitives.Thread(
            target=self._user(part, self.roles.consumer, self._view(part.name), handler),
            name=part.name)
            for part, handler in zip(self.consumers, self.handlers, strict=True)]
        producers = [primitives.Thread(
            target=self._user(part, self.roles.producer, self._view(part.name), list(batch)),
            name=part.name)
            for part, batch in zip(self.producers, self.batches, strict=True)]
        for thread in consumers + producers:
            thread.start()
        for thread in producers:
            thread.join()
        coordinator = self.history.view(self.queue, "main")
        noted = _NotedQueue(coordinator)
        self.phase = "join"
        noted.join()
        self.join_call = coordinator.log[-1]
        self.phase = "sentinels"
        for _ in consumers:
            noted.put(self.sentinel)
        self.phase = "consumers"
        for thread in consumers:
            thread.join()
        self.phase = "done"

    def _view(self, name: str):
        return _NotedQueue(self.history.view(self.queue, name))

    def _user(self, part: _Part, function, *args):
        """A thread running the user's `function(*args)`: what it raises is kept, as a
        free-running `Worker` keeps it, for the judge."""
        def run() -> None:
            try:
                function(*args)
            except Exception as exc:  # noqa: BLE001 - the judge reports it (exceptions)
                part.error = exc
                part.error_trace = _user_trace(exc, self.roles.files)
                note(f"raised {type(exc).__name__}")
            # anything else ends the run (the scheduler unwinding a thread still waiting
            # once nothing could go on): the thread has not returned, for the judge
            part.ended = self.clock()
        return run

    def coordinator(self):
        def run() -> None:
            try:
                self.main()
            except Exception as exc:
                raise KitError.caught("coordinating the workers of a controlled schedule",
                                      exc) from exc
        return run

    # -- the verdict --------------------------------------------------------------------

    def check(self) -> None:
        """After a run that ended: the free-running worker verdict."""
        with kit_code("judging the workers of a controlled schedule"):
            found = self.judge.findings(join_call=self.join_call, finished=True)
        if found:
            self.violations.extend(found)
            raise found[0]

    def stuck(self, findings) -> None:
        """A run where nothing could go on (or its threads ran without end): what the
        judge finds so far; else the hang, named by what the coordinator waited for."""
        with kit_code("judging the workers of a stuck controlled schedule"):
            found = self.judge.findings(join_call=None, finished=False)
        text = "\n".join(str(f) for f in findings)
        if found:
            last = found[-1]
            found[-1] = Violation(last.prop, f"{last.message}\n\nAs a consequence the run got "
                                  f"stuck: {text}", last.props)
            self.violations.extend(found)
            return
        if self.phase == "done":
            left = _blocked(text) or ["a thread"]
            self.violations.append(Violation(
                "sentinel-shutdown",
                f"threads started by the implementation were still running after every "
                f"consumer returned: {', '.join(left)}. No thread may be left behind.\n{text}"))
            return
        prop, doing = {
            "producers": ("deadlock", "waiting for every producer(q, items) call to return"),
            "join": ("join", "waiting for q.join() after the producers returned"),
            "sentinels": ("deadlock", "putting one sentinel per consumer"),
            "consumers": ("sentinel-shutdown",
                          "waiting for the consumers to return after the sentinels"),
        }[self.phase]
        self.violations.append(Violation(prop, f"the run got stuck {doing}: {text}"))


class _NotedQueue:
    """A thread's recording view of the queue that also writes each call, and how it
    ended, into the trace ("put(p0#1, timeout=1.0)" ... "put raised Full")."""

    def __init__(self, view) -> None:
        self._view = view

    def __getattr__(self, name: str):
        method = getattr(self._view, name)
        if name not in QUEUE_METHODS:
            return method

        def noted(*args, **kwargs):
            words = [describe(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
            note(f"{name}({', '.join(words)})")
            try:
                value = method(*args, **kwargs)
            except Exception as exc:
                note(f"{name} raised {type(exc).__name__}")
                raise
            note(f"{name} -> {describe(value)}" if name in _ANSWERS else f"{name} done")
            return value
        return noted


_ANSWERS = ("get", "get_nowait", "qsize", "empty", "full")
_CALL_BEGINS = re.compile(rf"^({'|'.join(QUEUE_METHODS)})\(")
_CALL_ENDS = re.compile(rf"^({'|'.join(QUEUE_METHODS)}) (done$|-> |raised )")


def _as_shown(trace) -> None:
    """The trace as the worker report shows it: the reference queue's own locks and
    conditions inside a queue call left out (the worker code's steps, its calls and
    their outcomes are the story; a timed call running out stays), and a handle()'s
    sleep ending as "slept until", not as a timeout."""
    inside: dict[int, str] = {}  # thread -> the queue method it is in
    sleeping: set[int] = set()
    kept = []
    for step in trace.steps:
        if _CALL_BEGINS.match(step.text):
            inside[step.thread] = step.text.partition("(")[0]
        elif _CALL_ENDS.match(step.text):
            inside.pop(step.thread, None)
        elif step.thread in inside and step.mark:  # where the run ended: stuck in a call
            step.text = f"{inside[step.thread]} still waiting"
        elif step.thread in inside and not step.text.startswith("times out"):
            continue
        if step.text.startswith("sleep("):
            sleeping.add(step.thread)
        elif step.thread in sleeping and step.text.startswith("times out at "):
            step.text = "slept until " + step.text.removeprefix("times out at ")
            sleeping.discard(step.thread)
        kept.append(step)
    trace.steps = kept


def _blocked(text: str) -> list[str]:
    """The threads a deadlock report names as blocked."""
    return [line.split()[0] for line in text.splitlines()
            if line.startswith("  ") and " blocked in " in line]


def _user_trace(exc: BaseException, files: frozenset) -> str:
    """The exception and the worker code's own frames."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in files]
    lines = traceback.format_list(frames[-6:])
    return "".join(lines) + "".join(traceback.format_exception_only(type(exc), exc))


class _Spins(Exception):
    """A run took MAX_STEPS switch points without ending."""


def explore_workers(module, plan: str, borrowed: str, seed: int, schedules: int) -> str:
    """Up to `schedules` schedules of the plan (JSON of a `WorkerPlan`) on the worker
    role of `module` (`borrowed`: its parts filled from the reference, comma-separated);
    the first failure, minimized, if any, as JSON of an `Exploration`. Only numbers and
    strings cross into the sandbox's child, hence the JSON and the joined names."""
    parsed = WorkerPlan(**json.loads(plan))
    parts = frozenset(filter(None, borrowed.split(",")))
    return json.dumps(_explore(module, parsed, parts, seed, schedules))


def _explore(module, plan: WorkerPlan, borrowed: frozenset, seed: int, schedules: int) -> dict:
    withdraw_interrupts()
    try:
        roles = managed_workers(module, borrowed)
    except Exception as exc:  # noqa: BLE001 - e.g. a demo at import starting threads
        reason = str(exc) if isinstance(exc, CannotLoad) else f"{type(exc).__name__}: {exc}"
        return Exploration(0, skipped=f"the workers cannot be loaded for controlled runs: "
                           f"{reason}").asdict()
    return guarded(lambda: _explored(roles, plan, seed, schedules), "workers",
                   "searching and shrinking the worker schedules", _Spins, (
                       f"a run took {MAX_STEPS} switch points without ending: a worker that "
                       "polls without ever blocking or sleeping keeps virtual time from "
                       "passing, so its schedules cannot be explored (the free-running tests "
                       "still judge it)"))


def _explored(roles: ManagedWorkers, plan: WorkerPlan, seed: int,
              schedules: int) -> Exploration:
    """The search and, on a failure, its shrinking: what the test reports."""
    keys = itertools.count()
    pinned: list[str] = []  # the failing run's handle() times, once there is one

    def attempt(plan: WorkerPlan, strategy):
        key = pinned[0] if pinned else f"{seed}:{next(keys)}"

        def start():
            run = _WorkerRun(roles, plan, key)
            return run, run.coordinator()
        result, findings, run = run_main(start, strategy, roles.files, plan.granularity)
        _as_shown(result.trace)
        kinds = {f.kind for f in findings}
        if "step-limit" in kinds:
            if not pinned:
                raise _Spins
            return result, [], run  # while shrinking: not the failure being shrunk
        if "deadlock" in kinds:
            # judged as the free-running hang is: the judge's findings, else what the
            # coordinator waited for (not queue_exploration's "join() never returned",
            # which counts the sentinels' task_done() calls as items')
            run.stuck(findings)
            findings = [Finding("check", None, str(run.violations[0]))]
        return result, findings, run

    found = _search(attempt, plan, seed, schedules)
    if found is None:
        return Exploration(schedules)
    index, description, failure = found
    pinned.append(failure[2].times_key)
    target = _verdict(failure[1], failure[2])[0]
    first_calls = _calls(failure[2])
    small, small_failure, found_again = _fewer_calls(attempt, plan, seed, failure, target)
    exploration = _minimized(lambda strategy: attempt(small, strategy), *small_failure,
                             target=target, most_calls=first_calls)
    exploration.schedules, exploration.failed_at = index + 1, index + 1
    exploration.strategy = description
    exploration.plan, exploration.calls_before = small.id, first_calls
    exploration.found_again = found_again
    return exploration
