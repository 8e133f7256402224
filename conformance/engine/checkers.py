"""Checkers: judge a recorded history. They never run threads.

Each returns a list of `Violation`s (empty when the property holds). Items are
matched by identity, and every rule is one that no correct queue can break however
the threads were scheduled: an item is "certainly in the queue" only between the
moment its put returned and the moment a get for it began.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from prodcon.engine.recording import Call, gave, took
from prodcon.history import fileformat, linearizability
from prodcon.items import describe
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
