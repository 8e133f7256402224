"""The kit's producer-consumer scenarios, run under controlled schedules.

The same protocol as the free-running scenarios (M producers, N consumers, a
coordinator that waits for the producers, calls join() and puts one stop
marker per consumer), kept small so that many schedules fit in a test, and
judged by the same checkers: conservation, then the FIFO queue's rules (order,
capacity, Full/Empty per call; with --prodcon-strict, linearizability) on the
recorded history. Two checks need the
virtual clock or the coordinator's view and are made as the run goes: a timed
call that gives up before its timeout, and a join() that returns before every
task_done() began.

`explore_queue` takes the implementation's *module*, so it runs wherever the
module lives: in the kit's process, or in the sandbox's child under
--prodcon-isolate (through `run_in_child`, which hands it the child's own module).
Each queue is built the way the Queue role builds it, `module.Queue(maxsize)`, on
the module run again from its source on managed primitives (`managed_role`).
Only numbers and strings cross that border, so the plan goes in and the outcome
comes out as JSON.

Three kinds of trouble are kept apart: a `Queue(maxsize)` that raises is the
implementation's error; code the scheduler cannot control is a skip, with the
reason; anything else that escapes the kit's own machinery is the kit's failure
(`errors.KitError`), never a finding against the implementation.
"""

from __future__ import annotations

import itertools
import json
import queue as real_queue
import random
import traceback
from dataclasses import asdict, dataclass, replace

from prodcon.controlled import lockset, primitives
from prodcon.controlled.deadlines import Deadlines
from prodcon.controlled.dependence import BEGIN, CALLS, END
from prodcon.controlled.explore import note, run_once, touch
from prodcon.controlled.loader import CannotLoad, NotManaged, load_again
from prodcon.controlled.minimize import Differences, Guided, ddmin
from prodcon.controlled.reach import uncontrolled_home
from prodcon.controlled.scheduler import SchedulerError, current
from prodcon.controlled.strategies import PCT, RandomWalk, ReplayDiverged
from prodcon.controlled.systematic import Systematic
from prodcon.engine import checkers
from prodcon.engine.harness import withdraw_interrupts
from prodcon.engine.recording import History
from prodcon.engine.scenario import Stop
from prodcon.errors import KitError, kit_code, kit_traceback
from prodcon.items import describe, make_batch
from prodcon.verdict import Violation

#: A timed call's timeout, in virtual seconds: long enough that giving up early shows.
TIMEOUT = 5.0
#: A polling thread's pause after Full/Empty, in virtual seconds.
POLL = 0.01
#: Switch points a run may take before it is called a livelock. Correct runs of the
#: plans below at opcode granularity took at most 1,770 (the reference, 40 seeds a plan).
MAX_STEPS = 20_000
#: Shrinking a failing schedule stops after this many runs or this many switch points
#: in all (a livelock costs MAX_STEPS a run): counted, not timed, so it replays exactly.
MINIMIZE_RUNS = 400
MINIMIZE_STEPS = 400_000
#: Looking for the same failure with fewer calls (a smaller plan): schedules tried per
#: smaller plan, and switch points in all. Counted, not timed, like shrinking.
FEWER_CALLS_SCHEDULES = 100
FEWER_CALLS_STEPS = 150_000
#: Rounds of loading the module again, each adding the module of a class its queue
#: still ran on real primitives (an adapter's library, that library's base class...).
LOAD_ROUNDS = 8


@dataclass(frozen=True)
class QueuePlan:
    """A controlled scenario's fixed part. `forms`: how the threads call put and get:
    "blocking", "timed" (timeout=`timeout`), "nowait" (polling) or "mixed" (each
    thread its own form, in turn); or a contest for what timed calls wait for:
    "steal-slot" (timed producers against a blocking consumer that frees slots in
    bursts: a producer woken for a slot may find that another one took it) or
    "steal-item" (timed consumers against a blocking producer that puts in bursts).
    The other side sleeps `pauses` virtual seconds in turn before each of its calls.
    `share`: the part of the test's schedules this plan runs."""

    producers: int
    consumers: int
    maxsize: int
    items: int  # per producer
    forms: str = "blocking"
    join: bool = True
    granularity: str = "opcode"
    timeout: float = TIMEOUT
    pauses: tuple = ()
    share: float = 1.0
    #: A systematic plan's preemption bound in the quick profile (Profile.preemptions
    #: adds to it): the smallest that finds the races the plan is there for.
    preemptions: int = 0

    def schedules(self, schedules: int) -> int:
        """How many schedules this plan runs where the test runs `schedules`."""
        return max(1, round(schedules * self.share)) if schedules > 0 else 0

    @property
    def id(self) -> str:
        size = f"max{self.maxsize}" if self.maxsize > 0 else "unbounded"
        return (f"{self.producers}p{self.consumers}c-{size}-{self.items}each-{self.forms}"
                f"{'-join' if self.join else ''}")


