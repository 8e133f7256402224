"""Controlled schedules: one thread at a time, the interleaving chosen by a seeded strategy.

Under the GIL a race that needs one precise order of steps can pass millions of
stress calls; here the order is chosen, every lock, condition, sleep and line of
the implementation is a point where another thread may be made to run, time is
virtual, a deadlock is detected exactly, and a seed replays a schedule exactly.
"""

from __future__ import annotations

from .explore import Failure, explore, note, replay, run_once
from .loader import load, managed_queue
from .scheduler import Finding, RunResult, Scheduler, SchedulerError
from .strategies import PCT, Exhaustive, RandomWalk, Replay, Strategy
from .trace import Step, Trace

__all__ = [
    "PCT", "Exhaustive", "Failure", "Finding", "RandomWalk", "Replay", "RunResult",
    "Scheduler", "SchedulerError", "Step", "Strategy", "Trace", "explore", "load",
    "managed_queue", "note", "replay", "run_once",
]
