"""The virtual clock: `time`'s functions, read from the scheduler.

Time stands still while any thread can run and jumps to a deadline only when the
scheduler lets a timeout fire, so a sleep or a timeout costs no real time. Outside
a run the clock reads 0 and a sleep returns at once.
"""

from __future__ import annotations

from prodcon.controlled.dependence import CLOCK, READ
from prodcon.controlled.scheduler import current

_EPOCH = 1_700_000_000.0  # virtual time.time() at virtual 0: a plausible wall clock


def monotonic() -> float:
    sched, task = current()
    if sched is None:
        return 0.0
    sched.touch(CLOCK, READ)
    return sched.clock


def sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    sched, me = current()
    if sched is None:
        return
    sched.switch(me, f"sleep({seconds:g})")
    if seconds > 0:
        sched.block(me, "sleep", None, None, sched.clock + seconds)


def time() -> float:
    return _EPOCH + monotonic()


def monotonic_ns() -> int:
    return int(monotonic() * 1e9)


def time_ns() -> int:
    return int(time() * 1e9)


perf_counter = monotonic
perf_counter_ns = monotonic_ns
