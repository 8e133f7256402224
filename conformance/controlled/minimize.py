"""Shrink a failing schedule to the few switches that matter.

A random walk switches threads at half its decisions; a reader needs the two or
three that make the bug. A schedule is rewritten as a default ("keep running
the current thread; when it cannot go on, the lowest-numbered one that can")
plus the decisions that differ from it, and those differences are cut down by
delta debugging (Zeller's ddmin) as long as the run still fails the same way.
Every run is a pure function of its decisions, so the result is the same on
every replay of the seed.
"""

from __future__ import annotations

from prodcon.controlled.strategies import Replay, Strategy


def default_choice(options: list[int], current: int | None, due: int | None) -> int:
    """No preemption, no early timeout: what an undisturbed run would do here."""
    if current is not None and current in options:
        return current
    runnable = [o for o in options if o != due]
    return min(runnable) if runnable else options[0]


class Guided(Strategy):
    """The default schedule, except at the decisions named in `overrides`.

    Decisions are counted as the scheduler records them (only where two or more
    options exist), so a schedule's positions and an override's keys agree.
    """

    single_is_free = True

    def __init__(self, overrides: dict[int, int]):
        self.overrides = dict(overrides)

    def describe(self) -> str:
        return f"Guided({len(self.overrides)} switches)"

    def begin_run(self) -> None:
        self.decision = 0

    def choose(self, runnable, current, due=None):
        if len(runnable) == 1:
            return runnable[0]
        wanted = self.overrides.get(self.decision)
        self.decision += 1
        return wanted if wanted in runnable else default_choice(runnable, current, due)


class Differences(Replay):
    """Replays a schedule and notes where it departs from the default."""

    def begin_run(self) -> None:
        super().begin_run()
        self.overrides: dict[int, int] = {}

    def choose(self, runnable, current, due=None):
        decision = self.position
        choice = super().choose(runnable, current, due)
        if len(runnable) > 1 and choice != default_choice(runnable, current, due):
            self.overrides[decision] = choice
        return choice


def ddmin(keys: list, fails, budget: int) -> list:
    """A 1-minimal-ish subset of `keys` for which `fails(subset)` holds, within `budget`
    calls of `fails` (each one a run of the scenario)."""
    chunks = 2
    spent = 0
    while len(keys) >= 2 and spent < budget:
        size = max(1, len(keys) // chunks)
        parts = [keys[i:i + size] for i in range(0, len(keys), size)]
        reduced = False
        for index in range(len(parts)):
            if spent >= budget:
                break
            complement = [k for j, part in enumerate(parts) if j != index for k in part]
            spent += 1
            if fails(complement):
                keys, chunks, reduced = complement, max(chunks - 1, 2), True
                break
        if not reduced:
            if chunks >= len(keys):
                break
            chunks = min(len(keys), chunks * 2)
    if len(keys) == 1 and spent < budget and fails([]):
        keys = []
    return keys
