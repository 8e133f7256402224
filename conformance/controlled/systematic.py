"""Every schedule with at most k preemptions, up to the order of steps that commute.

Random walks and PCT find a race with some probability per schedule; a CI gate
wants the shallow ones found on every run. CHESS (Musuvathi and Qadeer, 2007)
reports that most concurrency bugs need at most two preemptions, so below that
bound the search can be complete: every schedule with at most k preemptions, where
a preemption is switching away from a thread that could have gone on (or firing a
timeout while a thread could run).

Every such schedule is far too many (one preemption among the 1,500 steps of a
small plan, times the threads to switch to), but most of them differ only in the
order of steps that commute. Dynamic partial-order reduction (Flanagan and
Godefroid, POPL 2005) runs one schedule, then looks back over it: for each step,
the last earlier step of another thread that it is dependent on (`dependence.py`)
and that does not already happen before it is a race, whose other order must be
tried; at the state before that earlier step the search notes the later step's
thread to run instead (or every thread that could run there, when that one could
not). Depth first, each run replays the prefix up to the deepest state with a
thread still to try, runs that thread, then goes on without preempting. Steps that
commute are never tried in both orders, so a queue whose every access is under its
lock costs one schedule per order of its lock's holders.

With a preemption bound, a thread noted where trying it would exceed the bound is
not tried there, and the race it stood for may need it one state earlier; so, as
loom does (after Coons, Musuvathi and McKinley, OOPSLA 2013), the thread is also
noted where the step's thread began its run of steps, where switching costs no
preemption if that thread had just been let run.

What is complete is said as it is: "every schedule with at most k preemptions,
up to the order of steps that commute", of this plan, with the dependence
`dependence.py` assumes; past the bound, random walks and PCT go on.
"""

from __future__ import annotations

from prodcon.controlled.dependence import ACQUIRE, BEGIN, END, READ, RELEASE, WRITE, WRITES
from prodcon.controlled.strategies import ReplayDiverged, Strategy

#: The modes of a step that touched one thing, by its mode; and of one that touched none.
_ONE_MODE = {mode: frozenset({mode}) for mode in (READ, WRITE, ACQUIRE, RELEASE, BEGIN, END)}
_NO_MODES: dict = {}
_CALL_MODES = frozenset({BEGIN, END})


class _Node:
    """A state where the strategy was asked who runs: the options then, the thread that
    was running and could go on (None if it could not), the timed waiter whose timeout
    may fire, and the preemptions spent before it; which thread the current schedule
    runs here, and which ones the search still has to, or already did, run here."""

    __slots__ = ("options", "current", "due", "preemptions", "chosen", "backtrack", "done")

    def __init__(self, options, current, due, preemptions: int):
        self.options = list(options)
        self.current = current
        self.due = due
        self.preemptions = preemptions
        if current is not None:
            self.chosen = current
        else:
            others = [t for t in self.options if t != due]
            self.chosen = others[0] if others else due
        self.backtrack = {self.chosen}
        self.done = {self.chosen}

    def cost(self, thread: int) -> int:
        """1 if running `thread` here is a preemption, else 0."""
        if self.current is not None:
            return 0 if thread == self.current else 1
        return 1 if thread == self.due and len(self.options) > 1 else 0


