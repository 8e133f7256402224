"""`Kit`: what a conformance test works with, and the expectations it states.

Every call into the implementation goes through `Kit.call` (bounded, on a daemon
thread). `returns` and `raises` turn "the implementation did something else" into
a `Violation` that says what was called, what happened and what was due.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from prodcon.contract import Implementation
from prodcon.engine.harness import Pending, call
from prodcon.items import describe
from prodcon.settings import BLOCK_PROBE, CALL_BOUND, Settings
from prodcon.verdict import Violation


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    elapsed: float = 0.0

    def text(self) -> str:
        if self.error is not None:
            return f"raised {type(self.error).__name__}({_safe(self.error)})"
        return f"returned {describe(self.value) if self.value is not None else 'None'}"


def _safe(error: BaseException) -> str:
    text = str(error)
    return repr(text) if text else ""


class Kit:
    def __init__(self, settings: Settings, impl: Implementation, name: str) -> None:
        self.settings = settings
        self.profile = settings.profile
        self.impl = impl
        self.Full = impl.Full
        self.Empty = impl.Empty
        self.ShutDown = impl.ShutDown
        self.rng: random.Random = settings.rng(name)

    def bound(self, seconds: float) -> float:
        return self.settings.bound(seconds)

    def call(self, fn, *args, **kwargs) -> Any:
        """Call into the implementation with a bound (see `harness.call`)."""
        return call(self.settings, fn, *args, **kwargs)

    def queue(self, maxsize: int = 0) -> Any:
        return self.call(self.impl.Queue, maxsize, what=f"Queue({maxsize})")

    def outcome(self, what: str, fn, *args, bound: float = CALL_BOUND, prop: str = "deadlock",
                **kwargs) -> Outcome:
        start = time.monotonic()
        try:
            value = self.call(fn, *args, bound=bound, prop=prop, what=what, **kwargs)
        except Exception as exc:  # noqa: BLE001 - judged by the caller
            return Outcome(error=exc, elapsed=time.monotonic() - start)
        return Outcome(value=value, elapsed=time.monotonic() - start)

    def at_once(self, what: str, fn, *args) -> Outcome:
        """`fn`'s calls back to back in one thread, where the queue lives.

        In-process one thread keeps the GIL from one call to the next. When the
        submission runs in a sandbox (`--prodcon-isolate`) each call would be a round
        trip another thread could slip into, so `fn` runs in the submission's process.
        """
        sandbox = getattr(self.impl, "sandbox", None)
        if sandbox is not None:
            return self.outcome(what, sandbox.run_in_child, fn, *args)
        return self.outcome(what, fn, *args)

    def returns(self, what: str, fn, *args, prop: str, due: str, bound: float = CALL_BOUND,
                **kwargs) -> Any:
        """The call must return; its value is handed back."""
        result = self.outcome(what, fn, *args, bound=bound, prop=prop, **kwargs)
        if result.error is not None:
            raise Violation(prop, f"{what} {result.text()}; {due}.")
        return result.value

    def raises(self, exc_type: type[BaseException], what: str, fn, *args, prop: str, due: str,
               bound: float = CALL_BOUND, stuck: str | None = None, **kwargs) -> Outcome:
        """The call must raise `exc_type` (or a subclass).

        `prop` is broken when it returns instead, `stuck` (default: `prop`) when it
        does not come back at all, "exceptions" when it raises something else.
        """
        result = self.outcome(what, fn, *args, bound=bound, prop=stuck or prop, **kwargs)
        if not isinstance(result.error, exc_type):
            wrong = "exceptions" if result.error is not None else prop
            raise Violation(wrong, f"{what} {result.text()}; {due}.")
        return result

    def get_item(self, queue: Any, expected: Any, what: str = "get_nowait()") -> Any:
        """Take one item (non-blocking) and insist it is `expected` (by identity).

        An Empty here is a lost item only if asking once more does not bring `expected`:
        if it does, the item was inside all along and the Empty was false, a wrong
        answer rather than a lost item (a grade treats the two very differently). A
        non-blocking get that never comes back breaks `blocking`.
        """
        result = self.outcome(what, queue.get_nowait, prop="blocking")
        if isinstance(result.error, self.Empty):
            again = self.outcome(f"{what} asked again", queue.get_nowait, prop="blocking")
            if again.error is None and again.value is expected:
                raise Violation("full-empty", f"{what} raised Empty while "
                                f"{describe(expected)} was in the queue; asked again at once, "
                                "it returned it.")
        if result.error is not None:
            raise Violation("conservation", f"{what} {result.text()}; {describe(expected)} "
                            "was in the queue.")
        value = result.value
        if value is not expected:
            raise Violation("order", f"{what} returned {describe(value)}; "
                            f"{describe(expected)} was due (first in, first out).")
        return value

    def start(self, fn, *args, **kwargs) -> Pending:
        """Start a call that is expected to block; see `must_block`."""
        return Pending(fn, args, kwargs)

    def must_block(self, pending: Pending, what: str, prop: str = "blocking") -> None:
        """`pending` must still be running after a short look (it should be waiting)."""
        self.must_block_all([pending], what, prop)

    def must_block_all(self, pendings: list[Pending], what: str,
                       prop: str = "blocking") -> None:
        """Each of `pendings` must still be running after one short look at them all.

        One look for all: they were started together, so after the first one's
        probe every other one has been running at least as long.
        """
        for index, pending in enumerate(pendings):
            if pending.wait(BLOCK_PROBE if index == 0 else 0):
                worker = pending.worker
                done = (f"raised {type(worker.error).__name__}" if worker.error is not None
                        else f"returned {describe(worker.result)}")
                raise Violation(prop, f"{what} {done} after {pending.elapsed:.3f} s instead "
                                "of waiting.")


def put_then_take(q: Any, item: Any) -> Any:
    """Put and take back at once: a waiting getter is woken, and the item is gone.

    Module-level in the kit (not in a test file) so a sandboxed run can import it
    in the submission's process (`Kit.at_once`).
    """
    q.put_nowait(item)
    return q.get_nowait()


def take_then_put(q: Any, item: Any) -> None:
    """Take and put back at once: a waiting putter is woken, and the room is gone."""
    q.get_nowait()
    q.put_nowait(item)
