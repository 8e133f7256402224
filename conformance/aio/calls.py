"""The async queue role's calls, made from a task of the kit's and judged.

The thread suite's `Kit.returns` / `raises` / `get_item`, for asyncio.Queue's API: a
plain method (`put_nowait`, `qsize`, ...) is called; a coroutine method (`put`, `get`,
`join`) is awaited with a bound, and a call that is still suspended when the bound
runs out *suspended* (`Outcome.suspended`): for a `get()` on an empty queue that is
what is due, for a `put()` with room it breaks `blocking`. Unexpected exceptions of
the implementation become violations that name the call and what was due, never a
traceback from inside the kit.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any

from prodcon.aio import quiet
from prodcon.engine.outcome import Outcome, taken_item
from prodcon.items import describe
from prodcon.verdict import Violation

#: How long an awaited call that must complete at once may stay suspended (scaled).
AWAIT_BOUND = 2.0
#: How long an awaited call that must suspend is watched before it is called suspended:
#: every turn of the loop it could take to come back has passed by then.
SUSPEND_PROBE = 0.05


class AsyncCalls:
    """The calls of one async test, on the implementation's Queue role."""

    def __init__(self, impl: Any, factor: float) -> None:
        self.impl = impl
        self.factor = factor
        self.Full = impl.Full
        self.Empty = impl.Empty
        self.ShutDown = impl.ShutDown

    def bound(self, seconds: float) -> float:
        return seconds * self.factor

    def queue(self, maxsize: int = 0) -> Any:
        try:
            return self.impl.Queue(maxsize)
        except Exception as exc:  # noqa: BLE001 - the implementation's, judged here
            raise Violation("exceptions", f"Queue({maxsize}) raised {type(exc).__name__}: "
                            f"{exc}; asyncio.Queue accepts any int maxsize (<= 0: "
                            "unbounded).") from None

    async def outcome(self, fn, *args, bound: float = AWAIT_BOUND) -> Outcome:
        """Call `fn`; await what it returns, if it is awaitable, for at most `bound`."""
        start = time.monotonic()
        try:
            value = fn(*args)
            if inspect.isawaitable(value):
                task = asyncio.ensure_future(value)
                done, _ = await quiet.wait({task}, self.bound(bound))
                if not done:
                    stranded = _stranded()
                    await self.cancel(task)
                    return Outcome(suspended=True, elapsed=time.monotonic() - start,
                                   why_not_longer=stranded)
                value = task.result()
        except Exception as exc:  # noqa: BLE001 - judged by the caller
            return Outcome(error=exc, elapsed=time.monotonic() - start)
        return Outcome(value=value, elapsed=time.monotonic() - start)

    async def returns(self, what: str, fn, *args, prop: str, due: str,
                      bound: float = AWAIT_BOUND, stuck: str = "blocking") -> Any:
        """The call must return (awaited: without staying suspended, else `stuck` is
        broken); its value."""
        result = await self.outcome(fn, *args, bound=bound)
        if result.error is not None or result.suspended:
            raise Violation(stuck if result.suspended else prop,
                            f"{what} {result.text()}; {due}.")
        return result.value

    async def raises(self, exc_type: type[BaseException], what: str, fn, *args, prop: str,
                     due: str) -> Outcome:
        """The call must raise `exc_type`: `prop` is broken when it returns, `blocking`
        when it suspends, `exceptions` when it raises something else."""
        result = await self.outcome(fn, *args)
        if not isinstance(result.error, exc_type):
            wrong = ("blocking" if result.suspended else
                     "exceptions" if result.error is not None else prop)
            raise Violation(wrong, f"{what} {result.text()}; {due}.")
        return result

    async def get_item(self, q: Any, expected: Any, what: str = "get_nowait()") -> Any:
        """Take one item at once and insist it is `expected` (by identity)
        (`outcome.taken_item`)."""
        result = await self.outcome(q.get_nowait)
        again = await self.outcome(q.get_nowait) if isinstance(result.error, self.Empty) \
            else None
        return taken_item(what, expected, result, again, self.Empty)

    async def cancel(self, task: asyncio.Task) -> None:
        """Cancel a call the test is done waiting for, and give it a bounded moment to
        end: a queue that swallows its cancellation would hold the test for ever."""
        task.cancel()
        await quiet.wait({task}, self.bound(AWAIT_BOUND))

    def start(self, coro: Any, name: str) -> asyncio.Task:
        """A call expected to suspend, as a task of its own (see `must_suspend`)."""
        return asyncio.get_running_loop().create_task(coro, name=name)

    async def must_suspend(self, task: asyncio.Task, what: str, prop: str = "blocking") -> None:
        """`task` must still be suspended after every turn it could take to finish."""
        await asyncio.wait({task}, timeout=self.bound(SUSPEND_PROBE))
        if task.done():
            raise Violation(prop, f"{what} {self.ended(task)} instead of waiting.")

    @staticmethod
    def ended(task: asyncio.Task) -> str:
        """How a finished call's task ended, as a report says it."""
        if task.cancelled():
            return "was cancelled"
        if task.exception() is not None:
            return f"raised {type(task.exception()).__name__}"
        return f"returned {describe(task.result())}"

    async def finishes(self, task: asyncio.Task, what: str, prop: str, due: str,
                       bound: float = AWAIT_BOUND) -> Any:
        """`task` (started earlier) must finish now, within `bound`; its value."""
        start = time.monotonic()
        done, _ = await quiet.wait({task}, self.bound(bound))
        if not done:
            waited, stranded = time.monotonic() - start, _stranded()
            await self.cancel(task)
            raise Violation(prop, f"{what} was still suspended after {waited:.2f} s"
                            f"{stranded}; {due}.")
        if task.cancelled():
            raise Violation(prop, f"{what} was cancelled; {due}.")
        error = task.exception()
        if error is not None:
            raise Violation("exceptions" if prop != "queue-shutdown" else prop,
                            f"{what} raised {type(error).__name__}({error}); {due}.")
        return task.result()


def _stranded() -> str:
    """Why a call is still suspended when the kit stops waiting, if the loop says so
    (`quiet.idle`: nothing left to run, so `quiet.wait` ended before its bound), or
    nothing."""
    if quiet.idle(asyncio.get_running_loop()):
        return (", with nothing left on the event loop that could wake it (no task ready "
                "to run, no timer pending)")
    return ""
