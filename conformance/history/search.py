"""Exact linearizability of a FIFO queue history, by search (Wing & Gong, Lowe).

Given every put and get some threads made on one queue, with the time each call
started and returned, the history is linearizable when some total order of the
calls that returned (plus any of those that never did) respects real time -- a call
that returned before another started comes first -- and is a legal run of one
sequential FIFO queue of the given capacity. This module decides it the way
Porcupine and Knossos do: a depth-first search that places one call at a time,
remembering every (calls placed, queue contents) state already explored so that no
state is explored twice.

It is the slow but exact fallback of the rule-based checker (which needs unique
values and calls that returned), and the oracle that checker is tested against, so
every shortcut it takes is one that provably never changes the answer; each is
argued where it is taken. The main ones: moves that some legal order can always
start with are taken alone, and a matching of the queued items to the gets that
will take them (`_Matching.extend`) spots a dead end as soon as the items are queued
in an order no get can undo.

The cost is exponential in the worst case: `time_limit` bounds it, and a search
that runs out of time answers "unknown" (`linearizable is None`), never a guess.
Histories from correct queues usually take about one state per call, repeated
values and calls that never returned included. What is slow is refuting a history
whose flaw shows only late, after many calls overlapping with equal values, and
(seen on generated histories) many equal values together with gets that never
returned, started long before the end.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from prodcon.history.fileformat import Op

# What a call does to the sequential queue, given its outcome.
PUT = 0          # appends its value; needs room (also a put that never returned)
FULL = 1         # a put that raised Full: legal only on a full bounded queue; no change
GET = 2          # a get that returned: legal only when its value is the head; pops it
EMPTY = 3        # a get that raised Empty: legal only on an empty queue; no change
PENDING_GET = 4  # a get that never returned: if it took effect, it took the head
NEVER = 5        # a returned call no queue explains (get raised Full, put raised
#                  Empty, Full from an unbounded queue)

#: Time-limit checks happen every this many search steps (perf_counter is cheap,
#: but not free).
CHECK_EVERY = 256
#: The visited-state memo is dropped when it holds this many queue slots in total:
#: it only saves work, so dropping it costs time, never correctness, and it keeps
#: histories with long queues from exhausting memory.
MEMO_BUDGET = 5_000_000
#: When counting alone proves a history wrong, the search still runs (this long at
#: most) to find a legal prefix that shows where it goes wrong.
EXPLAIN_SECONDS = 1.0


@dataclass
class SearchResult:
    """The answer, and what the search saw on the way.

    `linearizable` is None when the time limit ran out first. `order` (only when
    linearizable) lists the `Op.index` of each call in a legal order: every call
    that returned, plus the calls that never returned that took effect in it.
    `explored` counts the distinct states visited. `longest` is the longest legal
    order of a prefix of the history the search reached (before seeing that it
    leads nowhere): where to look when explaining a failure.
    """

    linearizable: bool | None
    order: list[int] | None = None
    explored: int = 0
    longest: list[int] = field(default_factory=list)


def search(ops: Sequence[Op], maxsize: int = 0, time_limit: float = 10.0) -> SearchResult:
    """Decide whether `ops` are the calls of one FIFO queue of capacity `maxsize`.

    `maxsize <= 0` means unbounded. Calls that failed without touching the queue
    (`Op.ignored`) are dropped. A call that never returned has no outcome: it may
    have taken effect at any time after it started, or never (any error it carries
    is disregarded). Two calls are ordered only when one returned strictly before
    the other started.
    """
    calls = [op for op in ops if not op.ignored]
    for op in calls:
        if op.op not in ("put", "get"):
            raise ValueError(f"unknown queue call {op.op!r} in {op!r}")
    history = _Calls(calls, maxsize if maxsize > 0 else math.inf)
    started = time.perf_counter()
    if history.impossible():
        result = _run(history, started + min(time_limit, EXPLAIN_SECONDS))
        return SearchResult(False, None, result.explored, result.longest)
    return _run(history, started + time_limit)


# The search is five parts, each with one job: `_Calls` (the history as fixed tables),
# `_State` (where the search stands: calls placed, queue, what is left), `_Matching`
# (how the queued items will leave, to spot dead ends early), `_moves` (which calls
# to try next), and `_run` (the depth-first loop, with its memo `_Visited`).


class _Calls:
    """The calls of one history as the search numbers them: fixed tables.

    Calls get local numbers: the calls that never returned first (they are few, and
    optional), then the ones that returned, by start time.
    """

    __slots__ = ("ops", "capacity", "n", "first_finished", "kind", "value", "start", "end",
                 "by_end", "puts", "gets", "due", "pending_gets", "rank", "rank_due")

    def __init__(self, calls: list[Op], capacity: float) -> None:
        pending = sorted((op for op in calls if op.pending), key=lambda op: op.start)
        finished = sorted((op for op in calls if not op.pending), key=lambda op: op.start)
        self.ops = pending + finished
        self.capacity = capacity
        self.n = len(self.ops)
        self.first_finished = len(pending)
        self.kind = [self._kind(op) for op in self.ops]
        self.value: list[Hashable] = [op.value for op in self.ops]
        self.start = [op.start for op in self.ops]
        self.end = [math.inf if op.pending else op.end for op in self.ops]
        # The returned calls by end time: the first one not placed yet bounds which
        # calls may come next.
        self.by_end = sorted(range(self.first_finished, self.n), key=lambda i: self.end[i])
        # The puts of each value (including those that never returned); the returned
        # gets of each value by end time; the calls that must come after every item
        # now queued is taken if they are to be placed at all (returned gets and
        # Empty answers), by end time; the gets that never returned, by start time.
        self.puts: dict[Hashable, list[int]] = {}
        self.gets: dict[Hashable, list[int]] = {}
        for i in range(self.n):
            if self.kind[i] == PUT:
                self.puts.setdefault(self.value[i], []).append(i)
        for i in self.by_end:
            if self.kind[i] == GET:
                self.gets.setdefault(self.value[i], []).append(i)
        self.due = [i for i in self.by_end if self.kind[i] in (GET, EMPTY)]
        self.pending_gets = [i for i in range(self.first_finished)
                             if self.kind[i] == PENDING_GET]
        self.rank = {i: r for gets in self.gets.values() for r, i in enumerate(gets)}
        self.rank_due = {i: r for r, i in enumerate(self.due)}

    def _kind(self, op: Op) -> int:
        if op.pending:
            return PUT if op.op == "put" else PENDING_GET
        if op.op == "put":
            if op.error is None:
                return PUT
            return FULL if op.error == "Full" and self.capacity != math.inf else NEVER
        if op.error is None:
            return GET
        return EMPTY if op.error == "Empty" else NEVER

    def impossible(self) -> bool:
        """True when counting alone proves that no order exists: a returned call no
        queue can give, or a value taken (by returned gets) more times than it was
        put. The search would find it too, but only after trying every order of
        everything before."""
        if NEVER in self.kind:
            return True
        return any(len(gets) > len(self.puts.get(v, ())) for v, gets in self.gets.items())


class _State:
    """Where the search stands: the calls placed and the queue contents.

    A state is the set of calls placed (the search's `mask`, bit i for call i, with
    `done[i]` mirroring it for fast tests) and the queue contents (`queue`). As the
    search goes down and back up, `apply` and `undo` keep the queue and the counts
    of what is left to place in step: calls of each kind, puts and returned gets of
    each value, and where the first calls not placed stand in the end-time orders.
    """

    __slots__ = ("calls", "done", "queue", "left", "puts_left", "gets_left", "first_get",
                 "first_due", "kind", "value")

    def __init__(self, calls: _Calls) -> None:
        self.calls = calls
        self.kind, self.value = calls.kind, calls.value  # read at every step
        self.done = bytearray(calls.n)
        self.queue: deque[Hashable] = deque()
        self.left = [calls.kind.count(k) for k in range(NEVER + 1)]
        self.puts_left = {v: len(puts) for v, puts in calls.puts.items()}
        self.gets_left = {v: len(gets) for v, gets in calls.gets.items()}
        self.first_get = dict.fromkeys(calls.gets, 0)
        self.first_due = 0

    def apply(self, i: int) -> Hashable:
        """Place call i (legal: `_moves` checked); returns the item it took, for undo."""
        done = self.done
        done[i] = 1
        k = self.kind[i]
        self.left[k] -= 1
        if k in (GET, EMPTY):
            due = self.calls.due
            first = self.first_due
            while first < len(due) and done[due[first]]:
                first += 1
            self.first_due = first
        if k == PUT:
            self.puts_left[self.value[i]] -= 1
            self.queue.append(self.value[i])
        elif k == GET:
            v = self.value[i]
            self.gets_left[v] -= 1
            gets, first = self.calls.gets[v], self.first_get[v]
            while first < len(gets) and done[gets[first]]:
                first += 1
            self.first_get[v] = first
            return self.queue.popleft()
        elif k == PENDING_GET:
            return self.queue.popleft()
        return None

    def undo(self, i: int, taken: Hashable) -> None:
        self.done[i] = 0
        k = self.kind[i]
        self.left[k] += 1
        if k in (GET, EMPTY):
            self.first_due = min(self.first_due, self.calls.rank_due[i])
        if k == PUT:
            self.puts_left[self.value[i]] += 1
            self.queue.pop()
        elif k == GET:
            v = self.value[i]
            self.gets_left[v] += 1
            self.first_get[v] = min(self.first_get[v], self.calls.rank[i])
            self.queue.appendleft(taken)
        elif k == PENDING_GET:
            self.queue.appendleft(taken)

    def advance(self, lo: int, e: int) -> tuple[int, int]:
        """Skip placed calls: `lo`, the first returned call not placed in start order;
        `e`, the same in end order (e == len(by_end) when all are placed)."""
        done, n, by_end = self.done, self.calls.n, self.calls.by_end
        while lo < n and done[lo]:
            lo += 1
        while e < len(by_end) and done[by_end[e]]:
            e += 1
        return lo, e

    def key(self, mask: int, lo: int) -> tuple:
        """The memo key of the current state: the calls placed and the queue.

        The returned calls before `lo` are all placed, so the key keeps only the
        bits of the calls that never returned and those from `lo` on: small, however
        long the history.
        """
        return (mask & ((1 << self.calls.first_finished) - 1), lo, mask >> lo,
                tuple(self.queue))

    def can_lose(self, head: Hashable) -> bool:
        """Whether a get that never returned may take `head` and still leave enough
        of that value for the returned gets of it not placed yet."""
        owed = self.gets_left.get(head, 0)
        return not owed or self.queue.count(head) - 1 + self.puts_left[head] >= owed


class _Walk:
    """How the queued items will leave (see `_Matching.extend`).

    `takers[p]` is the returned get matched to the item at position p, or -1 for a
    get that never returned; `blocked` when nothing can take the item after the
    last one matched. The rest is where the walk stands, to go on with a new item:
    `first_due` and `first` (per value) point past the calls placed or matched at
    the front of the end-time orders, `next_pending` past the gets that never
    returned already counted in `spare`, those that may still take an item.
    """

    __slots__ = ("takers", "matched", "blocked", "first_due", "first", "next_pending",
                 "spare")

    def __init__(self, first_due: int) -> None:
        self.takers: deque[int] = deque()
        self.matched: set[int] = set()
        self.blocked = False
        self.first_due = first_due
        self.first: dict[Hashable, int] = {}
        self.next_pending = 0
        self.spare = 0


class _Matching:
    """A matching of the queued items to the calls that will take them (`extend`),
    kept in step with the state as calls are placed (`follow`) and taken back
    (`unfollow`): it spots a dead end (`hopeless`) as soon as the items are queued
    in an order no get can undo."""

    __slots__ = ("calls", "state", "walk")

    def __init__(self, calls: _Calls, state: _State) -> None:
        self.calls = calls
        self.state = state
        self.walk = _Walk(state.first_due)

    def follow(self, i: int) -> tuple | None:
        """Bring the walk up to date after placing call i; returns what `unfollow`
        needs to put it back.

        The match of an item depends only on the items ahead of it and on the calls
        left: a put only adds an item at the tail, a Full changes neither, an Empty
        comes on an empty queue, and a returned get that takes the head as matched
        leaves the rest matched as it was. Anything else starts over.
        """
        w, k = self.walk, self.calls.kind[i]
        if k in (FULL, EMPTY):
            return None
        if k == PUT:
            saved = ("tail", len(w.takers), w.blocked, w.first_due, w.next_pending,
                     w.spare, w.first.get(self.calls.value[i]))
            self.extend()
            return saved
        if k == GET and w.takers and w.takers[0] == i:
            w.takers.popleft()
            w.matched.discard(i)
            return ("head",)
        self.walk = _Walk(self.state.first_due)
        self.extend()
        return ("all", w)

    def unfollow(self, i: int, saved: tuple | None) -> None:
        """Undo `follow(i)`; the queue must still be as call i left it."""
        w = self.walk
        if saved is None:
            return
        if saved[0] == "all":
            self.walk = saved[1]
        elif saved[0] == "head":
            w.takers.appendleft(i)
            w.matched.add(i)
        else:
            count, w.blocked, w.first_due, w.next_pending, w.spare, first = saved[1:]
            if len(w.takers) > count:
                w.matched.discard(w.takers.pop())
            if first is None:
                w.first.pop(self.calls.value[i], None)
            else:
                w.first[self.calls.value[i]] = first

    def extend(self) -> None:
        """Match the queued items after those the walk matched already, in order.

        The items leave in queue order, and the calls that take them come before
        every returned get that takes an item put later and every Empty answer. So
        the taker of each item, in turn, is a call that no unmatched returned get or
        Empty answer must precede (it starts by the `horizon`, their first end):
        the returned get of the item's value that ends first among those, or failing
        that a get that never returned, if one is left and enough of the value is
        left for its returned gets. Choosing so never hurts a later match: the
        calls not chosen stay, and the horizon only moves later. An item nothing
        can take blocks the queue for good (`blocked`).
        """
        w = self.walk
        if w.blocked:
            return
        calls, state = self.calls, self.state
        done, start, end, matched, queue = (
            state.done, calls.start, calls.end, w.matched, state.queue)
        due, pending_gets, all_gets, first_get = (
            calls.due, calls.pending_gets, calls.gets, state.first_get)
        for p in range(len(w.takers), len(queue)):
            first = w.first_due
            while first < len(due) and (done[due[first]] or due[first] in matched):
                first += 1
            w.first_due = first
            horizon = end[due[first]] if first < len(due) else math.inf
            while w.next_pending < len(pending_gets) and (
                    start[pending_gets[w.next_pending]] <= horizon):
                if not done[pending_gets[w.next_pending]]:
                    w.spare += 1
                w.next_pending += 1
            v = queue[p]
            gets = all_gets.get(v, ())
            r = w.first.get(v)
            if r is None:
                r = first_get.get(v, 0)
            while r < len(gets) and (done[gets[r]] or gets[r] in matched):
                r += 1
            w.first[v] = r
            taker = -1
            for j in gets[r:]:
                if start[j] <= horizon and not done[j] and j not in matched:
                    taker = j
                    break
            if taker >= 0:
                matched.add(taker)
            elif w.spare and state.can_lose(v):
                w.spare -= 1
            else:
                w.blocked = True
                return
            w.takers.append(taker)

    def hopeless(self) -> bool:
        """Whether a queued item nothing can take blocks the queue while a returned
        get or an Empty answer is left to place (neither can be, ever).

        This is what stops the search from trying every order of a crowd of
        overlapping puts when the first one it placed was wrong.
        """
        w, left = self.walk, self.state.left
        return w.blocked and bool(left[EMPTY] or len(w.matched) < left[GET])


def _moves(calls: _Calls, state: _State, matching: _Matching, lo: int, e: int) -> list[int]:
    """The calls worth trying next from the current state, best first.

    Candidates are the calls not yet placed that started no later than the first
    end of a returned call not yet placed (anything starting after it must come
    after it). Shortcuts cut the branching, each keeping some legal order from
    this state whenever there is one. A move is forced (the only one tried):

    * a legal candidate that leaves the queue as it is (Empty on an empty queue,
      Full on a full one): it can be moved to the front of any legal order,
      since all its real-time predecessors are placed and no call placed
      before it sees a difference;
    * a legal get that ends first among the returned gets of its value left,
      unless a Full answer is still to be placed: in a legal order where another
      get takes the head first, the two can be swapped (the other ends no
      sooner, and takes an item of the same value there); then nothing is taken
      before that get, and moving it first only gives the calls in between one
      item less;
    * a get that never returned, when no returned get may take the head (none
      of its value is left, or `_Matching.extend` found none that may come next),
      unless a Full answer is still to be placed: only such a get can take the
      head, so the same argument holds (and if the head is never taken, no get or
      Empty answer is left to place).

    A call is not a move at all:

    * a get that never returned, when a returned get may take the head now: in
      a legal order where it takes the head, that get takes an item of the same
      value later, and the two can be swapped; nor on an empty queue, where
      taking effect (as an Empty answer) is the same as never taking effect;
    * a put that never returned, of an item no returned get will take, unless a
      Full answer is still to be placed: drop it from a legal order (with the
      get that never returned that took its item, if any), and the calls in
      between see one item less, which no get or Empty answer needed.

    Among the other legal candidates, of those with the same effect (puts of
    equal values -- those that returned apart from those that did not --, gets
    of the head, gets that never returned) only the one that returned first is
    tried: in a legal order placing another one first, the two can be swapped
    (a call that starts after the later end starts after the earlier one too).
    """
    queue, done, kind, value, start, end = (
        state.queue, state.done, calls.kind, calls.value, calls.start, calls.end)
    bound = end[calls.by_end[e]]
    candidates = [i for i in range(calls.first_finished)
                  if not done[i] and start[i] <= bound]
    i = lo
    while i < calls.n and start[i] <= bound:
        if not done[i]:
            candidates.append(i)
        i += 1
    if matching.hopeless():
        return []
    # A returned get that may take the head now makes the gets that never
    # returned pointless here; an item no returned get may take makes them
    # necessary (see the docstring).
    head_getter = bool(queue) and any(
        kind[i] == GET and value[i] == queue[0] for i in candidates)
    takers = matching.walk.takers
    must_lose = bool(takers) and takers[0] == -1 and not state.left[FULL]
    best: dict[tuple, int] = {}
    for i in candidates:
        k = kind[i]
        if k == PUT:
            if len(queue) >= calls.capacity or (
                    end[i] == math.inf and not state.left[FULL]
                    and not state.gets_left.get(value[i])):
                continue
            effect: tuple = ("put", value[i], end[i] == math.inf)
        elif k == GET:
            if not queue or queue[0] != value[i]:
                continue
            gets = calls.gets[value[i]]
            if end[i] == end[gets[state.first_get[value[i]]]] and not state.left[FULL]:
                return [i]
            effect = ("get",)
        elif k == PENDING_GET:
            if not queue or head_getter or not state.can_lose(queue[0]):
                continue
            if must_lose or (not state.gets_left.get(queue[0]) and not state.left[FULL]):
                return [i]
            effect = ("pending get",)
        elif k == EMPTY:
            if not queue:
                return [i]
            continue
        elif k == FULL:
            if len(queue) == calls.capacity:
                return [i]
            continue
        else:
            continue
        held = best.get(effect)
        if held is None or end[i] < end[held]:
            best[effect] = i
    # The call that returned first probably took effect first; a put that never
    # returned, as soon as it started. Then the gets that never returned, last
    # the puts of an item no returned get will take (which block the queue unless
    # a get that never returned takes them).
    gets_left = state.gets_left

    def priority(i: int) -> tuple:
        useless = kind[i] == PUT and not gets_left.get(value[i])
        when = start[i] if kind[i] == PUT and end[i] == math.inf else end[i]
        return (useless, when, start[i])

    return sorted(best.values(), key=priority)


class _Visited:
    """The states already explored (`_State.key`), so that none is explored twice.

    Dropped whole when it holds more than MEMO_BUDGET queue slots: it only saves
    work, so dropping it costs time, never correctness.
    """

    __slots__ = ("keys", "size")

    def __init__(self, key: tuple) -> None:
        self.keys = {key}
        self.size = 1

    def add(self, key: tuple, queued: int) -> bool:
        """Remember `key` (a state with `queued` items); False when it was seen already."""
        if key in self.keys:
            return False
        if self.size > MEMO_BUDGET:
            self.keys.clear()
            self.size = 0
        self.keys.add(key)
        self.size += queued + 1
        return True


def _run(calls: _Calls, deadline: float) -> SearchResult:
    """The search itself: depth first, from the empty queue, one call placed at a
    time, each state explored once. Iterative: histories may hold many thousands
    of calls, deeper than Python's recursion limit."""
    state = _State(calls)
    matching = _Matching(calls, state)
    ops = calls.ops
    lo, e = state.advance(calls.first_finished, 0)
    visited = _Visited(state.key(0, lo))
    explored = 1
    longest: list[int] = []  # local numbers, like the frames
    if e == len(calls.by_end):
        return SearchResult(True, [], explored, [])
    matching.extend()
    # A frame: [mask, lo, e, moves, next move, call placed to get here, item it
    # took, what `unfollow` needs]
    stack: list[list] = [[0, lo, e, _moves(calls, state, matching, lo, e), 0, None, None,
                          None]]
    steps = 0
    while stack:
        steps += 1
        if steps % CHECK_EVERY == 0 and time.perf_counter() > deadline:
            path = [frame[5] for frame in stack[1:]]
            longest = max(longest, path, key=len)
            return SearchResult(None, None, explored, [ops[i].index for i in longest])
        frame = stack[-1]
        mask, lo, e, moves, nxt = frame[:5]
        if nxt == len(moves):
            # A dead end: every move from here fails (or was explored before).
            if len(stack) - 1 > len(longest):
                longest = [f[5] for f in stack[1:]]
            stack.pop()
            if frame[5] is not None:
                matching.unfollow(frame[5], frame[7])
                state.undo(frame[5], frame[6])
            continue
        frame[4] = nxt + 1
        i = moves[nxt]
        taken = state.apply(i)
        mask |= 1 << i
        lo, e = state.advance(lo, e)
        if not visited.add(state.key(mask, lo), len(state.queue)):
            state.undo(i, taken)
            continue
        explored += 1
        if e == len(calls.by_end):
            order = [ops[f[5]].index for f in stack[1:]] + [ops[i].index]
            return SearchResult(True, order, explored, list(order))
        stack.append([mask, lo, e, None, 0, i, taken, matching.follow(i)])
        stack[-1][3] = _moves(calls, state, matching, lo, e)
    return SearchResult(False, None, explored, [ops[i].index for i in longest])
