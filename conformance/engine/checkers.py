"""Checkers: judge a recorded history. They never run threads.

Each returns a list of `Violation`s (empty when the property holds). Items are
matched by identity, and every rule is one that no correct queue can break however
the threads were scheduled: an item is "certainly in the queue" only between the
moment its put returned and the moment a get for it began.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from prodcon.engine.recording import Call, gave, took
from prodcon.history import fileformat, linearizability
from prodcon.items import describe, name_value, value_key
from prodcon.verdict import Evidence, Violation

SHOW = 8  # items named in a message before "and N more"


def named(objs: Sequence[Any]) -> str:
    shown = ", ".join(describe(o) for o in objs[:SHOW])
    return shown + (f" and {len(objs) - SHOW} more" if len(objs) > SHOW else "")


def conservation(
    calls: list[Call], batches: Sequence[Sequence[Any]], extra: Iterable[Any] = ()
) -> list[Violation]:
    """Every item put was taken exactly once, and nothing else was taken.

    `extra` are objects the kit itself put (its own stop markers), legal to take.
    """
    takers: dict[int, list[Call]] = {}
    for c in calls:
        if took(c):
            takers.setdefault(id(c.value), []).append(c)
    legal = {id(item) for batch in batches for item in batch} | {id(o) for o in extra}
    violations = []

    lost = lost_items(calls, batches)
    if lost:
        violations.append(Violation(
            "conservation",
            f"{len(lost)} item(s) were put (put() returned) but never taken: {named(lost)}. "
            "Every item put must come out of the queue exactly once.",
        ))
    doubled = [item for batch in batches for item in batch if len(takers.get(id(item), ())) > 1]
    if doubled:
        first = takers[id(doubled[0])]
        who = ", ".join(f"{c.thread} ({c.signature()})" for c in first)
        violations.append(Violation(
            "conservation",
            f"{len(doubled)} item(s) were taken more than once: {named(doubled)}; "
            f"{describe(doubled[0])} was taken {len(first)} times, by {who}. "
            "Each item put must be taken exactly once.",
        ))
    invented = [cs[0].value for key, cs in takers.items() if key not in legal]
    if invented:
        violations.append(Violation(
            "conservation",
            f"get() returned {len(invented)} object(s) that no producer put: "
            f"{named(invented)}. A queue hands out only what was put into it.",
        ))
    return violations


def lost_items(calls: list[Call], batches: Sequence[Sequence[Any]]) -> list[Any]:
    """The items of `batches` whose put returned and that no get returned, in batch
    order: what `conservation` calls lost once a run is over (a run still going may
    yet hand them out)."""
    put_ids = {id(c.item) for c in calls if gave(c)}
    taken_ids = {id(c.value) for c in calls if took(c)}
    return [item for batch in batches for item in batch
            if id(item) in put_ids and id(item) not in taken_ids]


# --- Everyday payloads: judged by value ----------------------------------------------
#
# A small int or an interned string is one object however often it is put, so
# identity cannot say which put a get answers. These two checkers judge by value
# (`items.value_key`): the multiset of values taken against the multiset put, and each
# producer's values in the order it put them. They need each value to belong to one
# producer (`items.make_payloads` makes them so); a value several producers put is
# counted, never ordered.


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _places(positions: Sequence[int]) -> str:
    """Zero-based positions as a report says them: `2nd`, `2nd and 5th`."""
    words = [_ordinal(i + 1) for i in positions[:SHOW]]
    more = f" and {len(positions) - SHOW} more" if len(positions) > SHOW else ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + f" and {words[-1]}{more}"


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


class _Owners:
    """Where each value of the run comes from: key -> [(producer, position), ...]."""

    def __init__(self, batches: Sequence[Sequence[Any]]) -> None:
        self.places: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for producer, batch in enumerate(batches):
            for position, value in enumerate(batch):
                self.places.setdefault(value_key(value), []).append((producer, position))

    def producer(self, key: tuple[str, str]) -> int | None:
        """The one producer that put values with this key, or None (none, or several)."""
        owners = {p for p, _ in self.places.get(key, ())}
        return owners.pop() if len(owners) == 1 else None

    def origin(self, key: tuple[str, str]) -> str:
        """`put by p0, its 2nd item` / `put 3 times by p1, its 2nd, 4th and 9th items`."""
        by: dict[int, list[int]] = {}
        for producer, position in self.places.get(key, ()):
            by.setdefault(producer, []).append(position)
        parts = []
        for producer, positions in by.items():
            many = len(positions) > 1
            parts.append(f"put {_times(len(positions))} by p{producer}, its "
                         f"{_places(positions)} item{'s' if many else ''}" if many else
                         f"put by p{producer}, its {_places(positions)} item")
        return "; ".join(parts)


def _value_list(entries: list[str]) -> str:
    return "; ".join(entries[:SHOW]) + (f"; and {len(entries) - SHOW} more"
                                        if len(entries) > SHOW else "")


def conservation_of_values(calls: list[Call], batches: Sequence[Sequence[Any]],
                           extra: Iterable[Any] = ()) -> list[Violation]:
    """Every value put was taken as many times as it was put, and nothing else taken.

    Values are compared by `value_key`, counted as a multiset; `extra` are objects
    the kit itself put (its stop markers), legal to take, told by their key too (a
    queue that hands out equal copies hands out copies of them).
    """
    kit = {value_key(o) for o in extra}
    owners = _Owners(batches)
    put: Counter = Counter()
    taken: Counter = Counter()
    sample: dict[tuple[str, str], Any] = {}
    takers: dict[tuple[str, str], list[str]] = {}
    for c in calls:
        if gave(c) and (key := value_key(c.item)) not in kit:
            put[key] += 1
            sample.setdefault(key, c.item)
        elif took(c) and (key := value_key(c.value)) not in kit:
            taken[key] += 1
            sample.setdefault(key, c.value)
            takers.setdefault(key, []).append(c.thread)
    violations = []
    lost = put - taken
    if lost:
        entries = []
        for key, missing in lost.items():
            taken_too = (f"; taken {_times(taken[key])}, {missing} short" if taken[key]
                         else "")
            entries.append(f"{name_value(sample[key])} ({owners.origin(key)}{taken_too})")
        total = sum(lost.values())
        distinct = f" ({len(lost)} different)" if 1 < len(lost) < total else ""
        violations.append(Violation(
            "conservation",
            f"{total} value{'s' if total > 1 else ''} put {'were' if total > 1 else 'was'} "
            f"never taken{distinct}: {_value_list(entries)}. Every value put must come out of the "
            "queue as many times as it was put, whatever the value: an int, a float nan, "
            "an empty string, a value equal to one already queued.",
        ))
    surplus = taken - put
    doubled = {key: n for key, n in surplus.items() if key in put}
    if doubled:
        entries = [f"{name_value(sample[key])} ({owners.origin(key)}; taken "
                   f"{_times(taken[key])}, by {', '.join(takers[key])})"
                   for key in doubled]
        total = sum(doubled.values())
        violations.append(Violation(
            "conservation",
            f"{len(doubled)} value{'s' if len(doubled) > 1 else ''} came out more often "
            f"than {'they were' if len(doubled) > 1 else 'it was'} put ({total} extra "
            f"get{'s' if total > 1 else ''}): {_value_list(entries)}. Each value put is "
            "taken exactly as many times as it was put.",
        ))
    invented = [key for key in surplus if key not in put]
    if invented:
        entries = [f"{name_value(sample[key])} (taken {_times(taken[key])}, by "
                   f"{', '.join(takers[key])})" for key in invented]
        violations.append(Violation(
            "conservation",
            f"get() returned {len(invented)} value{'s' if len(invented) > 1 else ''} that "
            f"no producer put: {_value_list(entries)}. A queue hands out only what was "
            "put into it, unchanged (not a copy of another type, not a decoded form).",
        ))
    return violations


def order_of_values(calls: list[Call], batches: Sequence[Sequence[Any]],
                    extra: Iterable[Any] = (), last: str | None = None) -> list[Violation]:
    """Each thread took each producer's values in the order that producer put them.

    What one thread takes of producer p's values must be a subsequence of p's
    values (equal values matched greedily, so repeats are allowed); with one
    consumer, and conservation holding, that is p's sequence itself. `last` names a
    thread whose takes all began after every other thread's had ended (the kit's
    drain of what was left): its takes continue every other thread's.
    """
    kit = {value_key(o) for o in extra}
    owners = _Owners(batches)
    runs: dict[str, list[Call]] = {}
    for c in sorted(calls, key=lambda c: c.start):
        if took(c) and value_key(c.value) not in kit:
            runs.setdefault(c.thread, []).append(c)
    tail = runs.pop(last, []) if last is not None else []
    chains = []
    for thread, run in runs.items():
        follows = bool(tail) and all(t.start > run[-1].end for t in tail)
        chains.append((thread if not follows else f"{thread} (then {last})",
                       run + tail if follows else run))
    if tail and not chains:
        chains.append((last, tail))
    for thread, run in chains:
        found = _out_of_order(thread, run, owners, batches)
        if found is not None:
            return [found]
    return []


def _out_of_order(thread: str, run: list[Call], owners: _Owners,
                  batches: Sequence[Sequence[Any]]) -> Violation | None:
    """Greedy subsequence matching of one thread's takes against each producer's values.

    Matching each take to the earliest equal value after the last match is optimal:
    it fails only when no order of p's values explains the thread's takes.
    """
    keys = [[value_key(v) for v in batch] for batch in batches]
    matched: dict[int, list[tuple[tuple[str, str], int]]] = {}  # producer -> (key, position)
    for c in run:
        key = value_key(c.value)
        producer = owners.producer(key)
        if producer is None:
            continue
        sequence = keys[producer]
        done = matched.setdefault(producer, [])
        try:
            done.append((key, sequence.index(key, done[-1][1] + 1 if done else 0)))
            continue
        except ValueError:
            pass
        return _order_violation(thread, c.value, producer, done, batches[producer], sequence)
    return None


def _order_violation(thread: str, value: Any, producer: int,
                     done: list[tuple[tuple[str, str], int]], batch: Sequence[Any],
                     sequence: list[tuple[str, str]]) -> Violation:
    """`value`, taken by `thread`, fits nowhere after the producer's values it took before.

    Named against the last different value the thread took (the anchor): after it,
    the thread took `value` more often than the producer put it.
    """
    key = value_key(value)
    p = f"p{producer}"
    positions = [i for i, k in enumerate(sequence) if k == key]
    where = f"{p}'s {_places(positions)} item{'s' if len(positions) > 1 else ''}"
    anchor = next(((k, at) for k, at in reversed(done) if k != key), None)
    if anchor is None:  # only a doubled value fits nowhere at all: conservation says so
        what = f"{thread} took {name_value(value)} ({where}) more often than {p} put it"
    else:
        at = anchor[1]
        after = sum(1 for i in positions if i > at)
        taken = 1 + sum(1 for k, i in done if k == key and i > at)
        anchor_name = f"{name_value(batch[at])} ({p}'s {_ordinal(at + 1)} item)"
        what = (f"{thread} took {name_value(value)} ({where}) after {anchor_name}, although "
                f"{p} put it before that one" if not after else
                f"{thread} took {name_value(value)} ({where}) {_times(taken)} after "
                f"{anchor_name}, but {p} put it only {_times(after)} after that one")
    return Violation(
        "order",
        f"{what}: one producer's values come out in the order it put them, whichever "
        "consumer takes them, whatever the value.",
    )


def ms(ns: float) -> str:
    """The kit's times (nanoseconds from the first call) as people read them."""
    return f"{ns / 1e6:.3f} ms"


