"""Is a history of puts and gets explainable by one FIFO queue, one call at a time?

Two checkers behind one `check()`:

- **Rules**, for histories whose put values are unique and whose calls all returned
  (the kit's own always are): an unbounded queue's history is linearizable exactly
  when none of a few local violations occurs (Henzinger, Sezgin and Vafeiadis,
  CONCUR 2013; an Empty answer is judged against the union of the intervals in
  which items were certainly inside). Each rule is a sort and a sweep, O(n log n),
  and names the few calls that prove it. For a bounded queue we add capacity rules
  (overfull, put into a full queue, Full with room to spare): sound, but capacity
  and FIFO order can together forbid a history that breaks no local rule, so when
  they find nothing the exact search confirms.
- **Exact search** (`exact_search`, Wing-Gong / Lowe with memoization) for the rest:
  repeated values, calls that never returned. Exponential in the worst case, so it
  runs under a time limit and may answer "unknown"; on histories recorded from real
  runs it places one call per step and is linear.

The rules were validated against the exact search on hundreds of thousands of small
random histories (tests/test_linearizability.py) with no disagreement.

Real-time order is strict: a call precedes another when it ended before the other
began; calls that touch at one instant may be ordered either way. So an item is
"certainly in the queue" only strictly between the end of its put and the start of
its get, and "possibly in the queue" from the start of its put to the end of its get.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .histfile import Op

INF = math.inf

#: Each rule, and the kit property it breaks.
RULES = {
    "invented": "conservation",  # a get returned a value no put stored
    "taken-early": "conservation",  # a get returned before the value's put began
    "taken-twice": "conservation",  # two gets returned the same value
    "order": "order",  # FIFO broken: y put after x, taken before x was asked for
    "lost": "conservation",  # x put before y, y taken, x never taken
    "false-empty": "linearizability",  # Empty while the queue certainly held an item
    "overfull": "capacity",  # more than maxsize items certainly in the queue at once
    "put-into-full": "capacity",  # a put succeeded while the queue was certainly full
    "false-full": "linearizability",  # Full while the queue certainly had room
    "wrong-error": "exceptions",  # a get raised Full, or a put raised Empty
    "no-order": "linearizability",  # the exact search found no explaining order
}

Clock = Callable[[float], str]


@dataclass
class Verdict:
    """`linearizable` is None when the exact search gave up at its time limit."""

    linearizable: bool | None
    method: str  # "rules" or "search"
    rule: str | None = None
    message: str = ""
    culprits: tuple[int, ...] = ()  # Op.index of the calls that prove the violation
    explored: int = field(default=0, repr=False)

    @property
    def prop(self) -> str | None:
        return RULES[self.rule] if self.rule else None


def check(ops: Sequence[Op], maxsize: int = 0, time_limit: float = 10.0,
          clock: Clock = str) -> Verdict:
    """Judge a history against a FIFO queue of capacity `maxsize` (<= 0: unbounded).

    `clock` turns a time into text for the explanation ("1.204 ms").
    """
    ops = [op for op in ops if not op.ignored]
    wrong = _wrong_errors(ops, clock)
    if wrong is not None:
        return wrong
    if not fast_path_applies(ops):
        return _search(ops, maxsize, time_limit, clock)
    verdict = Rules(ops, maxsize, clock).verdict()
    if verdict.linearizable is False or maxsize <= 0:
        return verdict
    # The capacity rules are sound but not complete: FIFO order and capacity can
    # together forbid a history that breaks no local rule. The search settles it,
    # and on the histories of real runs it never backtracks (one step per call).
    confirmed = _search(ops, maxsize, time_limit, clock)
    return confirmed if confirmed.linearizable is False else verdict


def fast_path_applies(ops: Sequence[Op]) -> bool:
    """Unique put values and no call left hanging: the rules decide exactly."""
    seen = set()
    for op in ops:
        if op.pending:
            return False
        if op.op == "put" and op.error is None:
            if op.value in seen:
                return False
            seen.add(op.value)
    return True


def _wrong_errors(ops: Sequence[Op], clock: Clock) -> Verdict | None:
    for op in ops:
        if (op.op, op.error) in (("get", "Full"), ("put", "Empty")):
            return Verdict(False, "rules", "wrong-error",
                           f"{_who(op, clock)}: a {op.op} can only raise "
                           f"{'Empty' if op.op == 'get' else 'Full'}.", (op.index,))
    return None


def _who(op: Op, clock: Clock) -> str:
    return f"{op.thread}'s {op.text()} [{clock(op.start)} .. {_end_text(op, clock)}]"


def _end_text(op: Op, clock: Clock) -> str:
    return "never returned" if op.end is None else clock(op.end)


def _search(ops: Sequence[Op], maxsize: int, time_limit: float, clock: Clock) -> Verdict:
    from .exact_search import search

    result = search(ops, maxsize, time_limit)
    if result.linearizable is None:
        return Verdict(None, "search", None,
                       f"unknown: the exact search gave up after {time_limit:g} s "
                       f"({result.explored} states explored).", (), result.explored)
    if result.linearizable:
        return Verdict(True, "search", explored=result.explored)
    done = set(result.longest)
    stuck = sorted((op for op in ops if op.index not in done and not op.pending),
                   key=lambda op: op.start)
    blocking = stuck[:3]
    shown = "; ".join(_who(op, clock) for op in blocking)
    message = (f"no order of the calls, one at a time on a FIFO queue"
               f"{_capacity_text(maxsize)}, explains this history. The longest explainable "
               f"start covers {len(done)} of {len(ops)} calls; after it, none of these can "
               f"come next: {shown}.")
    return Verdict(False, "search", "no-order", message,
                   tuple(op.index for op in blocking), result.explored)


def _capacity_text(maxsize: int) -> str:
    return f" of capacity {maxsize}" if maxsize > 0 else ""


class Rules:
    """The local violations of a unique-value, complete history, checked in turn."""

    def __init__(self, ops: Sequence[Op], maxsize: int, clock: Clock) -> None:
        self.ops = ops
        self.maxsize = maxsize
        self.clock = clock
        self.puts = {op.value: op for op in ops if op.op == "put" and op.error is None}
        self.gets: dict[object, list[Op]] = {}
        for op in ops:
            if op.op == "get" and op.error is None:
                self.gets.setdefault(op.value, []).append(op)

    def verdict(self) -> Verdict:
        for rule in (self.fresh, self.twice, self.fifo, self.false_empty, self.overfull,
                     self.put_into_full, self.false_full):
            found = rule()
            if found is not None:
                rule_name, message, culprits = found
                return Verdict(False, "rules", rule_name, message,
                               tuple(op.index for op in culprits))
        return Verdict(True, "rules")

    def who(self, op: Op) -> str:
        return _who(op, self.clock)

    # --- conservation -------------------------------------------------------------

    def fresh(self):
        for value, gets in self.gets.items():
            put = self.puts.get(value)
            first = min(gets, key=lambda g: g.end)
            if put is None:
                return ("invented",
                        f"{self.who(first)} returned {first.label}, which no put stored. "
                        "A queue hands out only what was put into it.", [first])
            if first.end < put.start:
                return ("taken-early",
                        f"{self.who(first)} returned {first.label} before it was put: "
                        f"{self.who(put)} began only after that get had returned.",
                        [put, first])
        return None

    def twice(self):
        for value, gets in self.gets.items():
            if len(gets) > 1:
                a, b = sorted(gets, key=lambda g: g.start)[:2]
                put = self.puts[value]
                return ("taken-twice",
                        f"{a.label} was put once ({self.who(put)}) but taken twice: by "
                        f"{self.who(a)} and by {self.who(b)}. Each item comes out exactly once.",
                        [put, a, b])
        return None

    # --- FIFO ---------------------------------------------------------------------

    def fifo(self):
        """x's put ended before y's began, y was taken, and x was not asked for by then.

        Puts sorted by end; taken values in order of their put's start; a running
        maximum of "when x's get began" (infinite when x was never taken) over the
        puts that ended before y's began finds the worst x for each y.
        """
        by_end = sorted(self.puts.values(), key=lambda op: op.end)
        first_get_start = {v: min(g.start for g in gs) for v, gs in self.gets.items()}
        taken = sorted((self.puts[v] for v in self.gets), key=lambda op: op.start)
        worst: Op | None = None
        worst_start = -INF
        i = 0
        for put_y in taken:
            while i < len(by_end) and by_end[i].end < put_y.start:
                x = by_end[i]
                x_start = first_get_start.get(x.value, INF)
                if x_start > worst_start:
                    worst, worst_start = x, x_start
                i += 1
            get_y = min(self.gets[put_y.value], key=lambda g: g.end)
            if worst is not None and get_y.end < worst_start:
                return self._fifo_message(worst, put_y, get_y)
        return None

    def _fifo_message(self, put_x: Op, put_y: Op, get_y: Op):
        x, y = put_x.label, put_y.label
        before = (f"{x} was put before {y}'s put began ({self.who(put_x)} returned before "
                  f"{self.who(put_y)} began)")
        if put_x.value not in self.gets:
            return ("lost",
                    f"{before}, and {y} was taken ({self.who(get_y)}), but {x} never came "
                    f"out: it was lost. A FIFO queue hands out {x} before {y}.",
                    [put_x, put_y, get_y])
        get_x = min(self.gets[put_x.value], key=lambda g: g.start)
        return ("order",
                f"{before}, but {y} was taken before {x} was even asked for: "
                f"{self.who(get_y)} returned before {self.who(get_x)} began. "
                f"A FIFO queue hands out {x} first.",
                [put_x, put_y, get_y, get_x])

    # --- occupancy ----------------------------------------------------------------

    @functools.cached_property
    def certain(self) -> list[tuple[float, float, Op]]:
        """Open intervals in which an item was certainly in the queue."""
        spans = []
        for value, put in self.puts.items():
            gets = self.gets.get(value)
            leave = min(g.start for g in gets) if gets else INF
            if put.end < leave:
                spans.append((put.end, leave, put))
        return spans

    @functools.cached_property
    def certain_steps(self):
        """How many items were certainly inside, as a step function (see `_pieces`)."""
        return self._pieces(self.certain, closed=False)

    def false_empty(self):
        """An Empty answer whose whole interval is covered by items certainly inside."""
        empties = [op for op in self.ops if op.op == "get" and op.error == "Empty"]
        if not empties:
            return None
        spans = sorted(self.certain, key=lambda s: s[0])
        merged: list[list] = []  # [left, right, spans]: disjoint open intervals
        for span in spans:
            if merged and span[0] < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], span[1])
                merged[-1][2].append(span)
            else:
                merged.append([span[0], span[1], [span]])
        lefts = [m[0] for m in merged]
        for empty in empties:
            k = bisect.bisect_left(lefts, empty.start) - 1
            if k >= 0 and merged[k][1] > empty.end:
                chain = _cover(merged[k][2], empty.start, empty.end)
                inside = ", ".join(f"{put.label} (put returned at {self.clock(put.end)}, "
                                   f"{self._asked(put)})" for put in chain)
                return ("false-empty",
                        f"{self.who(empty)}, but for the whole of "
                        f"that call it certainly held an item: {inside}. get() raises Empty "
                        "only when the queue is empty.", [empty, *chain, *self._takers(chain)])
        return None

    def _takers(self, puts: list[Op]) -> list[Op]:
        return [min(self.gets[p.value], key=lambda g: g.start) for p in puts
                if p.value in self.gets]

    def _asked(self, put: Op) -> str:
        gets = self.gets.get(put.value)
        if not gets:
            return "never taken"
        return f"first asked for at {self.clock(min(g.start for g in gets))}"

    def _pieces(self, spans, closed: bool):
        """Occupancy as a step function: coordinates, and counts on points and gaps.

        Piece 2*i+1 is coordinate i itself, piece 2*i the open gap before it, and
        the last piece the gap after the last coordinate. With `closed` an interval
        counts at its own end points, else only strictly inside.
        """
        coords = sorted({t for s in spans for t in s[:2] if t != INF})
        counts = [0] * (2 * len(coords) + 1)
        for left, right, _ in spans:
            lo = bisect.bisect_left(coords, left)
            hi = bisect.bisect_left(coords, right) if right != INF else len(coords)
            # Points lo..hi (inclusive when closed) and the gaps between them.
            first = 2 * lo + (1 if closed else 2)
            last = (2 * hi + 1 if closed else 2 * hi) if right != INF else len(counts) - 1
            if first <= last:
                counts[first] += 1
                if last + 1 < len(counts):
                    counts[last + 1] -= 1
        running = 0
        for j, delta in enumerate(counts):
            running += delta
            counts[j] = running
        return coords, counts

    def _range(self, coords, start: float, end: float) -> tuple[int, int]:
        """The pieces a closed interval [start, end] touches."""
        lo = bisect.bisect_left(coords, start)
        first = 2 * lo + 1 if lo < len(coords) and coords[lo] == start else 2 * lo
        hi = bisect.bisect_left(coords, end)
        last = 2 * hi + 1 if hi < len(coords) and coords[hi] == end else 2 * hi
        return first, last

    def overfull(self):
        if self.maxsize <= 0:
            return None
        spans = self.certain
        coords, counts = self.certain_steps
        worst = max(range(len(counts)), key=counts.__getitem__, default=None)
        if worst is None or counts[worst] <= self.maxsize:
            return None
        moment = self._moment(coords, worst)
        held = [put for left, right, put in spans if left < moment < right]
        names = ", ".join(f"{p.label} ({p.thread}, put returned at {self.clock(p.end)})"
                          for p in held[:self.maxsize + 1])
        return ("overfull",
                f"the queue held {len(held)} items at once although maxsize={self.maxsize}: "
                f"{names} had each been put and not yet asked for at {self.clock(moment)}. "
                "A put on a full queue must wait (or raise Full).", held[:self.maxsize + 1])

    @staticmethod
    def _moment(coords, piece: int) -> float:
        i = piece // 2
        if piece % 2:
            return coords[i]
        if i == 0:
            return coords[0] - 1
        if i == len(coords):
            return coords[-1] + 1
        return (coords[i - 1] + coords[i]) / 2

    def put_into_full(self):
        """A put that succeeded although the queue was certainly full all along."""
        if self.maxsize <= 0:
            return None
        spans = self.certain
        coords, counts = self.certain_steps
        room = _prefix([c < self.maxsize for c in counts])
        for put in sorted(self.puts.values(), key=lambda op: op.start):
            first, last = self._range(coords, put.start, put.end)
            if room[last + 1] - room[first] == 0:
                held = [p for left, right, p in spans if left < put.end < right]
                names = ", ".join(p.label for p in held[:self.maxsize])
                return ("put-into-full",
                        f"{self.who(put)} succeeded, but the queue was certainly full "
                        f"(maxsize={self.maxsize}) for the whole of that call: when it "
                        f"returned, {names} had been put and not yet asked for. A put on a "
                        "full queue must wait (or raise Full).", [put, *held[:self.maxsize]])
        return None

    def false_full(self):
        """Full raised although the queue certainly had room throughout the call."""
        fulls = [op for op in self.ops if op.op == "put" and op.error == "Full"]
        if not fulls:
            return None
        if self.maxsize <= 0:
            op = fulls[0]
            return ("false-full", f"{self.who(op)}, but the queue is unbounded "
                                  "(maxsize <= 0): it is never full.", [op])
        spans = []
        for value, put in self.puts.items():
            gets = self.gets.get(value)
            spans.append((put.start, max(g.end for g in gets) if gets else INF, put))
        coords, counts = self._pieces(spans, closed=True)
        full = _prefix([c >= self.maxsize for c in counts])
        for op in fulls:
            first, last = self._range(coords, op.start, op.end)
            if full[last + 1] - full[first] == 0:
                most = max(counts[first:last + 1], default=0)
                return ("false-full",
                        f"{self.who(op)}, but the queue (maxsize={self.maxsize}) "
                        f"held at most {most} item(s) at any moment of that call. put() "
                        "raises Full only when the queue is full.", [op])
        return None


def _prefix(flags: list[bool]) -> list[int]:
    sums = [0]
    for flag in flags:
        sums.append(sums[-1] + flag)
    return sums


def _cover(spans, start: float, end: float) -> list[Op]:
    """A short chain of certain-presence intervals that covers [start, end]."""
    chain: list[Op] = []
    reach = start
    candidates = [s for s in spans if s[1] > start]
    while True:
        best = max((s for s in candidates if s[0] < reach), key=lambda s: s[1], default=None)
        if best is None:  # pragma: no cover - the caller proved the cover exists
            return chain
        chain.append(best[2])
        if best[1] > end:
            return chain
        reach = best[1]
        # An open interval ending at `reach` leaves `reach` itself to the next one.
        candidates = [s for s in candidates if s[1] > reach]
