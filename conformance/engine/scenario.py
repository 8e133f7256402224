"""Concurrent scenarios: seeded producers and consumers, every queue call recorded.

A scenario runs threads and records; it judges nothing itself but hands the
history to the checkers. Three kinds:

- `run_queue_scenario`: the kit's own producers and consumers drive the Queue
  under test through every form of put and get.
- `run_join_scenario`: the same, each item acknowledged with task_done(), and
  join() called while the consumers are still at work.
- `run_payload_scenario`: the same as the first with everyday values for items
  (ints, floats, str, None, repeats...), judged by value.
- `run_worker_scenario`: the user's `producer` and `consumer` run against a
  known-good queue, coordinated by the N-sentinel protocol of the contract.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from prodcon import reference
from prodcon.engine import checkers
from prodcon.engine.harness import Crew, Worker, call, probe_state
from prodcon.engine.recording import History, gave, took
from prodcon.errors import kit_code
from prodcon.history import fileformat
from prodcon.items import Item, describe, make_batch, make_payloads
from prodcon.settings import Settings, Shape, gil_disabled
from prodcon.verdict import Evidence, Stuck, Violation, judge


class Stop:
    """The kit's own end-of-work marker for its consumers in queue-role scenarios."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"stop#{self.index}"


def _pause(rng: random.Random, slow: bool) -> None:
    if slow and rng.random() < 0.3:
        time.sleep(rng.uniform(0.0001, 0.001))


def _describe_pending(history: History) -> Callable[[str], str]:
    def doing(name: str) -> str:
        pending = history.pending(name)
        if pending is None:
            return "not in a queue call"
        waited = (time.perf_counter_ns() - pending.start) / 1e9
        return f"in {pending.signature()} for {waited:.2f} s"

    return doing


def _crew(settings: Settings, queue: Any, history: History) -> Crew:
    """Threads watched through the history: progress, queue state, each one's call."""
    return Crew(settings, history.progress, _state(settings, queue, history),
                _describe_pending(history))


def _state(settings: Settings, queue: Any, history: History) -> Callable[[], str]:
    def state() -> str:
        calls = history.calls()
        put = sum(gave(c) for c in calls)
        taken = sum(took(c) for c in calls)
        return (f"{probe_state(settings, queue)}; history: {put} put() calls returned, "
                f"{taken} items taken")

    return state


# --- Queue role -------------------------------------------------------------------------


class Form(Enum):
    """How one put or get is written; the scenarios draw one per call, seeded."""

    BLOCKING = "blocking"  # put(item), get()
    TIMED = "timeout"  # put(item, timeout=0.05), get(timeout=0.05)
    NO_BLOCK = "block=False"  # put(item, block=False), get(block=False)
    NOWAIT = "nowait"  # put_nowait(item), get_nowait()


def _draw_form(rng: random.Random) -> Form:
    """Mostly the blocking form; a tenth each of the other three."""
    draw = rng.random()
    if draw < 0.7:
        return Form.BLOCKING
    if draw < 0.8:
        return Form.TIMED
    if draw < 0.9:
        return Form.NO_BLOCK
    return Form.NOWAIT


def _produce(view: Any, batch: Sequence[Any], rng: random.Random, slow: bool, full: type,
             retry: float) -> None:
    """Put every item of the batch, in order, through a seeded mix of the put forms.

    `retry` is the pause before trying again after Full; 0 only yields, which keeps
    an unpaced scenario as tight as it can be.
    """
    for item in batch:
        form = _draw_form(rng)
        while True:
            try:
                if form is Form.BLOCKING:
                    view.put(item)
                elif form is Form.TIMED:
                    view.put(item, timeout=0.05)
                elif form is Form.NO_BLOCK:
                    view.put(item, block=False)
                else:
                    view.put_nowait(item)
                break
            except full:
                time.sleep(retry)  # the queue was full: a legal answer, try again
        _pause(rng, slow)


def _consume(view: Any, rng: random.Random, slow: bool, empty: type, retry: float,
             ack: bool) -> None:
    """Take items through a seeded mix of the get forms until a stop marker comes.

    With `ack`, every item taken is acknowledged with task_done() at once (after
    the pause, when slow): unpaced, get() and task_done() race each other's updates
    of the queue's state from every consumer at the same time.
    """
    while True:
        form = _draw_form(rng)
        try:
            if form is Form.BLOCKING:
                value = view.get()
            elif form is Form.TIMED:
                value = view.get(timeout=0.05)
            elif form is Form.NO_BLOCK:
                value = view.get(block=False)
            else:
                value = view.get_nowait()
        except empty:
            time.sleep(retry)  # nothing there yet: a legal answer, ask again
            continue
        if isinstance(value, Stop):
            return
        _pause(rng, slow)
        if ack:
            view.task_done()


