"""Who runs next: seeded strategies, each one a deterministic function of its seed.

The scheduler asks `choose(options, current, due)` at every switch point:
`options` are the threads that can run, plus `due`, the timed waiter whose
deadline comes first (choosing it fires its timeout); `current` is the running
thread's index if it could go on (so choosing another one is a preemption), else
None. Only choices among two or more threads are decisions,
and the list of decisions is the schedule that `Replay` plays back. `options`
is the scheduler's own list, kept while no thread changes state: read it, never
change it.
"""

from __future__ import annotations

import random

#: Options at or above this number are not threads but events the scheduler may inject
#: (`aio_loop`: cancel the task of lane `option - INJECTED`). PCT's priorities are for
#: threads and leave them out; the exhaustive search counts them as preemptions.
INJECTED = 1 << 20


class Strategy:
    exhausted = False
    #: True when choose() of one option and no due waiter returns that option and changes
    #: nothing: the scheduler then does not ask (a third of all switch points).
    single_is_free = False

    def begin_run(self) -> None:
        """Called before each run."""

    def end_run(self) -> None:
        """Called after each run."""

    def describe(self) -> str:
        return type(self).__name__

    def choose(self, runnable: list[int], current: int | None, due: int | None = None) -> int:
        raise NotImplementedError


class RandomWalk(Strategy):
    """Uniform choice at every switch point: cheap, and good at shallow races."""

    single_is_free = True

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)

    def describe(self) -> str:
        return f"RandomWalk(seed={self.seed})"

    def choose(self, runnable, current, due=None):
        if len(runnable) == 1:
            return runnable[0]
        return runnable[self.rng.randrange(len(runnable))]


class PCT(Strategy):
    """Probabilistic Concurrency Testing (Burckhardt et al., ASPLOS 2010).

    Threads get distinct random priorities and the highest runnable one runs;
    at d-1 random steps out of k the running thread drops below everyone. A
    bug of depth d among n threads is found by one run with probability at
    least 1/(n * k^(d-1)), where k bounds the number of steps of a run.
    """

    def __init__(self, seed: int, depth: int = 2, steps_estimate: int = 200):
        if depth < 1 or steps_estimate < 1:
            raise ValueError("PCT needs depth >= 1 and steps_estimate >= 1")
        self.seed, self.depth, self.k = seed, depth, steps_estimate
        self.rng = random.Random(seed)
        self.threads_seen = 0

    def bound(self, threads: int | None = None) -> float:
        n = threads or max(self.threads_seen, 1)
        return 1.0 / (n * self.k ** (self.depth - 1))

    def describe(self) -> str:
        n = max(self.threads_seen, 1)
        return (f"PCT(seed={self.seed}, depth={self.depth}, k={self.k}): each run finds a "
                f"depth-{self.depth} bug among {n} threads with probability "
                f">= 1/({n}*{self.k}^{self.depth - 1}) = {self.bound(n):.3g}")

    def begin_run(self) -> None:
        self.priority: dict[int, float] = {}
        self.step = 0
        self.changes = sorted(self.rng.sample(range(1, self.k + 1),
                                              min(self.depth - 1, self.k)))
        self.lowered = 0
        # the last options asked about (the scheduler's list, the same object while no
        # thread changes state), its due waiter, and the answer: priorities change only
        # at a change step, so the same options get the same answer without a search
        self._asked: list[int] | None = None
        self._asked_due: int | None = None
        self._chosen = -1

    def _priority(self, thread: int) -> float:
        if thread not in self.priority:
            # a fresh thread gets a random rank among the initial priorities (all > depth)
            self.priority[thread] = self.depth + self.rng.random()
            self.threads_seen = max(self.threads_seen, thread + 1)
        return self.priority[thread]

    def choose(self, runnable, current, due=None):
        self.step += 1
        if runnable is not self._asked or due != self._asked_due:
            self._asked, self._asked_due = runnable, due
            self._chosen = self._highest(self._candidates(runnable, due))
        if self.changes and self.step == self.changes[0]:
            # the thread about to take this step drops below every initial priority
            self.changes.pop(0)
            self.lowered += 1
            self.priority[self._chosen] = self.depth - self.lowered
            self._chosen = self._highest(self._candidates(runnable, due))
        return self._chosen

    @staticmethod
    def _candidates(runnable, due):
        if runnable[-1] >= INJECTED:  # an injected event's options come last
            runnable = [t for t in runnable if t < INJECTED]
        if due is not None and len(runnable) > 1:
            # A timeout fires only when nothing else can run: priorities are fixed, so a
            # waiter of high priority retrying a timed call would otherwise starve the
            # threads that would let it succeed, and a correct queue would look livelocked.
            return [t for t in runnable if t != due]
        return runnable

    def _highest(self, runnable) -> int:
        """The runnable thread of the highest priority, the lowest index among equal
        ones: `max(runnable, key=lambda t: (priority, -t))` written out, as it runs at
        every switch point. A thread seen for the first time draws its priority here,
        in the order of `runnable`."""
        priority = self.priority
        chosen, best = -1, 0.0
        for thread in runnable:
            rank = priority.get(thread)
            if rank is None:
                rank = self._priority(thread)
            if chosen < 0 or rank > best or (rank == best and thread < chosen):
                chosen, best = thread, rank
        return chosen


