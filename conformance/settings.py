"""Run settings: the seed, the one timing factor, and the profile's scenario shapes.

Everything random in a run flows from `Settings.seed`; every bound flows through
`Settings.bound`, so a slow CI machine needs one knob (`--prodcon-timeout-factor`).
"""

from __future__ import annotations

import hashlib
import random
import sys
from dataclasses import dataclass, field
from typing import Literal, get_args

#: A call that must return at once (put_nowait, qsize, ...) gets this long before
#: the kit calls it stuck. CPython's test_queue and the JSR-166 TCK use 10 s for
#: "must succeed"; a non-blocking call is given a fifth of that.
CALL_BOUND = 2.0
#: A scenario that makes no progress at all (no queue call completes) this long is
#: deadlocked. Progress-based, so a slow but working implementation never trips it.
STALL_BOUND = 5.0
#: How long the kit watches a call that must block before deciding it blocks.
BLOCK_PROBE = 0.1


#: How a concurrent scenario is paced: everyone at the same rate, or one side slowed
#: down so that the queue runs empty (slow producers) or full (slow consumers).
Pace = Literal["even", "slow-producers", "slow-consumers"]


@dataclass(frozen=True)
class Shape:
    """The fixed part of a concurrent scenario: who runs, against what capacity."""

    producers: int
    consumers: int
    maxsize: int
    pace: Pace = "even"

    def __post_init__(self) -> None:
        if self.pace not in get_args(Pace):
            raise ValueError(f"pace {self.pace!r} is not one of {', '.join(get_args(Pace))}")

    @property
    def id(self) -> str:
        size = f"max{self.maxsize}" if self.maxsize > 0 else f"unbounded{self.maxsize}"
        size = size.replace("-", "neg")
        return f"{self.producers}p{self.consumers}c-{size}-{self.pace}"


@dataclass(frozen=True)
class Profile:
    name: str
    items_per_producer: int
    repeats: int  # runs of each concurrent scenario, each with its own derived seed
    model_examples: int  # Hypothesis examples for the sequential model
    queue_shapes: tuple[Shape, ...] = field(default=())
    worker_shapes: tuple[Shape, ...] = field(default=())
    #: Unpaced runs, every thread calling the queue back to back: where a data race
    #: shows once there is no GIL. Items per run, shared among the producers.
    stress_shapes: tuple[Shape, ...] = field(default=())
    stress_items: int = 8000
    #: Controlled schedules explored per controlled scenario (--prodcon-explore).
    #: Each costs 3-10 ms; the five classic races of tests/zoo are found within the
    #: first few dozen of the quick profile's.
    schedules: int = 150
    #: The systematic search (queue_exploration.SYSTEMATIC): preemptions allowed beyond
    #: each small plan's own bound, and schedules at most per plan. The quick profile's
    #: bounds are complete for the reference in 50-606 schedules a plan, for every
    #: correct design of the zoo in at most 2,404 (CPython 3.10 and 3.13).
    preemptions: int = 0
    systematic_schedules: int = 3000


_QUICK_QUEUE = (
    Shape(1, 1, 1),
    Shape(2, 2, 2, "slow-consumers"),
    Shape(4, 4, 1),
    Shape(8, 2, 3, "slow-consumers"),
    Shape(2, 8, 2, "slow-producers"),
    Shape(3, 3, 0),
    Shape(4, 2, -1, "slow-producers"),
    Shape(8, 8, 5),
)
_QUICK_WORKERS = (
    Shape(1, 1, 1),
    Shape(2, 3, 2, "slow-consumers"),
    Shape(4, 4, 0),
    Shape(3, 2, -1, "slow-producers"),
    Shape(8, 8, 1),
)

# Measured on a free-threaded CPython 3.13 (2 cores): a get() that pops after releasing
# its lock fails 8 runs in 8 at 6p/6c maxsize=1 and 5 in 8 at 8p/8c maxsize=2; an
# unfinished-task counter updated outside the lock, 8 in 8 at both. Unbounded and
# larger maxsizes let the threads meet less often (0 in 5 at 4p/4c unbounded).
#: Under the GIL more unpaced rounds find next to nothing; without it each round is
#: another real chance of a collision (on a loaded 2-core machine a single round of
#: each shape missed the counter race in 4 runs of 13), so each shape runs this many.
FREE_THREADED_STRESS_ROUNDS = 4