@dataclass
class _QueueRun:
    """The kit's producers and consumers at work on the Queue under test."""

    queue: Any
    history: History
    batches: list[list[Any]]
    stops: list[Stop]
    crew: Crew
    consumers: list[Worker]
    producers: list[Worker]
    by_value: bool = False  # everyday payloads: judged by value, not identity

    @classmethod
    def start(cls, settings: Settings, impl: Any, shape: Shape, rng: random.Random,
              items_per_producer: int, odd_share: float, retry: float,
              ack: bool, payloads: bool = False) -> _QueueRun:
        """A new queue, and every consumer then every producer started on it.

        Each thread's generator is drawn from `rng` in that order, after the items:
        the same seed gives the same items, forms and pauses. With `payloads` the
        items are everyday values (`make_payloads`), not the kit's own objects.
        """
        queue = call(settings, impl.Queue, shape.maxsize, what=f"Queue({shape.maxsize})")
        history = History()
        batches = [make_payloads(p, shape.producers, items_per_producer, rng) if payloads
                   else make_batch(p, items_per_producer, rng, odd_share)
                   for p in range(shape.producers)]
        crew = _crew(settings, queue, history)
        consumers = [crew.start(f"c{i}", _consume, history.view(queue, f"c{i}"),
                                random.Random(rng.random()), shape.pace == "slow-consumers",
                                impl.Empty, retry, ack)
                     for i in range(shape.consumers)]
        producers = [crew.start(f"p{p}", _produce, history.view(queue, f"p{p}"), batch,
                                random.Random(rng.random()), shape.pace == "slow-producers",
                                impl.Full, retry)
                     for p, batch in enumerate(batches)]
        stops = [Stop(i) for i in range(shape.consumers)]
        return cls(queue, history, batches, stops, crew, consumers, producers, payloads)

    def stop_consumers(self) -> None:
        """Put one stop marker per consumer and wait until every consumer has returned."""
        view = self.history.view(self.queue, "main")
        stopper = self.crew.start("main", lambda: [view.put(stop) for stop in self.stops])
        self.crew.wait([stopper, *self.consumers],
                       "waiting for the consumers to take their stop markers")

    def explain_stuck(self, stuck: Stuck) -> None:
        """A hang caused by a thread that died says so: the death is the finding.

        Either way the history so far goes with it, calls still running included.
        """
        ops = fileformat.from_calls(self.history.calls())
        pending = tuple(op.index for op in ops if op.pending)
        stuck.evidence = Evidence(ops, pending, stuck.message)
        findings = checkers.thread_errors(self.crew.workers)
        if findings:
            raise _with_consequence(findings, stuck) from None

    def raise_findings(self, settings: Settings, maxsize: int) -> None:
        """Raise what the threads and the history show, together, or nothing."""
        findings = (_value_findings if self.by_value else _queue_findings)(
            self.history, self.batches, self.stops, maxsize, settings.strict)
        judge(checkers.thread_errors(self.crew.workers) + findings)


def run_queue_scenario(settings: Settings, impl: Any, shape: Shape, rng: random.Random,
                       items_per_producer: int, payloads: bool = False) -> None:
    """M producers and N consumers through the Queue under test; raise what breaks.

    With `payloads`, everyday values instead of the kit's objects (`run_payload_scenario`).
    """
    run = _QueueRun.start(settings, impl, shape, rng, items_per_producer, odd_share=0.25,
                          retry=0.0002, ack=False, payloads=payloads)
    try:
        run.crew.wait(run.producers, "waiting for the producers to put their items")
        run.stop_consumers()
    except Stuck as stuck:
        run.explain_stuck(stuck)
        raise
    if _left_behind(run):
        _take_what_is_left(run.crew, run.history, run.queue,
                           bound=len(run.stops) + sum(len(batch) for batch in run.batches))
    run.raise_findings(settings, shape.maxsize)


