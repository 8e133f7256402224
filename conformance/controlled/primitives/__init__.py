"""Managed threading and time: CPython's semantics, with every wait a scheduler decision.

The implementation under test sees these instead of `threading` and `time` (the
loader hands them out as its facades' names). They keep the exact contract of the
real ones (the same RuntimeErrors, RLock counts, notify(n) waking exactly n
waiters in the order they waited) because a managed primitive that is kinder
than the real one hides exactly the bugs we look for: a notify that woke
everybody would never show a lost wake-up.

Outside a controlled run (module import, the final check in the test thread)
they act as plain uncontended primitives and refuse to block, since nothing
could ever wake them.

One family a module, each importing only the families it is built on:
`caller` (who calls, what a timeout means) and `clock` (virtual time) at the
bottom; `locks`; `condition` on them; `semaphores`, `event`, `barrier` on the
Condition; `threads` (Thread, Timer, current_thread) on Event. All of them import
the scheduler; the scheduler imports none of them.
"""

from __future__ import annotations

from prodcon.controlled.primitives.barrier import Barrier, BrokenBarrierError
from prodcon.controlled.primitives.caller import OutsideRun
from prodcon.controlled.primitives.clock import (
    monotonic,
    monotonic_ns,
    perf_counter,
    perf_counter_ns,
    sleep,
    time,
    time_ns,
)
from prodcon.controlled.primitives.condition import Condition
from prodcon.controlled.primitives.event import Event
from prodcon.controlled.primitives.locks import TIMEOUT_MAX, Lock, RLock
from prodcon.controlled.primitives.semaphores import BoundedSemaphore, Semaphore
from prodcon.controlled.primitives.threads import (
    Thread,
    Timer,
    current_thread,
    currentThread,
    get_ident,
)

__all__ = [
    "TIMEOUT_MAX", "Barrier", "BoundedSemaphore", "BrokenBarrierError", "Condition", "Event",
    "Lock", "OutsideRun", "RLock", "Semaphore", "Thread", "Timer", "current_thread",
    "currentThread", "get_ident", "monotonic", "monotonic_ns", "perf_counter",
    "perf_counter_ns", "sleep", "time", "time_ns",
]