class Exhaustive(Strategy):
    """Every schedule with at most `preemption_bound` preemptions, depth first.

    Most concurrency bugs need few preemptions (Musuvathi & Qadeer, CHESS), so a
    small bound covers them with a number of schedules polynomial in the steps.
    A preemption is switching away from a thread that could have gone on.
    """

    single_is_free = True

    def __init__(self, preemption_bound: int = 2):
        self.bound = preemption_bound
        self.stack: list[list] = []  # [options, chosen index, preemptions before]
        self.runs = 0

    def describe(self) -> str:
        return f"Exhaustive(preemption_bound={self.bound}), schedule {self.runs}"

    def begin_run(self) -> None:
        self.depth = 0
        self.preemptions = 0
        self.runs += 1

    def choose(self, runnable, current, due=None):
        if len(runnable) == 1:
            return runnable[0]
        if self.depth < len(self.stack):
            options, index, _, free = self.stack[self.depth]
            if options[index] not in runnable:
                raise RuntimeError("the scenario is not deterministic: the same choices "
                                   "led to different runnable threads")
        else:
            others = [t for t in sorted(runnable) if t != due]
            timeout = [due] if due is not None else []
            # Free choices: going on, or any thread when the current one cannot. Costly
            # ones count against the bound: switching away from a thread that could go
            # on, and firing a timeout while someone could still run (unbounded, a
            # polling thread's sleep would be fired again and again).
            if current is not None:
                free = [current]
                costly = [t for t in others if t != current] + timeout
            else:
                free = others or timeout
                costly = timeout if others else []
            options = free + (costly if self.preemptions < self.bound else [])
            index, free = 0, len(free)
            self.stack.append([options, 0, self.preemptions, free])
        self.depth += 1
        if index >= free:
            self.preemptions += 1
        return options[index]

    def end_run(self) -> None:
        del self.stack[self.depth:]
        while self.stack:
            top = self.stack[-1]
            top[1] += 1
            if top[1] < len(top[0]):
                return
            self.stack.pop()
        self.exhausted = True


class ReplayDiverged(RuntimeError):
    """A replayed run asked for a decision the recording does not have, or for a thread
    it could not run: the recorded run was not decided by its schedule alone."""


class Replay(Strategy):
    """Plays a recorded schedule back, decision by decision."""

    single_is_free = True

    def __init__(self, choices: list[int]):
        self.choices = list(choices)

    def describe(self) -> str:
        return f"Replay({self.choices})"

    def begin_run(self) -> None:
        self.position = 0

    def choose(self, runnable, current, due=None):
        if len(runnable) == 1:
            return runnable[0]
        if self.position >= len(self.choices):
            raise ReplayDiverged("the replayed schedule ended before the run did")
        choice = self.choices[self.position]
        self.position += 1
        if choice not in runnable:
            raise ReplayDiverged(f"replay diverged: thread {choice} is not runnable "
                               f"(runnable: {runnable})")
        return choice
