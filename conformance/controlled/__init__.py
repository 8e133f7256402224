"""Controlled schedules: one thread at a time, the interleaving chosen by a seeded strategy.

Under the GIL a race that needs one precise order of steps can pass millions of
stress calls; here the order is chosen, every lock, condition, sleep and line of
the implementation is a point where another thread may be made to run, time is
virtual, a deadlock is detected exactly, and a seed replays a schedule exactly.

Owns: the scheduler, its strategies, the primitives it hands the implementation
(threading, time, queue), the loader that imports an implementation against them
(with its whole package, and the libraries its queue waits in: `reach`), exploring
and shrinking, the systematic search (`systematic`: every schedule within a preemption
bound, with partial-order reduction over what each step touches, `dependence`), the
account of each timed call's virtual time (`deadlines`: never
early, never late), the field a found race is on (`lockset`), and the suite's
controlled runs (`queue_exploration`, and `worker_exploration` for the worker role).
For asyncio, `aio_loop`: an event loop whose every step (which task runs next, when a
timer fires) the same strategies choose, in virtual time.
May import: the shared modules at the package's top, `prodcon.engine` and `prodcon.aio`.
"""

from __future__ import annotations

from prodcon.controlled.explore import Failure, explore, note, replay, run_once
from prodcon.controlled.loader import load, managed_queue
from prodcon.controlled.scheduler import Finding, RunResult, Scheduler
from prodcon.controlled.strategies import PCT, Exhaustive, RandomWalk, Replay, Strategy
from prodcon.controlled.systematic import Systematic
from prodcon.controlled.trace import Step, Trace
from prodcon.errors import SchedulerError

__all__ = [
    "PCT", "Exhaustive", "Failure", "Finding", "RandomWalk", "Replay", "RunResult",
    "Scheduler", "SchedulerError", "Step", "Strategy", "Systematic", "Trace", "explore", "load",
    "managed_queue", "note", "replay", "run_once",
]