def fifo_queue(calls: list[Call], maxsize: int, strict: bool = False,
               clock=ms) -> list[Violation]:
    """The puts and gets, judged against a FIFO queue of that capacity.

    By default per call (`linearizability.per_call`): FIFO order between every
    producer and every consumer (with any number of either), capacity, and each
    Empty / Full answer true at some instant of its own call. With `strict`, a history
    that passes is then checked for linearizability (one atomic queue explains it all);
    failing only that is `strict-linearizability`. The violation carries the history,
    for the picture.
    """
    ops = fileformat.from_calls(calls)
    found = linearizability.per_call(ops, maxsize, clock)
    if found is not None:
        return [_violation(found.prop, found.message, found.culprits, ops)]
    if not strict:
        return []
    verdict = linearizability.check(ops, maxsize, clock=clock)
    if verdict.linearizable is not False:
        return []
    message, culprits = _not_atomic(verdict, ops, maxsize, clock)
    return [_violation("strict-linearizability", message, culprits, ops)]


def _violation(prop: str, message: str, culprits: tuple[int, ...], ops) -> Violation:
    violation = Violation(prop, message)
    violation.evidence = Evidence(ops, culprits, message)
    return violation


def _not_atomic(verdict, ops, maxsize: int, clock) -> tuple[str, tuple[int, ...]]:
    """What a history that is right call by call, yet not linearizable, means: the
    message and the calls it names."""
    if verdict.rule != "no-order":  # the stricter Empty rule explains itself
        return verdict.message, verdict.culprits
    found = linearizability.split_call(ops, maxsize, clock)
    if found is None:
        return ("each Full and Empty answer is true at some instant of its own call, but not "
                "all of them at once: correct for producers and consumers, not atomic. "
                f"{verdict.message}", verdict.culprits)
    explanation, culprits = found  # only a bounded queue has Full answers to explain
    return (f"no order of the calls, one at a time on one atomic FIFO queue of capacity "
            f"{maxsize}, explains this history, though each Full and Empty answer is true at "
            f"some instant of its own call. {explanation}", culprits)


def thread_errors(workers: Iterable[Any], prop: str = "exceptions", why: str = ""
                  ) -> list[Violation]:
    """Exceptions that escaped the implementation inside a scenario's threads (or tasks:
    a worker with `kind = "task"`), each followed by `why` when given."""
    violations = []
    for w in workers:
        if w.error is not None:
            said = str(w.error)
            text = (f"{getattr(w, 'kind', 'thread')} {w.name} died with "
                    f"{type(w.error).__name__}{': ' + said if said else ''}\n"
                    f"    {w.error_trace}").rstrip()
            violations.append(Violation(prop, f"{text}\n{why}" if why else text))
    return violations