class Systematic(Strategy):
    """Depth-first search of every schedule with at most `bound` preemptions, with
    dynamic partial-order reduction. `exhausted` once every one was run: the search
    was complete."""

    single_is_free = False  # every step is a state the search must see

    def __init__(self, bound: int = 2):
        if bound < 0:
            raise ValueError("the preemption bound is >= 0")
        self.bound = bound
        self.path: list[_Node] = []
        self.runs = 0
        self.sched = None

    def describe(self) -> str:
        return (f"Systematic(preemption bound {self.bound}, partial-order reduction), "
                f"schedule {self.runs}")

    def attach(self, sched) -> None:
        """The run's scheduler: its tasks say what each one's next step starts with."""
        self.sched = sched

    def begin_run(self) -> None:
        self.runs += 1
        self.depth = 0
        self.preemptions = 0
        self.threads: list[int] = []  # per step: the thread that took it
        self.touches: list[list] = []  # per step: (key, mode) it touched
        self.wakes: list[list] = []  # per step: the threads it woke or started

    def touched(self, key, mode: str) -> None:
        if self.touches:
            self.touches[-1].append((key, mode))

    def woke(self, thread: int) -> None:
        """The step made `thread` runnable (a release, a notify, a start, an end it was
        joining): what it does next happens after this step. (Its timeout, had it one,
        could have fired instead: `_races` tries that.)"""
        if self.wakes:
            self.wakes[-1].append(thread)

    def choose(self, runnable, current, due=None):
        depth = self.depth
        if depth < len(self.path):
            node = self.path[depth]
            if node.chosen not in runnable:
                raise ReplayDiverged(
                    f"the systematic search diverged at step {depth}: thread "
                    f"{node.chosen} is not runnable (runnable: {runnable})")
        else:
            node = _Node(runnable, current, due, self.preemptions)
            self.path.append(node)
        choice = node.chosen
        self.preemptions = node.preemptions + node.cost(choice)
        self.depth = depth + 1
        task = self.sched.tasks[choice]
        self.threads.append(choice)
        self.touches.append(list(task.pending))
        self.wakes.append([])
        task.pending = ()
        return choice

    def end_run(self) -> None:
        del self.path[self.depth:]
        self._races()
        while self.path:
            node = self.path[-1]
            todo = node.backtrack - node.done
            if todo:
                node.chosen = min(todo)
                node.done.add(node.chosen)
                return
            self.path.pop()
        self.exhausted = True

    # -- looking back over a run ---------------------------------------------------

    def _races(self) -> None:
        """For each step, the last earlier step of another thread it is dependent on
        and not ordered after (vector clocks over program order and dependence): note
        the later step's thread at the earlier step's state.

        It runs after every schedule, over every step (a quarter of a search's time
        once): clocks are merged with `map(max, ...)`, and a step that touched one
        thing (most do) gets its set of modes from a table, not built."""
        count = len(self.sched.tasks) if self.sched is not None else 0
        count = max([count, *(t + 1 for t in self.threads)])
        clocks = [[0] * count for _ in range(count)]
        accesses: dict = {}  # key -> [the last write, the reads since] (READ, WRITE)
        calls: dict = {}  # key -> {BEGIN: [...], END: [...]}
        taken: dict = {}  # a lock's key -> the step of the acquire that took it free
        path, touches, wakes = self.path, self.touches, self.wakes
        for index, thread in enumerate(self.threads):
            before = clocks[thread]
            after = list(before)
            race = -1
            touched = touches[index]
            if len(touched) == 1:
                key, mode = touched[0]
                modes = {key: _ONE_MODE[mode]}
            elif touched:
                modes = {}
                for key, mode in touched:
                    modes.setdefault(key, set()).add(mode)
            else:
                modes = _NO_MODES
            for key, kinds in modes.items():
                if BEGIN in kinds or END in kinds:
                    # only a call that ends after another one began: ending it first
                    # orders the two calls, which the history's rules judge; beginning
                    # a call before another one ended only makes them overlap, which
                    # allows more, never less
                    sides = calls.setdefault(key, {BEGIN: [], END: []})
                    prior = sides[BEGIN] if END in kinds else ()
                else:
                    last = accesses.get(key)
                    if last is None:
                        last = accesses[key] = [None, []]
                    if kinds & WRITES:
                        prior = last[1] if last[0] is None else [last[0], *last[1]]
                    else:
                        prior = () if last[0] is None else (last[0],)
                for earlier, other, clock in prior:
                    if other == thread:
                        continue
                    held = (taken.get(key) if ACQUIRE in kinds
                            and RELEASE in self._modes(earlier, key) else None)
                    if held is not None and held[1] == other:
                        # taking a lock just let go: the other order is this acquire
                        # before the one that release ended (it could not come between)
                        if before[other] < held[2][other]:
                            race = max(race, held[0])
                    elif before[other] < clock[other]:  # not ordered before: a race
                        race = max(race, earlier)
                    after = list(map(max, after, clock))
            after[thread] = before[thread] + 1
            clocks[thread] = after
            for woken in wakes[index]:
                # a new list: the woken thread's old one is also its last step's record
                clocks[woken] = list(map(max, clocks[woken], after))
            record = (index, thread, after)
            for key, kinds in modes.items():
                if key in calls:
                    for kind in kinds & _CALL_MODES:
                        calls[key][kind].append(record)
                elif kinds & WRITES:
                    accesses[key] = [record, []]
                    if ACQUIRE in kinds:
                        taken[key] = record
                else:
                    accesses[key][1].append(record)
            if race >= 0:
                self._backtrack(race, thread)
            due = path[index].due
            if due is not None and due != thread and due in wakes[index]:
                # this step woke a timed waiter whose timeout could have fired here
                # instead: the wake-up took that choice away, so no later step shows it
                self._backtrack(index, due)

    def _modes(self, index: int, key) -> set:
        return {mode for touched, mode in self.touches[index] if touched == key}

    def _backtrack(self, index: int, thread: int) -> None:
        node = self.path[index]
        self._note(node, thread)
        start = index  # where the thread that ran at `index` began its run of steps
        while start > 0 and self.path[start - 1].chosen == node.chosen:
            start -= 1
        if start != index:
            self._note(self.path[start], thread)

    def _note(self, node: _Node, thread: int) -> None:
        """Run `thread` at `node` in a later schedule; every thread that could run there
        if it could not, as far as the bound allows."""
        for candidate in ([thread] if thread in node.options else node.options):
            if candidate in node.backtrack:
                continue
            if node.preemptions + node.cost(candidate) <= self.bound:
                node.backtrack.add(candidate)