_QUICK_STRESS = (
    Shape(6, 6, 1),
    Shape(8, 8, 2),
)

#: The concurrency models an implementation is judged for (`--prodcon-model`): threads
#: (queue.Queue's API) or asyncio (asyncio.Queue's).
MODELS = ("threads", "asyncio")

PROFILES = {
    "quick": Profile(
        name="quick",
        items_per_producer=150,
        repeats=1,
        model_examples=60,
        queue_shapes=_QUICK_QUEUE,
        worker_shapes=_QUICK_WORKERS,
        stress_shapes=_QUICK_STRESS,
    ),
    "thorough": Profile(
        name="thorough",
        items_per_producer=1000,
        repeats=3,
        model_examples=400,
        queue_shapes=_QUICK_QUEUE
        + tuple(
            Shape(p, c, m, pace)
            for p, c, m, pace in [
                (1, 8, 1, "slow-producers"),
                (8, 1, 1, "slow-consumers"),
                (5, 3, 2, "even"),
                (6, 6, 16, "slow-consumers"),
                (7, 5, 3, "slow-producers"),
                (8, 8, 1, "slow-consumers"),
                (2, 2, -5, "even"),
                (1, 1, 0, "slow-producers"),
            ]
        ),
        worker_shapes=_QUICK_WORKERS
        + (
            Shape(8, 1, 2, "slow-consumers"),
            Shape(1, 8, 1, "slow-producers"),
            Shape(6, 6, 3, "even"),
            Shape(5, 7, 0, "slow-consumers"),
        ),
        stress_shapes=_QUICK_STRESS + (Shape(2, 2, 1), Shape(4, 4, 1), Shape(4, 4, 0)),
        stress_items=16000,
        schedules=1500,
        preemptions=1,
        systematic_schedules=30000,
    ),
}


@dataclass(frozen=True)
class Settings:
    seed: int
    profile: Profile
    timeout_factor: float = 1.0
    explore: int | None = None  # --prodcon-explore: schedules per controlled scenario
    #: --prodcon-strict: histories must also be linearizable (one atomic queue), on top
    #: of the default per-call verdict.
    strict: bool = False

    @property
    def schedules(self) -> int:
        return self.profile.schedules if self.explore is None else self.explore

    def bound(self, seconds: float) -> float:
        """A ceiling for something that must happen, scaled for slow machines."""
        return seconds * self.timeout_factor

    def options(self) -> list[str]:
        """The `--prodcon-*` words that give another run these settings: the one builder
        behind the replay command, the free-threaded twin's command line and a grade's
        replay. The timeout factor and the schedules are said only when not the default."""
        words = [f"--prodcon-seed={self.seed}", f"--prodcon-profile={self.profile.name}"]
        if self.timeout_factor != 1.0:
            words.append(f"--prodcon-timeout-factor={self.timeout_factor:g}")
        if self.explore is not None:
            words.append(f"--prodcon-explore={self.explore}")
        if self.strict:
            words.append("--prodcon-strict")
        return words

    def rng(self, *labels: object) -> random.Random:
        """A generator that depends only on the run's seed and the labels given.

        Labels are usually the test's node id, so a test draws the same numbers
        whatever ran before it and on whichever xdist worker it lands.
        """
        text = ":".join(str(label) for label in (self.seed, *labels))
        return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def new_seed() -> int:
    return random.SystemRandom().randrange(1, 10**9)


def gil_disabled() -> bool:
    """Whether this interpreter runs without the GIL (a free-threaded build, GIL off)."""
    return hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled()


def gil_status() -> str:
    """', GIL enabled' / ', GIL disabled' where the interpreter can say; else nothing."""
    if not hasattr(sys, "_is_gil_enabled"):
        return ""
    return f", GIL {'disabled' if gil_disabled() else 'enabled'}"
