"""When nothing on an event loop can ever run again, so a wait need not run to its bound.

A task suspended on a future nobody will resolve (a lost wake-up, a join() whose count
never reaches zero) is found by the kit's waits only when their bound runs out: 2 s for
a call, 5 s of no progress for a scenario, for each such test of a broken module. But
a loop whose ready queue is empty and which has no timer pending will never run a
callback again unless another thread hands it one; if no thread has been started
since the test began, none will. That is exact: the tasks still suspended then stay
suspended for ever, and the wait can say so at once.

Conservative by construction: a loop that is not the standard one (no `_ready`,
`_scheduled`), a loop this module was not told about, or any thread started since the
test began (an executor, a thread-backed queue's helper) and a wait simply runs to its
bound as before. A polling implementation always has a timer pending, so it is never
idle. The kit's own heartbeat (a `threading.Event.set` handed in from the test's
thread) is not counted as a callback.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Iterable
from typing import Any

#: loop -> the idents of the threads alive when its test began.
_THREADS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, frozenset[int]] = (
    weakref.WeakKeyDictionary())
#: How often a wait looks: twice in a row idle, with this much time between.
LOOK = 0.02


def note_threads(loop: asyncio.AbstractEventLoop) -> None:
    """The threads alive now are the kit's and the session's: the ones to ignore."""
    _THREADS[loop] = frozenset(t.ident for t in threading.enumerate())


def idle(loop: asyncio.AbstractEventLoop) -> bool:
    """Nothing ready, no timer pending, no thread started since the test began."""
    known = _THREADS.get(loop)
    if not (hasattr(loop, "_ready") and hasattr(loop, "_scheduled")) or known is None:
        return False
    if has_ready(loop) or next_timer(loop) is not None:
        return False
    return all(t.ident in known for t in threading.enumerate())


def has_ready(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether a callback of `loop` is ready to run (the kit's heartbeat aside); False
    for a loop that does not say (no `_ready`)."""
    return any(not handle.cancelled() and not _heartbeat(handle)
               for handle in list(getattr(loop, "_ready", ())))


def next_timer(loop: asyncio.AbstractEventLoop) -> float | None:
    """When `loop`'s next timer is due, in the loop's time; None when none is pending
    (or the loop does not say: no `_scheduled`)."""
    due = [handle.when() for handle in list(getattr(loop, "_scheduled", ()))
           if not handle.cancelled()]
    return min(due) if due else None


def _heartbeat(handle: Any) -> bool:
    return isinstance(getattr(getattr(handle, "_callback", None), "__self__", None),
                      threading.Event)


async def wait(aws: Iterable[asyncio.Future], timeout: float
               ) -> tuple[set[asyncio.Future], set[asyncio.Future]]:
    """`asyncio.wait(aws, timeout=timeout)`, over early once the loop is found idle at
    two looks in a row (what is still pending then would stay pending for ever)."""
    loop = asyncio.get_running_loop()
    pending = set(aws)
    done: set[asyncio.Future] = set()
    deadline = loop.time() + timeout
    seen_idle = False
    while pending:
        left = deadline - loop.time()
        if left <= 0:
            break
        finished, pending = await asyncio.wait(pending, timeout=min(LOOK, left))
        done |= finished
        if finished:
            seen_idle = False
            continue
        now_idle = idle(loop)
        if now_idle and seen_idle:
            break
        seen_idle = now_idle
    return done, pending