#: A contest's timeout, in virtual seconds: longer than the poll of any polling queue
#: likely to meet the kit (a fixed `sleep(0.1)` is common), since a wait as long as the
#: whole timeout is not a poll (deadlines.py); short enough that a queue polling every
#: 2 ms stays below MAX_STEPS (6,219 switch points at most). One polling finer than
#: about 0.5 ms runs out of them: that plan is skipped for it (`_polled_out`).
CONTEST_TIMEOUT = 0.2
#: The pacing side of a contest: a pause shorter than the timeout, then a burst of two
#: calls (two slots or items at once: two waiters woken, and one of them may take both),
#: then a pause longer than the timeout, so that a call that found its slot or item
#: taken with time left must give up: one that started its timeout again gives up late.
CONTEST_PAUSES = (0.12, 0.0, 0.32)

#: Two thirds of the schedules (100 in the quick profile) for the four plans of the
#: random search: the races within a preemption or two of their small plans are the
#: systematic search's (SYSTEMATIC), found on every run; these go on beyond the bound.
RANDOM_SHARE = 2 / 3

PLANS = (
    QueuePlan(2, 2, 1, 2, "blocking", share=RANDOM_SHARE),
    QueuePlan(1, 2, 0, 2, "timed", join=False, share=RANDOM_SHARE),
    QueuePlan(2, 2, 0, 1, "mixed", share=RANDOM_SHARE),
    QueuePlan(2, 1, 2, 2, "nowait", share=RANDOM_SHARE),
    # A contest's late call needs no bytecode-level race, only a slot or an item taken
    # between a wake-up and the retry: line switch points, and a fifth of the schedules,
    # show each late-timeout bug of the zoo within 16 schedules (5 seeds each), for
    # a fifth of the time the other plans take.
    QueuePlan(2, 1, 2, 3, "steal-slot", join=False, granularity="line", timeout=CONTEST_TIMEOUT,
              pauses=CONTEST_PAUSES, share=0.2),
    QueuePlan(1, 2, 0, 3, "steal-item", join=False, granularity="line", timeout=CONTEST_TIMEOUT,
              pauses=CONTEST_PAUSES, share=0.2),
)


#: Small plans searched systematically (systematic.py): every schedule with at most
#: `preemptions` preemptions (more in the thorough profile), up to the order of steps
#: that commute, at the "access" granularity. Each is the smallest found to show its
#: races in every run; the schedules each needs (reference / two semaphore designs,
#: CPython 3.13) in the comments.
SYSTEMATIC = (
    # two producers, one slot: a check for room that is stale when acted on (a release
    # between), a counter updated outside the lock (join) (260 / 356-388)
    QueuePlan(2, 1, 1, 1, "blocking", granularity="access", preemptions=1),
    # two consumers, one item and two stop markers: two getters after one item, a wake-up
    # sent only on the empty-to-one transition, `if` around wait() (606 / 1,352-1,624)
    QueuePlan(1, 2, 0, 1, "blocking", join=False, granularity="access", preemptions=1),
    # two producers wait on a full queue of two: a wake-up sent only on the full-to-one-
    # free transition (508 / 2,296-2,404)
    QueuePlan(2, 1, 2, 2, "blocking", join=False, granularity="access", preemptions=1),
    # both sides wait on one slot: one condition for both, notify() waking the wrong
    # side; task_done() outside the lock, two consumers acknowledging (136 / 136)
    QueuePlan(1, 2, 1, 2, "blocking", granularity="access", preemptions=0),
    # timed getters: a wait that does not wait again for the time left (50 / 50)
    QueuePlan(1, 2, 0, 1, "timed", join=False, granularity="access", preemptions=0),
)


@dataclass(frozen=True)
class ManagedRole:
    """The implementation's Queue role, on its module run again on managed primitives."""

    factory: object  # the module's Queue there: Queue(maxsize) builds a queue
    empty: tuple  # the classes an Empty may be: the module's own, and queue's
    full: tuple
    files: frozenset  # the files run again: their lines (or bytecodes) are switch points