def _left_behind(run: _QueueRun) -> bool:
    """Whether objects put may still sit in the queue after every consumer returned.

    Two ways that happens: a consumer died, or the stop markers came out before
    items put earlier (a LIFO or priority queue), so the consumers stopped early.
    """
    calls = run.history.calls()
    return (any(c.error is not None for c in run.consumers)
            or sum(map(gave, calls)) > sum(map(took, calls)))


def _take_what_is_left(crew: Crew, history: History, queue: Any, bound: int) -> None:
    """Items still in the queue once the consumers returned are not lost: take them.

    Taking them (recorded like any get) leaves conservation to the items the queue
    really lost, and lets the order checker name what it is: a get_nowait() that
    raises IndexError on an empty queue is a wrong exception type, however many
    consumers it kills; a LIFO queue hands the stop markers out before the last
    items, which is an order bug, not a loss. At most `bound` gets (every item and
    stop marker put): a queue that never says Empty cannot keep the drain going. A
    get_nowait() that hangs is the queue's `blocking` bug.
    """
    drainer = crew.start("drain", _drain, history.view(queue, "drain"), bound)
    try:
        crew.wait([drainer], "taking the items left in the queue after the consumers returned")
    except Stuck as stuck:
        hang = Violation("blocking", "get_nowait() did not return while the kit took the "
                         "items left in the queue after the consumers returned: a "
                         "non-blocking get must answer at once, with an item or Empty."
                         f"\n{stuck.message}")
        raise Violation.combine([*checkers.thread_errors(crew.workers), hang]) from None


def _drain(view: Any, bound: int) -> None:
    for _ in range(bound + 1):
        try:
            view.get_nowait()
        except Exception:  # noqa: BLE001 - Empty, or an error a dead consumer already shows
            return


def _queue_findings(history: History, batches, stops, maxsize: int,
                    strict: bool) -> list[Violation]:
    """Items conserved, then the history judged against a FIFO queue of that size.

    Conservation speaks first: a lost or doubled item would also break the
    FIFO rules, but "p0#3 was lost" says it better than any order can.
    """
    calls = history.calls()
    with kit_code("checking the recorded history"):
        return (checkers.conservation(calls, batches, extra=stops)
                or checkers.fifo_queue(calls, maxsize, strict))


def run_payload_scenario(settings: Settings, impl: Any, shape: Shape, rng: random.Random,
                         items_per_producer: int) -> None:
    """The queue scenario with the values people put in queues: small and large ints,
    floats (nan, -0.0), str, bytes, tuples, dicts, lists, None, bools, equal repeats."""
    run_queue_scenario(settings, impl, shape, rng, items_per_producer, payloads=True)


def _value_findings(history: History, batches, stops, maxsize: int,
                    strict: bool) -> list[Violation]:
    """Everyday values conserved as a multiset, then each producer's values in order.

    Capacity and the Full/Empty answers are left to the identity-judged scenarios:
    their rules need every put's item to be told apart from every other's.
    """
    calls = history.calls()
    with kit_code("checking the recorded history by value"):
        return (checkers.conservation_of_values(calls, batches, extra=stops)
                or checkers.order_of_values(calls, batches, extra=stops, last="drain"))


def _with_consequence(findings: list[Violation], stuck: Stuck) -> Violation:
    """The findings that explain a hang, with the hang report as their consequence."""
    verdict = Violation.combine(findings)
    message = f"{verdict.message}\n\nAs a consequence the run got stuck: {stuck.message}"
    combined = Violation(verdict.prop, message, verdict.props)
    combined.evidence = verdict.evidence or stuck.evidence
    return combined


# --- Worker role ------------------------------------------------------------------------


class _Handler:
    """The `handle` given to one consumer: records what it handled, and takes a moment.

    The moment of work makes "task_done() before handle() finished" observable:
    join() would return while a handle is still running.
    """

    def __init__(self, name: str, rng: random.Random, slow: bool) -> None:
        self.name = name
        self.rng = rng
        self.slow = slow
        self.handled: list[tuple[Any, int, int | None]] = []  # item, start, end

    def __call__(self, item: Any) -> None:
        start = time.perf_counter_ns()
        entry = [item, start, None]
        self.handled.append(entry)  # type: ignore[arg-type]
        time.sleep(0.0002 if not self.slow else self.rng.uniform(0.0002, 0.002))
        entry[2] = time.perf_counter_ns()


