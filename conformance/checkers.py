"""Checkers: judge a recorded history. They never run threads.

Each returns a list of `Violation`s (empty when the property holds). Items are
matched by identity, and every rule is one that no correct queue can break however
the threads were scheduled: an item is "certainly in the queue" only between the
moment its put returned and the moment a get for it began.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .history import Call, gave, took
from .items import Item, describe
from .verdict import Violation

SHOW = 8  # items named in a message before "and N more"


def named(objs: Sequence[Any]) -> str:
    shown = ", ".join(describe(o) for o in objs[:SHOW])
    return shown + (f" and {len(objs) - SHOW} more" if len(objs) > SHOW else "")


def _ms(ns: int, origin: int) -> str:
    return f"{(ns - origin) / 1e6:.3f} ms"


def conservation(
    calls: list[Call], batches: Sequence[Sequence[Any]], extra: Iterable[Any] = ()
) -> list[Violation]:
    """Every item put was taken exactly once, and nothing else was taken.

    `extra` are objects the kit itself put (its own stop markers), legal to take.
    """
    put_ids = {id(c.item) for c in calls if gave(c)}
    takers: dict[int, list[Call]] = {}
    for c in calls:
        if took(c):
            takers.setdefault(id(c.value), []).append(c)
    legal = {id(item) for batch in batches for item in batch} | {id(o) for o in extra}
    violations = []

    lost = [item for batch in batches for item in batch
            if id(item) in put_ids and id(item) not in takers]
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


def producer_order(calls: list[Call], batches: Sequence[Sequence[Item]]) -> list[Violation]:
    """Per producer: no later item is taken before an earlier one was even asked for.

    With x put before y (same producer), a FIFO queue cannot hand out y by a get that
    ended before the get that took x had begun, whichever consumers did the gets.
    """
    taken_by: dict[int, Call] = {}
    for c in calls:
        if took(c):
            taken_by.setdefault(id(c.value), c)
    origin = min((c.start for c in calls), default=0)
    for batch in batches:
        earliest: tuple[int, Any, Call] | None = None  # latest get start among earlier items
        for item in batch:
            get = taken_by.get(id(item))
            if get is None:
                continue
            if earliest is not None and get.end < earliest[0]:
                _, before, before_get = earliest
                return [Violation(
                    "order",
                    f"{describe(item)} was taken by {get.thread} (its {get.signature()} returned "
                    f"at {_ms(get.end, origin)}) before {before_get.thread} even asked for "
                    f"{describe(before)} (its get began at {_ms(before_get.start, origin)}), "
                    f"although the producer put {describe(before)} first. A FIFO queue "
                    "hands out one producer's items in the order it put them.",
                )]
            if earliest is None or get.start > earliest[0]:
                earliest = (get.start, item, get)
    return []


def capacity(calls: list[Call], maxsize: int) -> list[Violation]:
    """Never more than `maxsize` items certainly in the queue at one moment."""
    if maxsize <= 0:
        return []
    got_start: dict[int, int] = {}
    for c in calls:
        if took(c):
            got_start.setdefault(id(c.value), c.start)
    # Only items that were taken count: an item never taken is the conservation
    # checker's finding, and counting it as held forever would blame capacity too.
    events = []  # (time, +1/-1, item); at equal times a leave sorts before an enter
    for c in calls:
        if gave(c):
            start_of_get = got_start.get(id(c.item))
            if start_of_get is not None and c.end < start_of_get:
                events.append((c.end, 1, id(c.item), c.item))
                events.append((start_of_get, -1, id(c.item), c.item))
    events.sort(key=lambda e: (e[0], e[1]))
    inside: dict[int, Any] = {}
    for _, delta, key, item in events:
        if delta < 0:
            inside.pop(key, None)
            continue
        inside[key] = item
        if len(inside) > maxsize:
            held = list(inside.values())
            return [Violation(
                "capacity",
                f"the queue held {len(held)} items at once although maxsize={maxsize}: "
                f"{named(held)} had each been put (put() returned) and not yet asked for "
                "(no get() begun). A put on a full queue must wait (or raise Full).",
            )]
    return []


def thread_errors(workers: Iterable[Any], prop: str = "exceptions") -> list[Violation]:
    """Exceptions that escaped the implementation inside a scenario's threads."""
    violations = []
    for w in workers:
        if w.error is not None:
            violations.append(Violation(
                prop,
                f"thread {w.name} died with {type(w.error).__name__}: {w.error}\n"
                f"    {w.error_trace}".rstrip(),
            ))
    return violations
