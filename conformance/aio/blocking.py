"""Blocking calls on the event loop's thread, caught however short they are.

A coroutine that calls `time.sleep()`, waits on a `threading` lock or condition, or makes
a blocking `queue.Queue` call stops every task of its loop for that long. On a quiet
test machine the pause may be a millisecond and change no outcome; in production it is
the bug. So the loop's thread runs under a profile function (`sys.setprofile`, that
thread only) that notes, with the implementation's line:
- every call of `time.sleep`;
- every wait of a `threading.Condition`, `threading.Event` or `threading.Semaphore`
  (Python code: a `queue.Queue.get()` on an empty queue waits in one);
- every `acquire()` of a `threading` lock (or RLock) that another thread holds at that
  moment (a `with lock:` makes no call a profile function sees: held for long, as a lock
  held across an await is, the loop's heartbeat names it, `loop.py`).
Only calls made with a line of the implementation's on the stack count: the loop's own
machinery (the selector's wait, `call_soon_threadsafe`) is not the implementation's.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import weakref

from prodcon.errors import kit_file, standard_library_file

#: How many blocking calls a run keeps (the first ones: they say where to look).
KEPT = 5

_WAITS = {threading.Condition.wait.__code__: "threading.Condition.wait()",
          threading.Condition.wait_for.__code__: "threading.Condition.wait_for()",
          threading.Event.wait.__code__: "threading.Event.wait()",
          threading.Semaphore.acquire.__code__: "threading.Semaphore.acquire()"}
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
#: Where a lock's acquire() is not one to judge: inside Condition.wait & co. the wait
#: itself was judged on its "call" (polls and Thread.start left out), and so was the
#: re-acquire after it (Condition._acquire_restore: the notifier may still hold the
#: lock for a moment); Condition._is_owned polls with acquire(False). Without this,
#: `loop.run_in_executor` (which starts its threads from the loop's thread, waiting for
#: each to signal it started) looked like a blocked loop, now and then.
_NOT_AN_ACQUIRE = frozenset([*_WAITS, threading.Condition._is_owned.__code__,
                             threading.Condition._acquire_restore.__code__])


#: loop -> the watch of its thread (`watch_of`).
_WATCHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def watch_of(loop) -> BlockingWatch | None:
    """The watch of `loop`'s thread, where blocking calls seen elsewhere for it go."""
    return _WATCHES.get(loop)


class BlockingWatch:
    """The profile function of one loop thread, and what it caught (`found`)."""

    def __init__(self) -> None:
        self.found: dict[str, int] = {}  # "what at where" -> how many times
        self.off = False  # set by another thread: the loop was abandoned, stop watching

    def install(self, loop=None) -> None:
        """Called on the loop's thread."""
        if loop is not None:
            _WATCHES[loop] = self
        sys.setprofile(self._profile)

    def add(self, found: list[tuple[str, int]]) -> None:
        """Blocking calls seen elsewhere for this loop, each with how many times: in the
        sandbox's child, whose loop takes turns with this one (`isolation.async_parent`),
        a tick's `take_counts()`."""
        for what, times in found[:KEPT]:
            self.found[what] = self.found.get(what, 0) + times

    def take_counts(self) -> list[tuple[str, int]]:
        """What was caught since the last take, each with how many times."""
        found, self.found = self.found, {}
        return list(found.items())

    def take(self) -> list[str]:
        """What was caught since the last take, as the report says it."""
        return [what if times == 1 else f"{what} ({times} times)"
                for what, times in self.take_counts()]

    # The profile function and what it calls run inside a profile callback, where
    # sys.monitoring (coverage's core on 3.12+) records nothing: they show as never run
    # under coverage. tests/unit/test_event_loop.py takes each of their branches.
    def _profile(self, frame, event, arg) -> None:  # pragma: no cover
        if self.off:
            sys.setprofile(None)  # on the loop's thread: its calls cost nothing from now on
            return
        if event == "c_call":
            if arg is time.sleep:
                self._note(frame, "time.sleep()")
            elif getattr(arg, "__name__", "") == "acquire" and isinstance(
                    getattr(arg, "__self__", None), _LOCK_TYPES) and (
                        frame.f_code not in _NOT_AN_ACQUIRE) and _held_elsewhere(arg.__self__):
                self._note(frame, "a threading lock's acquire() while another thread "
                           "held it")
        elif event == "call":
            what = _WAITS.get(frame.f_code)
            if what is not None and _may_wait(frame):
                self._note(frame.f_back, what)

    def _note(self, frame, what: str) -> None:  # pragma: no cover (see _profile)
        line = implementation_line(frame)
        if line is None:
            return
        key = f"{what} at {line}"
        if key in self.found or len(self.found) < KEPT:
            self.found[key] = self.found.get(key, 0) + 1


def _held_elsewhere(lock) -> bool:  # pragma: no cover (see BlockingWatch._profile)
    """Whether acquiring `lock` now would wait: it is held, and (an RLock) not by this
    thread. Asked, not timed: how long an acquire takes on a loaded machine says nothing
    (a thread preempted inside an uncontended acquire), whether it must wait does."""
    if isinstance(lock, _PLAIN_LOCK):
        return lock.locked()
    if lock._is_owned():  # noqa: SLF001 - RLock's own test, as threading.Condition uses it
        return False  # taken again by its owner: no wait
    if lock.acquire(False):
        lock.release()
        return False
    return True


_PLAIN_LOCK = type(threading.Lock())


def _may_wait(frame) -> bool:  # pragma: no cover (see BlockingWatch._profile)
    """Whether this call of a wait may really wait: not a poll (timeout 0, blocking
    False), and not Thread.start() waiting for its new thread to begin (microseconds;
    `loop.run_in_executor` starts threads from the loop's thread, by design)."""
    local = frame.f_locals
    if local.get("timeout") == 0 or local.get("blocking") is False:
        return False
    caller, depth = frame.f_back, 0
    while caller is not None and depth < 4:  # Thread.start -> Event.wait -> Condition.wait
        if caller.f_code is _THREAD_START:
            return False
        caller, depth = caller.f_back, depth + 1
    return True


_THREAD_START = threading.Thread.start.__code__


def implementation_line(frame) -> str | None:
    """The innermost line on the stack that is the implementation's (not the kit's, not
    the standard library's): None when there is none, e.g. the loop's own machinery."""
    depth = 0
    while frame is not None and depth < 60:
        path = frame.f_code.co_filename
        if _implementation_file(path):
            return f"{path}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
        depth += 1
    return None


@functools.lru_cache(maxsize=4096)
def _implementation_file(path: str) -> bool:
    """Not the kit's, not the standard library's, not generated (`<string>`): read once a
    file (realpath walks the disk)."""
    return not (path.startswith("<") or kit_file(path) or standard_library_file(path))