def run_worker_scenario(settings: Settings, impl: Any, shape: Shape, rng: random.Random,
                        items_per_producer: int, odd_share: float = 0.25,
                        quiet: float = 0.0) -> None:
    """The user's producers and consumers, coordinated as the contract says.

    `quiet` holds back every producer's first item that long, so consumers face an
    empty queue for a while (a consumer must not take that for the end).

    The queue is the bundled reference, so its history is not put through the
    checkers: that would test the reference, and the repeated sentinel (one object
    put N times) would send the checker to its exact search.
    """
    queue = reference.Queue(shape.maxsize)
    sentinel = impl.sentinel
    history = History()
    batches = [make_batch(p, items_per_producer, rng, odd_share)
               for p in range(shape.producers)]
    crew = _crew(settings, queue, history)
    before = set(threading.enumerate())
    handlers = [_Handler(f"c{i}", random.Random(rng.random()), shape.pace == "slow-consumers")
                for i in range(shape.consumers)]
    consumers = [crew.start(h.name, impl.consumer, history.view(queue, h.name), h)
                 for h in handlers]
    producers = []
    for p, batch in enumerate(batches):
        view = history.view(queue, f"p{p}")
        if shape.pace == "slow-producers" or quiet:
            batch_arg: Any = _SlowIterable(batch, random.Random(rng.random()), quiet,
                                           shape.pace == "slow-producers")
        else:
            batch_arg = list(batch)
        producers.append(crew.start(f"p{p}", impl.producer, view, batch_arg))
    coordinator = history.view(queue, "main")
    judgement = WorkerJudge(history, batches, handlers, consumers, producers, sentinel)
    join_call = None
    try:
        crew.wait(producers, "waiting for every producer(q, items) call to return")
        joiner = crew.start("main-join", coordinator.join)
        crew.wait([joiner], "waiting for q.join() after the producers returned", prop="join")
        join_call = coordinator.log[-1]
        # Not _QueueRun.stop_consumers: these are the user's sentinels, judged as
        # sentinel-shutdown, not the kit's own stop markers.
        stopper = crew.start("main", lambda: [coordinator.put(sentinel) for _ in consumers])
        crew.wait([stopper], "putting one sentinel per consumer")
        crew.wait(consumers, "waiting for the consumers to return after the sentinels",
                  prop="sentinel-shutdown")
    except Stuck as stuck:
        findings = judgement.findings(join_call=None, finished=False)
        if findings:
            raise _with_consequence(findings, stuck) from None
        raise
    leftovers = _new_threads(before, settings)
    findings = judgement.findings(join_call=join_call, finished=True)
    if leftovers:
        findings.append(Violation(
            "sentinel-shutdown",
            f"threads started by the implementation were still running after every consumer "
            f"returned: {', '.join(t.name for t in leftovers)}. No thread may be left behind.",
        ))
    judge(findings)


class _SlowIterable:
    """The items of a slow producer: each one takes a moment to make."""

    def __init__(self, batch: Sequence[Any], rng: random.Random, quiet: float,
                 slow: bool) -> None:
        self.batch = batch
        self.rng = rng
        self.quiet = quiet
        self.slow = slow

    def __iter__(self):
        if self.quiet:
            time.sleep(self.quiet)
        for item in self.batch:
            _pause(self.rng, self.slow)
            yield item

    def __len__(self) -> int:
        return len(self.batch)

    def __getitem__(self, index):
        return self.batch[index]


def _new_threads(before: set[threading.Thread], settings: Settings) -> list[threading.Thread]:
    deadline = time.monotonic() + settings.bound(1.0)
    while True:
        left = [t for t in threading.enumerate()
                if t not in before and t.is_alive() and not t.name.startswith("prodcon-")]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.01)