def managed_role(module, maxsize: int) -> ManagedRole:
    """`module`'s Queue role on managed primitives: the module run again from its
    source; then, while the queue its Queue(maxsize) builds still is (or builds on) a
    class of a module left on real primitives, that module too (an adapter's library).

    Raises `CannotLoad` (the reason) when that cannot be done, and `_QueueNotBuilt`
    when Queue(maxsize) raises.
    """
    also: set[str] = set()
    for _ in range(LOAD_ROUNDS):
        managed = load_again(module, also)
        factory = getattr(managed, "Queue", None)
        if factory is None:
            raise CannotLoad("run again, the module defines no Queue")
        facades = managed.__prodcon_facades__
        role = ManagedRole(
            factory,
            tuple({real_queue.Empty, getattr(managed, "Empty", real_queue.Empty)}),
            tuple({real_queue.Full, getattr(managed, "Full", real_queue.Full)}),
            frozenset(facades.files))
        home = uncontrolled_home(_build(role, maxsize), facades)
        if home is None:  # building it may have imported more: their lines count too
            return replace(role, files=frozenset(facades.files))
        also.add(home)
    raise CannotLoad(f"its queue still ran on real primitives after {LOAD_ROUNDS} modules "
                     "were run again")


def _build(role: ManagedRole, maxsize: int):
    """A queue, as the Queue role builds it: `Queue(maxsize)`."""
    try:
        return role.factory(maxsize)
    except (primitives.OutsideRun, NotManaged) as exc:
        raise CannotLoad(f"Queue({maxsize}) needs what the scheduler cannot give it where "
                         f"the kit builds queues, before a run starts ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - the implementation's error, reported as such
        raise _QueueNotBuilt(
            f"Queue({maxsize}) raised {_error_text(exc, role.files)}\n"
            "The kit builds every queue as the module's Queue(maxsize), which must return "
            "a queue (for controlled schedules, on the module run again from its source "
            "on managed primitives).") from None


class _QueueNotBuilt(Exception):
    """The implementation's Queue(maxsize) raised; the message names the call."""


class _Run:
    """One schedule's objects; built afresh for every run, so nothing leaks between runs."""

    #: What a report calls a caller, and which exceptions may leave a queue call.
    LANE = "thread"
    ESCAPES = ("Nothing but Full and Empty (from the non-blocking and timed forms) may "
               "escape a queue call.")

    def __init__(self, role: ManagedRole, plan: QueuePlan, strict: bool = False):
        self.plan = plan
        self.strict = strict
        self.files = role.files
        self.empty, self.full = role.empty, role.full
        self.history = History(clock=itertools.count().__next__)
        self.queue = _build(role, plan.maxsize)
        rng = random.Random(0)  # the same items in every run: a schedule replays exactly
        self.batches = [make_batch(p, plan.items, rng) for p in range(plan.producers)]
        self.stops = [Stop(i) for i in range(plan.consumers)]
        self.total = plan.producers * plan.items
        self.acks_begun = 0
        self.violations: list[Violation] = []
        self.deadlines = Deadlines()

    def form(self, role: str, index: int) -> str:
        """The form `role`'s thread `index` calls put or get in."""
        forms = self.plan.forms
        if forms == "mixed":  # in turn, the consumers one step on from the producers
            return ("blocking", "timed", "nowait")[(index + (role == "consumer")) % 3]
        if forms in ("steal-slot", "steal-item"):
            contending = "producer" if forms == "steal-slot" else "consumer"
            return "timed" if role == contending else "blocking"
        return forms

    def pause(self, role: str, count: int) -> None:
        """The pacing side of a contest takes virtual time before its `count`-th call."""
        plan = self.plan
        slow = {"steal-slot": "consumer", "steal-item": "producer"}.get(plan.forms)
        if role == slow and plan.pauses:
            primitives.sleep(plan.pauses[count % len(plan.pauses)])

    # -- the threads ------------------------------------------------------------------

    def main(self) -> None:
        plan = self.plan
        consumers = [primitives.Thread(target=self.body(self.consume, i), name=f"c{i}")
                     for i in range(plan.consumers)]
        producers = [primitives.Thread(target=self.body(self.produce, p), name=f"p{p}")
                     for p in range(plan.producers)]
        for thread in consumers + producers:
            thread.start()
        for thread in producers:
            thread.join()
        view = self.history.view(self.queue, "main")
        if plan.join:
            self._call(view, "join()", view.join)
            if self.acks_begun < self.total:
                self._fail(Violation(
                    "join", f"join() returned when {self.acks_begun} of the {self.total} "
                    "task_done() calls had begun; it must wait for a task_done() per item"))
        for stop in self.stops:
            self._call(view, f"put({stop!r})", view.put, stop)
        for thread in consumers:
            thread.join()

    def produce(self, index: int) -> None:
        view = self.history.view(self.queue, f"p{index}")
        form = self.form("producer", index)
        for count, item in enumerate(self.batches[index]):
            self.pause("producer", count)
            while not self._put(view, form, item):
                pass

    def consume(self, index: int) -> None:
        view = self.history.view(self.queue, f"c{index}")
        form = self.form("consumer", index)
        for count in itertools.count():
            self.pause("consumer", count)
            got, value = self._get(view, form)
            while not got:
                got, value = self._get(view, form)
            if isinstance(value, Stop):
                return
            if self.plan.join:
                self.acks_begun += 1
                self._call(view, "task_done()", view.task_done)

    def body(self, step, *args):
        """A thread's body: `step(*args)`, its violations ending the run as findings.

        Every call into the queue goes through `_call`, which lets only the queue's
        Full and Empty escape (a thread they kill is a finding); any other exception
        comes from the kit's own code, and is the kit's failure.
        """
        def run() -> None:
            try:
                step(*args)
            except Violation as violation:
                self._fail(violation)
            except (_Failed, *self.empty, *self.full):
                raise
            except Exception as exc:
                raise KitError.caught("running a thread of a controlled schedule",
                                      exc) from exc
        return run

    # -- the calls --------------------------------------------------------------------

    def _put(self, view, form: str, item) -> bool:
        text = f"put({item!r}" + (f", timeout={self.plan.timeout:g})" if form == "timed"
                                  else ")")
        done, _ = self._put_or_get(
            form, self.full,
            f"{text} raised Full; a put() with no timeout waits for room instead",
            blocking=lambda: self._call(view, text, view.put, item),
            timed=lambda: self._timed(view, text, view.put, item, timeout=self.plan.timeout),
            nowait=lambda: self._call(view, f"put_nowait({item!r})", view.put_nowait, item))
        return done

    def _get(self, view, form: str):
        return self._put_or_get(
            form, self.empty,
            "get() raised Empty; a get() with no timeout waits for an item instead",
            blocking=lambda: self._call(view, "get()", view.get),
            timed=lambda: self._timed(view, f"get(timeout={self.plan.timeout:g})", view.get,
                                      timeout=self.plan.timeout),
            nowait=lambda: self._call(view, "get_nowait()", view.get_nowait))

    def _put_or_get(self, form: str, refused: tuple, blocking_refused: str, *,
                 blocking, timed, nowait):
        """One put or get in `form` (the call of that name): (True, its value), or
        (False, None) when it raised `refused` (Full or Empty), as the timed and
        non-blocking forms may; a polling thread then pauses POLL virtual seconds. From
        the blocking form that is a violation, `blocking_refused` saying which."""
        try:
            if form == "blocking":
                return True, blocking()
            if form == "timed":
                return True, timed()
            return True, nowait()
        except refused:
            if form == "blocking":
                raise Violation("blocking", blocking_refused) from None
            if form == "nowait":
                primitives.sleep(POLL)
            return False, None

    def _call(self, view, text: str, method, *args, **kwargs):
        note(text)
        touch(CALLS, BEGIN)  # what the history judges is which calls overlap
        try:
            value = method(*args, **kwargs)
        except BaseException as exc:
            touch(CALLS, END)
            note(f"{text} raised {type(exc).__name__}")
            if isinstance(exc, Exception) and not isinstance(exc, self.empty + self.full):
                self._fail(Violation("exceptions", f"{primitives.current_thread().name}'s "
                                     f"{text} raised {_error_text(exc, self.files)}\n"
                                     f"{self.ESCAPES}"))
            raise
        touch(CALLS, END)
        note(f"{text} -> {describe(value)}" if text.startswith("get") else f"{text} done")
        return value

    def _timed(self, view, text: str, method, *args, timeout: float):
        """A timed call, judged from both sides: it must not give up before its
        timeout has passed, nor wait past it (`deadlines.py` says how late is late
        where time is virtual)."""
        start = primitives.monotonic()
        sched, task = current()
        call = self.deadlines.begin(sched, task, text, timeout)
        try:
            value = self._call(view, text, method, *args, timeout=timeout)
        except self.empty + self.full as exc:
            Deadlines.end(call, primitives.monotonic(), type(exc).__name__)
            waited = primitives.monotonic() - start
            if waited < timeout - 1e-6:  # virtual time is a float: 0.01 + 5 - 0.01 < 5
                raise Violation("timeout", f"{text} raised {type(exc).__name__} after "
                                f"{waited:g} virtual seconds of its {timeout:g} s timeout; "
                                "a timed call gives up only once its timeout has passed "
                                "(woken with nothing to take, it must wait again, for "
                                "the time left)") from None
            self._judge_late(call)
            raise
        Deadlines.end(call, primitives.monotonic())
        self._judge_late(call)
        return value

    def _judge_late(self, call) -> None:
        if call.late():
            refused = "Full" if call.text.startswith("put") else "Empty"
            raise Violation("timeout", call.message(refused))

    def _fail(self, violation: Violation) -> None:
        note(f"VIOLATION: {violation.prop}")
        self.violations.append(violation)
        raise _Failed

    # -- the verdict --------------------------------------------------------------------

    def check(self) -> None:
        """After a run without a finding: the history, judged like a free-running one."""
        found = judged_history(self, "checking the history of a controlled schedule")
        if found:
            self.violations.extend(found)
            raise found[0]


def judged_history(run, doing: str) -> list[Violation]:
    """A run's history judged as a free-running one's (conservation, then FIFO per call,
    or strict), its clock in steps: for the thread plans and the asyncio ones."""
    calls = run.history.calls()
    with kit_code(doing):
        return (checkers.conservation(calls, run.batches, extra=run.stops)
                or checkers.fifo_queue(calls, run.plan.maxsize, run.strict,
                                       clock=lambda t: f"step {t}"))


def _error_text(exc: BaseException, files: frozenset) -> str:
    """The exception and the implementation's own frames: the kit's are noise here."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in files]
    where = "".join(traceback.format_list(frames)).rstrip()
    text = f"{type(exc).__name__}: {exc}"
    return f"{text}\n{where}" if where else text


class _Failed(Exception):
    """Ends the thread that found a violation; the scheduler ends the run."""


@dataclass
class Exploration:
    """What one test's exploration found, as plain data (it may cross from the sandbox)."""

    schedules: int
    failed_at: int | None = None  # 1-based index of the first failing schedule
    strategy: str = ""
    props: tuple = ()
    message: str = ""
    trace: str = ""  # and after it, the fields two threads touched with no lock in common
    switches: int = 0  # forced switches left after minimizing
    switches_before: int = 0
    steps: int = 0
    steps_before: int = 0
    plan: str = ""  # the plan the trace is of: the test's, or a smaller one
    found_again: str = ""  # on a smaller plan: which schedule of its search failed
    calls: int = 0  # queue calls in the trace
    calls_before: int = 0  # in the failing run first found
    bound: int = -1  # a systematic search's preemption bound (-1: random walk and PCT)
    complete: bool = False  # it ran every schedule within its bound (and found nothing)
    skipped: str = ""  # why the queue cannot be explored
    queue_error: str = ""  # Queue(maxsize) raised: the implementation's error
    kit_error: str = ""  # the kit itself failed: its traceback
    kit_doing: str = ""  # what it was doing then

    def asdict(self) -> dict:
        return asdict(self)


def explore_queue(module, plan: str, seed: int, schedules: int, strict: bool = False) -> str:
    """Up to `schedules` schedules of the plan (JSON of a `QueuePlan`) on the queues of
    `module`, the implementation's, judged per call or, with `strict`, for
    linearizability too; the first failure, minimized, if any, as JSON of an
    `Exploration`."""
    plan = QueuePlan(**json.loads(plan))
    return json.dumps(_explore(module, plan, seed, schedules, strict))


def explore_systematic(module, plan: str, seed: int, bound: int, schedules: int,
                       strict: bool = False) -> str:
    """`explore_queue`, the search systematic: every schedule of the plan with at most
    `bound` preemptions, up to the order of steps that commute, or the first
    `schedules` of them; the Exploration says whether it was `complete`. A failure is
    shrunk as any other (`seed` draws the smaller plans' searches)."""
    plan = QueuePlan(**json.loads(plan))
    return json.dumps(_explore(module, plan, seed, schedules, strict, bound))


def _explore(module, plan: QueuePlan, seed: int, schedules: int, strict: bool,
             bound: int | None = None) -> dict:
    withdraw_interrupts()
    try:
        role = managed_role(module, plan.maxsize)
    except _QueueNotBuilt as exc:
        return Exploration(0, queue_error=str(exc)).asdict()
    except Exception as exc:  # noqa: BLE001 - e.g. a demo at import starting threads
        reason = str(exc) if isinstance(exc, CannotLoad) else f"{type(exc).__name__}: {exc}"
        return Exploration(0, skipped=f"the queue cannot be loaded for controlled runs: "
                       f"{reason}").asdict()
    return guarded(lambda: _explored(role, plan, seed, schedules, strict, bound), "queue",
                   "searching and shrinking the schedules", _PollsTooFinely, (
                       f"a run of {plan.id} took {MAX_STEPS} switch points without ending: "
                       "the queue polls more finely than this plan's virtual pauses can be "
                       "explored (each poll is a switch point); the other controlled plans "
                       "judge it"))


def guarded(explored, what: str, doing: str, endless: type[Exception],
            endless_reason: str) -> dict:
    """What `explored()` (an `Exploration`) found, as a dict; or why it could not be
    explored (a test skipped with the reason), the queue's own error (Queue(maxsize)
    raised), or the kit's error, with what it was `doing`. `endless` is the exception
    of a run that never ends, skipped for `endless_reason`."""
    try:
        return explored().asdict()
    except _Uncontrolled as exc:
        return Exploration(0, skipped=f"a thread blocked outside the scheduler's control: "
                           f"{exc}").asdict()
    except endless:
        return Exploration(0, skipped=endless_reason).asdict()
    except CannotLoad as exc:
        return Exploration(0, skipped=f"the {what} cannot be explored: {exc}").asdict()
    except _QueueNotBuilt as exc:
        return Exploration(0, queue_error=str(exc)).asdict()
    except KitError as exc:
        return Exploration(0, kit_error=exc.trace, kit_doing=exc.doing).asdict()
    except Exception as exc:  # noqa: BLE001 - escaped the kit's own machinery: its bug
        return Exploration(0, kit_error=kit_traceback(exc), kit_doing=doing).asdict()


def _explored(role: ManagedRole, plan: QueuePlan, seed: int, schedules: int,
              strict: bool, bound: int | None = None) -> Exploration:
    """The search (random walk and PCT, or with a `bound` systematic) and, on a
    failure, its shrinking: what the test reports."""
    shrinking: list[bool] = []

    def attempt(plan: QueuePlan, strategy):
        def start():
            run = _Run(role, plan, strict)
            return run, run.body(run.main)
        result, findings, run = run_main(start, strategy, role.files, plan.granularity)
        if _polled_out(plan, findings, run):
            if not shrinking:
                raise _PollsTooFinely
            return result, [], run  # while shrinking: not the failure being shrunk
        return result, findings, run

    if bound is None:
        found = _search(attempt, plan, seed, schedules)
        if found is None:
            return Exploration(schedules)
    else:
        systematic = Systematic(bound)
        found = _systematic(attempt, plan, systematic, schedules)
        if found is None:
            return Exploration(systematic.runs, bound=bound, complete=systematic.exhausted)
    shrinking.append(True)
    index, description, failure = found
    target = _verdict(failure[1], failure[2])[0]  # what every smaller failure must break
    first_calls = _calls(failure[2])
    small, small_failure, found_again = _fewer_calls(attempt, plan, seed, failure, target)
    exploration = _minimized(lambda strategy: attempt(small, strategy), *small_failure,
                             target=target, most_calls=first_calls,
                             fields=lambda result: _fields(role, small, strict, result))
    exploration.schedules, exploration.failed_at = index + 1, index + 1
    exploration.strategy = description
    exploration.plan, exploration.calls_before = small.id, first_calls
    exploration.found_again = found_again
    exploration.bound = -1 if bound is None else bound
    return exploration


def run_main(start, strategy, files, granularity: str):
    """One schedule of a run whose one thread at the start is the kit's `main` (it
    starts the rest): `start()` builds the run and main's body afresh, `(run, body)`;
    (the scheduler's result, its findings, the run). A thread that blocks outside the
    scheduler's control ends the exploration (`_Uncontrolled`)."""
    latest = []

    def scenario():
        run, body = start()
        latest[:] = [run]
        return [body], run.check
    try:
        result, findings = run_once(scenario, strategy, files, MAX_STEPS, granularity,
                                    names=["main"])
    except SchedulerError as exc:
        raise _Uncontrolled(str(exc)) from None
    return result, findings, latest[0]


class _Uncontrolled(Exception):
    pass


class _PollsTooFinely(Exception):
    """A contest's run reached MAX_STEPS with nothing wrong seen: a queue that polls."""


def _polled_out(plan: QueuePlan, findings, run: _Run) -> bool:
    """Whether a run of a plan with virtual pauses ran out of switch points and nothing
    else: a correct queue polling every 0.1 ms spends 20,000 of them polling through
    the contest's 0.44 virtual seconds of pauses. A livelock, or a late call, is still
    judged by the plans without pauses (and a late call in flight by this one too)."""
    return (bool(plan.pauses) and {f.kind for f in findings} == {"step-limit"}
            and not run.violations and _late_in_flight(findings, run) is None)


def _search(attempt, plan: QueuePlan, seed: int, schedules: int, like=None, steps=None):
    """The first failing schedule of a random walk and PCT in turn, both drawn from
    `seed`: (its index, the strategy's description, (result, findings, run)), or
    None. With `like` (the properties a failure broke, and its calls), only one that
    breaks the same properties in no more calls counts; with `steps`, the search stops
    once its runs took that many switch points.

    No `Exhaustive` here: without partial-order reduction even one preemption is more
    than 3,000 schedules at these plans. And its own loop rather than `explore()`'s:
    it alternates two strategies, builds PCT from the first run's steps, filters by
    `like` and stops on a step budget, which `explore()`, the small public API for
    one strategy, should not grow options for."""
    walk, pct = RandomWalk(seed), None
    spent = 0
    for index in range(schedules):
        strategy = walk if index % 2 == 0 or pct is None else pct
        result, findings, run = attempt(plan, strategy)
        description = strategy.describe()
        if pct is None:  # PCT's k bounds a run's steps: the first run measures them
            pct = PCT(seed + 1, depth=3, steps_estimate=max(result.steps, 1))
        if findings and (like is None or _same_failure(findings, run, *like)):
            return index, description, (result, findings, run)
        spent += result.steps
        if steps is not None and spent >= steps:
            return None
    return None


def _systematic(attempt, plan: QueuePlan, strategy: Systematic, schedules: int):
    """The first failing schedule of the systematic search, as `_search` gives it, or
    None once it ran every schedule within its bound (`strategy.exhausted`) or
    `schedules` of them."""
    for index in range(schedules):
        if strategy.exhausted:
            return None
        result, findings, run = attempt(plan, strategy)
        if findings:
            return index, strategy.describe(), (result, findings, run)
    return None


def _smaller(plan: QueuePlan) -> list[QueuePlan]:
    """The plans one step smaller: an item fewer per producer, a producer fewer, a
    consumer fewer (a consumer fewer is one get and one stop marker fewer)."""
    out = []
    if plan.items > 1:
        out.append(replace(plan, items=plan.items - 1))
    if plan.producers > 1:
        out.append(replace(plan, producers=plan.producers - 1))
    if plan.consumers > 1:
        out.append(replace(plan, consumers=plan.consumers - 1))
    return out


def _calls(run: _Run) -> int:
    return len(run.history.calls())


def _same_failure(findings, run: _Run, target: tuple, most_calls: int) -> bool:
    """The `target` properties broken, in no more than `most_calls` calls: every
    shrinking step keeps both, so a shown trace never has more calls than the failure
    first found. `_verdict` passes over the run's history (O(calls)) for each
    attempt, since each attempt's run is another; the target is computed once."""
    return _calls(run) <= most_calls and _verdict(findings, run)[0] == target


def _fewer_calls(attempt, plan: QueuePlan, seed: int, failure, target: tuple):
    """The smallest plan found to fail the same way, and that failure: each smaller
    plan gets a short search of its own (the same seed), the first that breaks the
    `target` properties in no more calls becomes the plan, until none does or the
    budget is spent. A reader follows a trace of 4 calls more easily than one of 17.
    Whole plans only: a producer's first put cannot be dropped while its second
    stays (single calls within a plan are not shrunk).
    -> (plan, failure, which schedule of whose search found it: "" for the test's own)."""
    spent = [0]
    where = ""

    def counted(plan, strategy):
        got = attempt(plan, strategy)
        spent[0] += got[0].steps
        return got

    shrinking = True
    while shrinking:
        shrinking = False
        for smaller in _smaller(plan):
            left = FEWER_CALLS_STEPS - spent[0]
            if left <= 0:
                return plan, failure, where
            try:
                found = _search(counted, smaller, seed, FEWER_CALLS_SCHEDULES,
                                (target, _calls(failure[2])), left)
            except _Uncontrolled:  # the smaller plan blocks outside control: keep this one
                return plan, failure, where
            if found is not None:
                index, description, failure = found
                plan, shrinking = smaller, True
                where = f"schedule {index + 1} of its search (strategy {description})"
                break
    return plan, failure, where


def _minimized(attempt, result, findings, run, target: tuple,
               most_calls: int, fields=lambda result: "") -> Exploration:
    """The failure, with its schedule shrunk to the fewest forced switches, breaking
    the `target` properties (the failure's own) in no more than `most_calls` calls
    (the first failure's: with fewer switches a run may get further before it fails);
    `fields(its run's result)` is the report's section after the trace."""
    recorder = Differences(result.schedule)
    try:
        first = attempt(recorder)
    except (KitError, ReplayDiverged) as exc:  # diverged in a thread, or at the start
        cause = exc if isinstance(exc, ReplayDiverged) else exc.__cause__
        if not isinstance(cause, ReplayDiverged):
            raise
        raise _unreplayable(kit_traceback(cause), findings, run) from None
    if not first[1] or recorder.position != len(result.schedule):
        raise _unreplayable(f"the replay made {recorder.position} of the run's "
                            f"{len(result.schedule)} recorded decisions"
                            f"{' and found nothing' if not first[1] else ''}", findings, run)
    overrides = recorder.overrides
    best = (first, len(overrides))

    spent = 0

    def fails(keys) -> bool:
        nonlocal best, spent
        if spent > MINIMIZE_STEPS:
            return False
        try:
            got = attempt(Guided({k: overrides[k] for k in keys}))
        except _Uncontrolled:  # blocked outside control: shrinking stops where it is
            spent = MINIMIZE_STEPS + 1
            return False
        spent += got[0].steps
        if got[1] and _same_failure(got[1], got[2], target, most_calls):
            best = (got, len(keys))
            return True
        return False

    ddmin(sorted(overrides), fails, MINIMIZE_RUNS)
    (result, findings, run), switches = best
    props, message = _verdict(findings, run)
    return Exploration(
        schedules=0, props=props, message=message,
        trace=_shown(result.trace) + fields(result), switches=switches,
        switches_before=len(overrides),
        steps=result.steps, steps_before=first[0].steps, calls=_calls(run))


def _unreplayable(how: str, findings, run) -> KitError:
    """The kit's error for a failing run whose replay went another way (`how`): the run
    was not a function of its schedule, so what it found is shown and not judged (it
    may be the machine's doing, and must never fail a correct implementation)."""
    return KitError(
        "replaying the failing schedule it had found: the replay went another way, so that "
        "run was not decided by its schedule alone (state the implementation keeps from one "
        "run to the next, such as a module-level variable; random numbers; the real clock; "
        "a thread the scheduler does not run), and what it found is not judged",
        f"{how}\n\nWhat the run found, not judged since the replay does not find it:\n"
        f"{_verdict(findings, run)[1]}")


def _fields(role: ManagedRole, plan: QueuePlan, strict: bool, result) -> str:
    """The fields two threads touched with no lock in common in the shown schedule
    (`result`'s), run once more under an observer (`lockset`): only a failure pays."""
    run = _Run(role, plan, strict)
    try:
        found = lockset.observe_replay(run.queue, [run.body(run.main)], ["main"],
                                       result.schedule, role.files, result.steps,
                                       plan.granularity)
    except KitError as exc:  # a hint, never the verdict: the failure above stands
        return (f"{lockset.HEADING}\n  not shown: the kit failed while {exc.doing} (a bug "
                "in prodcon, not in the implementation); the failure above stands.")
    return lockset.section(found, role.files)


def _shown(trace) -> str:
    """The trace with the kit's own way of ending a run left out: the violation is the
    marked step."""
    steps = [s for s in trace.steps if not (s.text.startswith("raised ")
                                            and s.text.endswith("._Failed"))]
    if len(steps) < len(trace.steps):
        for step in steps:
            step.mark = step.text.startswith("VIOLATION")
    trace.steps = steps
    return trace.format()


def _join_stuck(findings, run: _Run) -> Violation | None:
    """A run that never ended while the coordinator sat in join() after every
    task_done() had returned: join() is what failed, whatever else was waiting."""
    if not {f.kind for f in findings} & {"deadlock", "step-limit"}:
        return None
    calls = run.history.calls("main")
    # the scheduler unwound the parked threads at the end: their calls "raised" that
    last = calls[-1] if calls else None
    stuck_in_join = last is not None and last.op == "join" and (
        last.end is None or type(last.error).__name__ == "_Abort")
    acks = sum(1 for c in run.history.calls() if c.op == "task_done" and c.ok)
    if not stuck_in_join or acks < run.total:
        return None
    return Violation("join", f"join() never returned, though all {run.total} task_done() "
                     "calls had returned: it must return once every item put is marked "
                     "done.\n" + "\n".join(str(f) for f in findings))


def _late_in_flight(findings, run: _Run) -> Violation | None:
    """A run that never ended (a deadlock, the step limit) while a timed call was
    already late, or waited with no timeout when nothing else could happen: the
    timed call is what failed first (a correct one would have given up and let the
    run go on)."""
    if run.violations or not {f.kind for f in findings} & {"deadlock", "step-limit"}:
        return None
    late = run.deadlines.late_in_flight()
    if not late:
        return None
    call = late[0]
    refused = "Full" if call.text.startswith("put") else "Empty"
    return Violation("timeout", call.message(refused) + "\n" +
                     "\n".join(str(f) for f in findings))


def _verdict(findings, run: _Run) -> tuple[tuple, str]:
    """(the properties broken, the message): what the report says, and what shrinking
    a schedule must keep."""
    stuck = _join_stuck(findings, run) or _late_in_flight(findings, run)
    if stuck is not None:
        return stuck.props, stuck.message
    if run.violations:
        props = tuple(dict.fromkeys(p for v in run.violations for p in v.props))
        return props, "\n\n".join(f"[{v.prop}] {v.message}" for v in run.violations)
    kinds = {f.kind for f in findings}
    props = ("deadlock",) if kinds & {"deadlock", "step-limit"} else ("exceptions",)
    parts = []
    for finding in findings:
        if finding.kind == "exception":
            parts.append(f"a {run.LANE} died: {finding.text.strip()}\n{run.ESCAPES}")
        elif finding.kind == "deadlock":
            parts.append(f"deadlock: {finding.text}\nA correct queue lets every blocked "
                         "call go on once what it waits for happened.")
        else:
            parts.append(f"{finding.kind}: {finding.text}")
    return props, "\n\n".join(parts)
