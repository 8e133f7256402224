"""Is a history of puts and gets explained by one FIFO queue? Two notions, one set of rules.

- **Per call** (`per_call`, the kit's default verdict): items conserved, in FIFO order,
  within capacity, and each Full or Empty answer true at some instant of its own call,
  given the calls in flight then: no Empty while, at every moment of the call, more
  puts had returned than gets had begun; no Full while there was certainly room. The
  textbook semaphore bounded buffer (a put reserves its slot, then publishes its item)
  passes: each answer is true at its own instant, though not all of them together.
- **Linearizability** (`check`; `--prodcon-strict` and `prodcon check-history`): one
  atomic FIFO queue, taking the calls one at a time, each somewhere between its start
  and its end, explains the whole history.

Both are decided by **rules**, on histories whose put values are unique and whose
calls all returned (the kit's own always are); each rule is a sort and a sweep,
O(n log n), and names the few calls that prove it. An unbounded queue's history is
linearizable exactly when none of a few local violations occurs (Henzinger, Sezgin and
Vafeiadis, CONCUR 2013; an Empty answer is judged against the union of the intervals in
which items were certainly inside); a bounded queue adds capacity rules (overfull, put
into a full queue, Full with room to spare). The per-call notion is the same rules with
a weaker Empty rule, one that allows for the gets under way.

Capacity and FIFO order can together forbid a history that breaks no local rule, so for
a bounded queue linearizability also runs the **exact search** (`search`,
Wing-Gong / Lowe with memoization), which alone decides the rest: repeated values, calls
that never returned. Exponential in the worst case, so it runs under a time limit and
may answer "unknown"; on histories recorded from real runs it places one call per step
and is linear.

The linearizability rules were validated against the exact search on hundreds of
thousands of small random histories with no disagreement, and the per-call rules on
thousands of simulated runs of the semaphore bounded buffer, none of which they fail
(tests/test_linearizability.py).

Real-time order is strict: a call precedes another when it ended before the other
began; calls that touch at one instant may be ordered either way. So an item is
"certainly in the queue" only strictly between the end of its put and the start of
its get, and "possibly in the queue" from the start of its put to the end of its get.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from prodcon.history.fileformat import Op
from prodcon.history.search import search

INF = math.inf

#: Each rule, and the kit property it breaks.
RULES = {
    "invented": "conservation",  # a get returned a value no put stored
    "taken-early": "conservation",  # a get returned before the value's put began
    "taken-twice": "conservation",  # two gets returned the same value
    "order": "order",  # FIFO broken: y put after x, taken before x was asked for
    "lost": "conservation",  # x put before y, y taken, x never taken
    "false-empty": "full-empty",  # Empty while more puts had returned than gets begun
    "overfull": "capacity",  # more than maxsize items certainly in the queue at once
    "put-into-full": "capacity",  # a put succeeded while the queue was certainly full
    "false-full": "full-empty",  # Full while the queue certainly had room
    "wrong-error": "exceptions",  # a get raised Full, or a put raised Empty
    # Linearizability only:
    "empty-while-held": "strict-linearizability",  # Empty while an item was certainly
    #   inside, which only a get that took another item accounts for
    "no-order": "strict-linearizability",  # the exact search found no explaining order
}
#: The rules of the per-call verdict, in the order they are tried (`Rules` methods).
PER_CALL_RULES = ("fresh", "twice", "fifo", "false_empty", "overfull", "put_into_full",
                  "false_full")
#: Linearizability's rules: the per-call ones, then the stricter Empty rule.
LINEARIZABILITY_RULES = (*PER_CALL_RULES, "empty_while_held")

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


@dataclass(frozen=True)
class Breach:
    """A rule a history breaks: which, how (for people), and the calls that prove it."""

    rule: str
    message: str
    culprits: tuple[int, ...]  # Op.index

    @property
    def prop(self) -> str:
        return RULES[self.rule]


def per_call(ops: Sequence[Op], maxsize: int = 0, clock: Clock = str) -> Breach | None:
    """The first per-call rule the history breaks, or None: the kit's default verdict.

    Needs unique put values and every call returned (`fast_path_applies`), as the
    kit's own histories always are; raises ValueError for any other history.
    """
    ops = [op for op in ops if not op.ignored]
    wrong = _wrong_errors(ops, clock)
    if wrong is not None:
        return Breach(wrong.rule, wrong.message, wrong.culprits)
    if not fast_path_applies(ops):
        raise ValueError("the per-call rules judge histories with unique put values and "
                         "every call returned")
    return Rules(ops, maxsize, clock).breach(PER_CALL_RULES)


def split_call(ops: Sequence[Op], maxsize: int,
               clock: Clock = str) -> tuple[str, tuple[int, ...]] | None:
    """Why a history that is right call by call is not linearizable, when a put or a
    get under way across a Full and an Empty answer shows it (`Rules.split_call`):
    the explanation and the calls it names (Op.index), or None."""
    found = Rules([op for op in ops if not op.ignored], maxsize, clock).split_call()
    if found is None:
        return None
    message, culprits = found
    return message, tuple(op.index for op in culprits)


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
        # Per value, its first get to begin and its first get to return (`min` keeps
        # the first of equal times): built once, the rules ask for them again and again.
        self.first_taker = {v: min(gs, key=lambda g: g.start) for v, gs in self.gets.items()}
        self.first_return = {v: min(gs, key=lambda g: g.end) for v, gs in self.gets.items()}

    def verdict(self) -> Verdict:
        """Linearizability as far as the rules decide it (see `check`)."""
        found = self.breach(LINEARIZABILITY_RULES)
        if found is None:
            return Verdict(True, "rules")
        return Verdict(False, "rules", found.rule, found.message, found.culprits)

    def breach(self, rules: Sequence[str]) -> Breach | None:
        """The first of `rules` (method names) the history breaks, or None."""
        for rule in rules:
            found = getattr(self, rule)()
            if found is not None:
                rule_name, message, culprits = found
                return Breach(rule_name, message, tuple(op.index for op in culprits))
        return None

    def who(self, op: Op) -> str:
        return _who(op, self.clock)

    # --- conservation -------------------------------------------------------------

    def fresh(self):
        for value, first in self.first_return.items():
            put = self.puts.get(value)
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
        taken = sorted((self.puts[v] for v in self.gets), key=lambda op: op.start)
        worst: Op | None = None
        worst_start = -INF
        i = 0
        for put_y in taken:
            while i < len(by_end) and by_end[i].end < put_y.start:
                x = by_end[i]
                x_start = self._leaves(x)
                if x_start > worst_start:
                    worst, worst_start = x, x_start
                i += 1
            get_y = self.first_return[put_y.value]
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
        get_x = self.first_taker[put_x.value]
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
        for put in self.puts.values():
            leave = self._leaves(put)
            if put.end < leave:
                spans.append((put.end, leave, put))
        return spans

    @functools.cached_property
    def certain_steps(self):
        """How many items were certainly inside, as a step function (see `_pieces`)."""
        return self._pieces(self.certain, closed=False)

    @functools.cached_property
    def empties(self) -> list[Op]:
        return [op for op in self.ops if op.op == "get" and op.error == "Empty"]

    @functools.cached_property
    def put_ends(self) -> list[float]:
        return sorted(op.end for op in self.puts.values())

    @functools.cached_property
    def get_starts(self) -> list[float]:
        return sorted(g.start for gets in self.gets.values() for g in gets)

    def _surplus(self, moment: float) -> int:
        """Puts returned before `moment`, less gets (that took an item) begun by then:
        how many items were certainly inside, beyond what the gets under way may take."""
        return (bisect.bisect_left(self.put_ends, moment)
                - bisect.bisect_right(self.get_starts, moment))

    def _lowest(self, op: Op) -> tuple[int, float]:
        """The fewest items certainly inside beyond the gets under way, at any moment
        of `op`'s call, and that moment. The count only drops when a get begins, so the
        call's start and the gets begun during it are the moments to look at."""
        first = bisect.bisect_right(self.get_starts, op.start)
        last = bisect.bisect_right(self.get_starts, op.end)
        return min((self._surplus(t), t) for t in (op.start, *self.get_starts[first:last]))

    @functools.cached_property
    def _merged_certain(self) -> list[list]:
        """The certain-presence intervals merged: [left, right, spans], disjoint, open."""
        merged: list[list] = []
        for span in sorted(self.certain, key=lambda s: s[0]):
            if merged and span[0] < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], span[1])
                merged[-1][2].append(span)
            else:
                merged.append([span[0], span[1], [span]])
        return merged

    def _held_throughout(self, op: Op) -> list[Op]:
        """The puts of a short chain of items, one at least certainly inside at every
        moment of `op`'s call; [] when there is a moment with none."""
        merged = self._merged_certain
        k = bisect.bisect_left([m[0] for m in merged], op.start) - 1
        if k >= 0 and merged[k][1] > op.end:
            return _cover(merged[k][2], op.start, op.end)
        return []

    def _inside(self, chain: list[Op]) -> str:
        return ", ".join(f"{put.label} (put returned at {self.clock(put.end)}, "
                         f"{self._asked(put)})" for put in chain)

    def false_empty(self):
        """Empty although at every moment of the call more puts had returned than gets
        had begun: an item was inside that no get under way could have taken.

        Then some item was certainly inside at every moment too (each get takes one
        item), and the message names a chain of them.
        """
        for empty in self.empties:
            if self._lowest(empty)[0] <= 0:
                continue
            chain = self._held_throughout(empty)
            during = [g for gets in self.gets.values() for g in gets
                      if g.start <= empty.end and g.end >= empty.start]
            meanwhile = (f"; the {len(during)} get(s) under way meanwhile do not account "
                         "for it: at every moment of the call more puts had returned than "
                         "gets had begun") if during else ""
            return ("false-empty",
                    f"{self.who(empty)}, but for the whole of that call it certainly held "
                    f"an item: {self._inside(chain)}{meanwhile}. get() raises Empty only "
                    "when the queue is empty.", [empty, *chain, *self._takers(chain)])
        return None

    def empty_while_held(self):
        """Empty while an item was certainly inside all along: right per call only
        because a get that had begun is counted for that item, though it took another
        one, whose put had not returned yet.

        Tried after `false_empty`, so at some moment of each Empty call as many gets
        had begun as puts had returned; one of those gets took an item whose put had
        not returned by then (each get takes one item).
        """
        for empty in self.empties:
            chain = self._held_throughout(empty)
            if not chain:
                continue
            _, moment = self._lowest(empty)
            held = next(put for put in chain if put.end < moment < self._leaves(put))
            counted = min((g for gets in self.gets.values() for g in gets
                           if g.start <= moment and self.puts[g.value].end >= moment),
                          key=lambda g: g.start)
            taken = self.puts[counted.value]
            return ("empty-while-held",
                    f"{self.who(empty)} while {held.label} was certainly inside (put "
                    f"returned at {self.clock(held.end)}, {self._asked(held)}). Call by "
                    f"call that is possible: at {self.clock(moment)} as many gets had begun "
                    f"as puts had returned, and {self.who(counted)} may count for "
                    f"{held.label}; but that get took {taken.label}, whose put returned "
                    f"only at {self.clock(taken.end)}, so one atomic queue still held "
                    f"{held.label}. A queue that updates its items and its count of items "
                    "to take in separate steps (a semaphore beside a locked buffer) does "
                    "this: correct for producers and consumers, not atomic.",
                    [empty, held, counted, taken])
        return None

    def _leaves(self, put: Op) -> float:
        """When the item was first asked for: its first get's start (INF: never)."""
        taker = self.first_taker.get(put.value)
        return INF if taker is None else taker.start

    def _takers(self, puts: list[Op]) -> list[Op]:
        return [self.first_taker[p.value] for p in puts if p.value in self.first_taker]

    def _asked(self, put: Op) -> str:
        taker = self.first_taker.get(put.value)
        if taker is None:
            return "never taken"
        return f"first asked for at {self.clock(taker.start)}"

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

    @functools.cached_property
    def fulls(self) -> list[Op]:
        return [op for op in self.ops if op.op == "put" and op.error == "Full"]

    @functools.cached_property
    def possible(self) -> dict[object, tuple[float, float, Op]]:
        """Per value, the closed interval in which its item was possibly in the queue."""
        spans = {}
        for value, put in self.puts.items():
            gets = self.gets.get(value)
            spans[value] = (put.start, max(g.end for g in gets) if gets else INF, put)
        return spans

    @functools.cached_property
    def possible_steps(self):
        """How many items were possibly inside, as a step function (see `_pieces`)."""
        return self._pieces(list(self.possible.values()), closed=True)

    def false_full(self):
        """Full raised although the queue certainly had room throughout the call."""
        if not self.fulls:
            return None
        if self.maxsize <= 0:
            op = self.fulls[0]
            return ("false-full", f"{self.who(op)}, but the queue is unbounded "
                                  "(maxsize <= 0): it is never full.", [op])
        coords, counts = self.possible_steps
        full = _prefix([c >= self.maxsize for c in counts])
        for op in self.fulls:
            first, last = self._range(coords, op.start, op.end)
            if full[last + 1] - full[first] == 0:
                most = max(counts[first:last + 1], default=0)
                return ("false-full",
                        f"{self.who(op)}, but the queue (maxsize={self.maxsize}) "
                        f"held at most {most} item(s) at any moment of that call. put() "
                        "raises Full only when the queue is full.", [op])
        return None

    # --- right per call, not atomic -----------------------------------------------------

    def _needed_by(self, full: Op, value) -> bool:
        """Whether the Full answer is true at an instant of its call only with `value`'s
        item counted inside (the rules found it true at some instant)."""
        coords, counts = self.possible_steps
        left, right, _ = self.possible[value]
        first, last = self._range(coords, full.start, full.end)
        for piece in range(first, last + 1):
            if counts[piece] >= self.maxsize:
                moment = self._moment(coords, piece)
                if counts[piece] > self.maxsize or not left <= moment <= right:
                    return False
        return True

    def _needs_begun(self, empty: Op, get: Op) -> bool:
        """Whether the Empty answer is true at an instant of its call only with `get`
        counted as begun (the rules found it true at some instant)."""
        first = bisect.bisect_right(self.get_starts, empty.start)
        last = bisect.bisect_right(self.get_starts, empty.end)
        return all(self._surplus(t) + (get.start <= t) > 0
                   for t in (empty.start, *self.get_starts[first:last]))

    def _tight_fulls(self):
        """Each Full answer true only with exactly maxsize items possibly inside, with
        the items possibly inside then: the only ones it can need. By time, swept."""
        coords, counts = self.possible_steps
        tight = []
        for full in self.fulls:
            first, last = self._range(coords, full.start, full.end)
            if max(counts[first:last + 1]) == self.maxsize:
                piece = next(j for j in range(first, last + 1) if counts[j] == self.maxsize)
                tight.append((self._moment(coords, piece), full.index, full))
        spans = sorted(self.possible.items(), key=lambda item: item[1][0])
        inside: list[tuple[float, int, object]] = []  # heap of (right, rank, value)
        added = 0
        for moment, _, full in sorted(tight, key=lambda t: t[:2]):
            while added < len(spans) and spans[added][1][0] <= moment:
                heapq.heappush(inside, (spans[added][1][1], added, spans[added][0]))
                added += 1
            while inside and inside[0][0] < moment:
                heapq.heappop(inside)
            yield full, [value for _, _, value in inside]

    def split_call(self) -> tuple[str, list[Op]] | None:
        """A put or a get under way across a Full and an Empty answer, half done for one
        and not yet for the other: why a history right call by call is not atomic.

        A put whose item a Full needs inside and a later Empty not yet inside reserved
        its place before publishing its item; a get that an Empty needs begun, and a
        later Full still holding its item's place, took the item before freeing the
        place. The textbook semaphore bounded buffer does both. Only Full answers
        with exactly maxsize items possibly inside can need one, and only one of those.
        -> (explanation, the calls it names), or None when neither shows.
        """
        if self.maxsize <= 0 or not self.empties:
            return None
        by_start = sorted(self.empties, key=lambda op: op.start)
        starts = [op.start for op in by_start]
        by_end = sorted(self.empties, key=lambda op: op.end)
        ends = [op.end for op in by_end]
        for full, candidates in self._tight_fulls():
            for value in candidates:
                if not self._needed_by(full, value):
                    continue
                put, leaves = self.puts[value], self._leaves(self.puts[value])
                # An Empty after the Full, before the item was asked for.
                after = by_start[bisect.bisect_right(starts, full.end):
                                 bisect.bisect_left(starts, leaves)]
                empty = next((e for e in after if e.end < leaves), None)
                if empty is not None:
                    return self._reserved(put, full, empty), [put, full, empty]
                # An Empty before the Full, after the item's get began.
                gets = self.gets.get(value)
                if gets is None:
                    continue
                before = by_end[bisect.bisect_left(ends, gets[0].start):
                                bisect.bisect_left(ends, full.start)]
                empty = next((e for e in before if self._needs_begun(e, gets[0])), None)
                if empty is not None:
                    return self._claimed(gets[0], empty, full), [gets[0], empty, full]
        return None

    def _reserved(self, put: Op, full: Op, empty: Op) -> str:
        taker = self.first_taker.get(put.value)
        stay = f"until {self.who(taker)} began" if taker is not None else "to the end"
        return (f"{self.who(put)} was under way when {self.who(full)} and when, later, "
                f"{self.who(empty)}. The Full is true only if {put.label} already filled a "
                f"place (without it the queue was never full during that call); the "
                f"Empty only if {put.label} was not in the queue yet (once "
                f"in, it stayed {stay}). So the put held a place before its item could be "
                "taken: it reserves its slot before it publishes its item. Correct for "
                "producers and consumers, not atomic.")

    def _claimed(self, get: Op, empty: Op, full: Op) -> str:
        return (f"{self.who(get)} was under way when {self.who(empty)} and when, later, "
                f"{self.who(full)}. The Empty is true only if that get had already taken "
                f"its item (without it, more items had been put than gets had begun); the "
                f"Full only if {get.label} still filled a place (without it the queue was "
                "never full during that call). So the get took its "
                "item before it freed the item's place: it claims an item before it "
                "releases the slot. Correct for producers and consumers, not atomic.")


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
