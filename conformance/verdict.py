"""What a failed check raises, and the properties it can name.

Two kinds: `Violation` for a property the implementation broke (an AssertionError,
so Hypothesis shrinks it), and `Stuck` for a call or scenario that stopped making
progress (a BaseException, so Hypothesis does not replay a hang dozens of times
while shrinking). The plugin turns both into a report a student can read.
"""

from __future__ import annotations

from typing import Literal, get_args

#: The names a finding can carry: the keys of `PROPERTIES`, spelled out for type checkers.
Property = Literal[
    "conservation", "order", "capacity", "blocking", "timeout", "exceptions", "sizes",
    "any-item", "join", "sentinel-shutdown", "deadlock", "queue-shutdown", "full-empty",
    "strict-linearizability", "free-threading", "cancellation", "cancel-shutdown", "awaited",
    "event-loop",
]

#: The properties a failure can name, with what the correct behaviour is.
PROPERTIES = {
    "conservation": "every item put is taken exactly once: none lost, none duplicated, "
    "nothing invented",
    "order": "first in, first out: one producer's items in the order it put them, and any "
    "item whose put returned before another's put began comes out first",
    "capacity": "a queue never holds more than maxsize items; maxsize <= 0 means unbounded",
    "blocking": "a blocking put/get waits until it can proceed and then does; "
    "a non-blocking form never waits",
    "timeout": "a timed put/get gives up (Full/Empty; asyncio: TimeoutError) once its "
    "timeout has elapsed, never before",
    "exceptions": "Full, Empty and ValueError exactly where queue.Queue raises them, "
    "and nothing else escapes",
    "sizes": "qsize(), empty() and full() describe the queue exactly when nothing is moving",
    "any-item": "any object is a valid item: None, falsy, unhashable, or with an odd "
    "__eq__/__bool__",
    "join": "join() returns only once task_done() was called for every item put, "
    "and does return then",
    "sentinel-shutdown": "each of N consumers returns right after taking exactly one of the "
    "N sentinels; producers put no sentinel; no thread is left running",
    "deadlock": "every scenario keeps making progress until it finishes",
    "queue-shutdown": "shutdown() follows Python 3.13's queue.Queue.shutdown semantics",
    "full-empty": "each Full or Empty answer is true at some instant of its own call, given "
    "the calls under way then: no Empty while an item is certainly inside, no Full while "
    "there is certainly room",
    "strict-linearizability": "with --prodcon-strict: the whole run is explained by one "
    "atomic FIFO queue taking the calls one at a time, each somewhere between its start "
    "and its end",
    "free-threading": "correct without the GIL as well: the stress scenarios pass on a "
    "free-threaded Python, where threads really run at the same time",
    "cancellation": "asyncio: a get() or put() cancelled while it waits (a timeout, "
    "task.cancel()) leaves the queue as if it had never been called: no item lost or "
    "duplicated, and a wake-up it was given goes on to the next waiter",
    "cancel-shutdown": "asyncio, STOP = \"cancel\": after join(), each consumer task ends "
    "when it is cancelled (the asyncio documentation's worker example), holding no item",
    "awaited": "asyncio: every coroutine a producer or consumer makes (put, get, join) is "
    "awaited; one created and dropped does nothing",
    "event-loop": "asyncio: the implementation never blocks the event loop: no time.sleep(), "
    "no threading lock, condition or queue.Queue call that waits, on the loop's thread",
}


def known(prop: str) -> str:
    """`prop`, if it is a property of the kit; else a ValueError (a bug in prodcon: every
    finding must name a property a report can explain). Not an assert: it must hold
    under `python -O` too."""
    if prop not in PROPERTIES:
        raise ValueError(f"{prop!r} is not a prodcon property (one of {', '.join(PROPERTIES)})")
    return prop


class Evidence:
    """The history behind a finding, and the calls that prove it: what the picture shows.

    `explanation` is the text printed on the picture. It starts as the finding's own
    message but is kept apart on purpose: when several findings of one scenario are
    combined (`Violation.combine`) the report's message grows, while the picture keeps
    the text of the finding whose history it draws.
    """

    def __init__(self, ops: list, culprits: tuple[int, ...], explanation: str) -> None:
        self.ops = ops
        self.culprits = culprits
        self.explanation = explanation


class Violation(AssertionError):
    """The implementation broke `prop`; `message` says how, to whom, and what was due.

    Several findings of one scenario travel together (`combine`), so one run reports
    everything it saw; `props` lists every property among them.
    """

    def __init__(self, prop: str, message: str, props: tuple[str, ...] = ()) -> None:
        known(prop)
        super().__init__(message)
        self.prop = prop
        self.message = message
        self.props = props or (prop,)
        self.evidence: Evidence | None = None

    @classmethod
    def combine(cls, violations: list[Violation]) -> Violation:
        if len(violations) == 1:
            return violations[0]
        props = tuple(dict.fromkeys(p for v in violations for p in v.props))
        parts = [f"[{v.prop}] {v.message}" for v in violations]
        combined = cls(violations[0].prop, "\n\n".join(parts), props)
        combined.evidence = next((v.evidence for v in violations if v.evidence), None)
        return combined


def judge(violations: list[Violation]) -> None:
    """Raise every violation found, together, or nothing."""
    if violations:
        raise Violation.combine(violations)


class Stuck(BaseException):
    """A call or a scenario stopped making progress within its bound."""

    def __init__(self, prop: str, message: str) -> None:
        known(prop)
        super().__init__(message)
        self.prop = prop
        self.message = message
        self.props = (prop,)
        self.evidence: Evidence | None = None


def expect(condition: bool, prop: str, message: str) -> None:
    """Raise a `Violation` of `prop` unless `condition` holds."""
    if not condition:
        raise Violation(prop, message)


if set(get_args(Property)) != set(PROPERTIES):  # the two spellings of one vocabulary
    raise ImportError("verdict.Property and verdict.PROPERTIES disagree")