class WorkerJudge:
    """Everything the contract says of producers and consumers, from the history.

    Workers are anything with a `name`, `alive`, `error`, `error_trace` and `ended` (a
    harness `Worker`, or an async task's stand-in, `aio.workers`); with `sentinel_stop`
    False (asyncio's STOP = "cancel") the consumers end by cancellation, not sentinels."""

    def __init__(self, history: History, batches, handlers, consumers, producers, sentinel,
                 sentinel_stop: bool = True):
        self.history = history
        self.batches = batches
        self.handlers = handlers
        self.consumers = consumers
        self.producers = producers
        self.sentinel = sentinel
        self.sentinel_stop = sentinel_stop

    def findings(self, join_call, finished: bool) -> list[Violation]:
        with kit_code("judging the producers and consumers from the recorded history"):
            found = checkers.thread_errors(self.producers + self.consumers)
            found += self._producers_put_in_order()
            if self.sentinel_stop:
                found += self._sentinels(finished)
            found += self._task_done_counts()
            if join_call is not None:
                found += self._join_after_handles(join_call)
            if finished:
                found += self._handled_once()
                found += self._consumer_order()
        return found

    def _gets(self, name: str) -> list:
        return [c for c in self.history.calls(name) if took(c)]

    def _producers_put_in_order(self) -> list[Violation]:
        found = []
        for worker, batch in zip(self.producers, self.batches, strict=True):
            if worker.alive:
                continue  # still putting (or stuck): judged when it returns
            puts = [c for c in self.history.calls(worker.name) if gave(c)]
            sentinels = [c for c in puts if c.item is self.sentinel]
            if sentinels:
                found.append(Violation(
                    "sentinel-shutdown",
                    f"producer {worker.name} put the sentinel ({self.sentinel!r}) into the queue. "
                    "Producers put only their items; the coordinator puts one sentinel per "
                    "consumer once all work is done, so a producer's sentinel stops a consumer "
                    "too early.",
                ))
            put_items = [c.item for c in puts if c.item is not self.sentinel]
            late = [c for c in puts if worker.ended is not None and c.start > worker.ended]
            if late:
                found.append(Violation(
                    "conservation",
                    f"producer {worker.name} returned before putting all its items: "
                    f"{named_calls(late)} were put after producer() had returned (from another "
                    "thread). The coordinator takes the return as 'all items are in the queue'.",
                ))
            expected_ids = [id(i) for i in batch]
            if [id(i) for i in put_items] != expected_ids:
                missing = [i for i in batch if id(i) not in {id(x) for x in put_items}]
                if missing:
                    found.append(Violation(
                        "conservation",
                        f"producer {worker.name} never put {checkers.named(missing)} "
                        f"(it put {len(put_items)} of its {len(batch)} items). "
                        "producer(q, items) must put every item.",
                    ))
                else:
                    first = next(k for k, (a, b) in enumerate(zip(put_items, batch, strict=False))
                                 if a is not b)
                    found.append(Violation(
                        "order",
                        f"producer {worker.name} put {describe(put_items[first])} where "
                        f"{describe(batch[first])} was due: items must be put in the order given.",
                    ))
        return found

    def _sentinels(self, finished: bool) -> list[Violation]:
        found = []
        for worker in self.consumers:
            gets = self._gets(worker.name)
            got = [c for c in gets if c.value is self.sentinel]
            if len(got) > 1:
                found.append(Violation(
                    "sentinel-shutdown",
                    f"consumer {worker.name} took {len(got)} sentinels; it must return right "
                    "after the first, leaving the others for the other consumers.",
                ))
            if worker.alive:
                continue
            if worker.error is None and (not gets or gets[-1].value is not self.sentinel):
                last = f"right after taking {describe(gets[-1].value)}" if gets else \
                    "without taking anything"
                found.append(Violation(
                    "sentinel-shutdown",
                    f"consumer {worker.name} returned before its sentinel, {last}. A consumer "
                    "returns only on the sentinel (compared with `is`): not on a falsy item, "
                    "not on an item equal to the sentinel, not on a momentarily empty queue.",
                ))
        for handler in self.handlers:
            for entry in handler.handled:
                if entry[0] is self.sentinel:
                    found.append(Violation(
                        "conservation",
                        f"consumer {handler.name} called handle() on the sentinel "
                        f"({self.sentinel!r}); the sentinel means 'stop', it is not an item.",
                    ))
                    break
        return found

    def _task_done_counts(self) -> list[Violation]:
        found = []
        for handler in self.handlers:
            done = sum(1 for c in self.history.calls(handler.name) if c.op == "task_done" and c.ok)
            handled = len(handler.handled)
            failed = getattr(handler, "failed", None)  # an item the kit's handle() failed
            if done < handled and failed is not None:
                found.append(Violation(
                    "join",
                    f"consumer {handler.name}'s handle({describe(failed)}) raised (the kit's "
                    "handler fails on purpose for some items, as a real job can) and "
                    f"{handler.name} handled {handled} items but called task_done() only "
                    f"{done} times: q.join() can never return. Call q.task_done() in a "
                    "`finally:` around handle(item) (the asyncio documentation's worker, "
                    "with task_done() after the work, has this bug).",
                ))
            elif done < handled:
                found.append(Violation(
                    "join",
                    f"consumer {handler.name} handled {handled} items but called task_done() "
                    f"only {done} times, so q.join() can never return. Call q.task_done() once "
                    "for every item taken, after handle(item).",
                ))
        return found

    def _join_after_handles(self, join_call) -> list[Violation]:
        unfinished = [(h.name, entry[0]) for h in self.handlers for entry in list(h.handled)
                      if entry[1] < join_call.end
                      and (entry[2] is None or entry[2] > join_call.end)]
        if not unfinished:
            return []
        name, item = unfinished[0]
        return [Violation(
            "join",
            f"q.join() returned while {name} was still handling {describe(item)} "
            f"({len(unfinished)} handle() call(s) unfinished): task_done() was called before "
            "handle(item) had finished. Call q.task_done() after handling the item.",
        )]

    def _handled_once(self) -> list[Violation]:
        seen: dict[int, list[str]] = {}
        for handler in self.handlers:
            for entry in handler.handled:
                seen.setdefault(id(entry[0]), []).append(handler.name)
        everything = [i for b in self.batches for i in b]
        lost = [i for i in everything if id(i) not in seen]
        doubled = [i for i in everything if len(seen.get(id(i), ())) > 1]
        legal = {id(i) for i in everything} | {id(self.sentinel)}
        invented = [entry[0] for h in self.handlers for entry in h.handled
                    if id(entry[0]) not in legal]
        found = []
        if lost:
            found.append(Violation(
                "conservation",
                f"{len(lost)} item(s) were never handled: {checkers.named(lost)}. Every item "
                "a producer is given must reach handle() exactly once.",
            ))
        if doubled:
            found.append(Violation(
                "conservation",
                f"{len(doubled)} item(s) were handled more than once: {checkers.named(doubled)} "
                f"({describe(doubled[0])} by {', '.join(seen[id(doubled[0])])}).",
            ))
        if invented:
            found.append(Violation(
                "conservation",
                f"handle() was called with objects no producer was given: "
                f"{checkers.named(invented)}.",
            ))
        return found

    def _consumer_order(self) -> list[Violation]:
        for handler in self.handlers:
            last_seq: dict[int, Item] = {}
            for entry in handler.handled:
                item = entry[0]
                if not isinstance(item, Item):
                    continue
                before = last_seq.get(item.producer)
                if before is not None and before.seq > item.seq:
                    return [Violation(
                        "order",
                        f"consumer {handler.name} handled {describe(item)} after "
                        f"{describe(before)}, although producer p{item.producer} put it first. "
                        "A consumer handles items in the order it takes them from the queue.",
                    )]
                last_seq[item.producer] = item
        return []


def named_calls(calls) -> str:
    return checkers.named([c.item for c in calls])


# --- join under load --------------------------------------------------------------------


def run_join_scenario(settings: Settings, impl: Any, shape: Shape, rng: random.Random,
                      items_per_producer: int) -> None:
    """join() under load returns once, and only once, every task_done() was called.

    Without the GIL a Full or Empty is retried at once, to keep the race window as
    tight as it gets; with it a spinning retry only starves the threads that would
    make progress (on 3.10 the quick profile took five times as long), so it pauses.
    """
    retry = 0.0 if gil_disabled() else 0.0002
    run = _QueueRun.start(settings, impl, shape, rng, items_per_producer, odd_share=0.0,
                          retry=retry, ack=True)
    total = sum(len(b) for b in run.batches)
    try:
        run.crew.wait(run.producers, "waiting for the producers to put their items")
        joiner_view = run.history.view(run.queue, "joiner")
        joiner = run.crew.start("joiner", joiner_view.join)
        run.crew.wait([joiner], f"waiting for join() while consumers finish {total} tasks",
                      prop="join")
        join_call = joiner_view.log[-1]
        # A task_done() still returning counts: join() may return as soon as the last
        # one has brought the count to zero, before that call itself returns.
        acks = sorted(c.start for c in run.history.calls()
                      if c.op == "task_done" and c.error is None)
        early = sum(1 for start in acks if start < join_call.end)
        if early < total:
            raise Violation(
                "join",
                f"join() returned when only {early} of {total} task_done() calls had been "
                f"made ({total - early} items were still being worked on). join() must block "
                "until task_done() was called for every item put.",
            )
        run.stop_consumers()
    except Stuck as stuck:
        run.explain_stuck(stuck)
        raise
    run.raise_findings(settings, shape.maxsize)
