"""The kit's objects an async worker in the sandbox's child calls back: the queue the
workers share (its coroutines run here as tasks of the kit's loop) and a consumer's
`handle`.

Under `--prodcon-isolate`, `producer(q, items)` and `consumer(q, handle)` run as tasks of
the child's loop (`async_child.start_worker`); the queue stays here, on the kit's loop,
recorded as in-process runs record it. Each call from the child names the child's task
that makes it, and is recorded under that name (the kit's task that stands for the
worker has the same one). A `put`, `get` or `join` is begun here as a task of the kit's
loop and its outcome crosses with the next tick; a call the worker never awaited is
told here by the child (`dropped`), as `awaited`. What the child sends is checked: it
may call only these methods (`protocol.REF_OPS`), and names are clipped.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from prodcon.isolation.async_parent import Pump
from prodcon.isolation.protocol import Ref, clip

_PLAIN = frozenset(("put_nowait", "get_nowait", "task_done"))
_LOOKS = frozenset(("qsize", "empty", "full"))
_AWAITED = frozenset(("put", "get", "join"))


def async_worker(sandbox: Any, module: Any, remote: Any, role: str) -> Any:
    """The child's `producer` or `consumer`, as the coordinator calls it: an `async def`
    whose task stands for the worker's task in the child."""

    async def worker(q: Any, second: Any) -> Any:
        pump = Pump.of(sandbox, module)
        task = asyncio.current_task()
        name = task.get_name() if task is not None else role
        arg = (Ref(second, "iterable") if role == "producer"
               else Ref(ChildFacingHandle(second, pump), "async-callable"))
        return await pump.run_worker(remote, role, name,
                                     Ref(ChildFacingQueue(q, pump), "async-queue"), arg)

    worker.__name__ = worker.__qualname__ = role
    return worker


class ChildFacingQueue:
    """The workers' queue (`aio.workers._TaskViews`), as the child calls it back."""

    def __init__(self, views: Any, pump: Pump) -> None:
        self._views = views
        self._pump = pump

    def plain(self, who: Any, op: Any, *args: Any) -> Any:
        """`put_nowait`, `get_nowait`, `task_done` (recorded under `who`), `qsize`,
        `empty`, `full` or `maxsize`."""
        if op in _PLAIN:
            return getattr(self._views.view(_name(who)), op)(*args)
        if op in _LOOKS:
            return getattr(self._views, op)()
        if op == "maxsize":
            return self._views.maxsize
        raise ValueError(f"not a plain call of the queue: {clip(str(op), 40)!r}")

    def begin(self, who: Any, op: Any, *args: Any) -> int:
        """`put(item)`, `get()` or `join()` as a task of the kit's loop: its call id."""
        if op not in _AWAITED:
            raise ValueError(f"not a coroutine of the queue: {clip(str(op), 40)!r}")
        name = _name(who)
        return self._pump.kit_call(getattr(self._views.view(name), op)(*args), name)

    def cancel(self, cid: Any) -> None:
        if type(cid) is int:
            self._pump.cancel_kit_call(cid)

    def dropped(self, text: Any) -> None:
        """A queue call made in the child and never awaited: what, by whom, where."""
        self._views.note_dropped(self._pump.sandbox._local_paths(clip(str(text))))  # noqa: SLF001


class ChildFacingHandle:
    """A consumer's `handle`, as the child calls it back: what it returns to await (a
    slow handle's coroutine) runs here as a task; its call id goes back."""

    def __init__(self, handle: Any, pump: Pump) -> None:
        self._handle = handle
        self._pump = pump

    def call(self, who: Any, item: Any) -> int | None:
        result = self._handle(item)
        if inspect.isawaitable(result):
            return self._pump.kit_call(result, _name(who))
        return None

    def cancel(self, cid: Any) -> None:
        if type(cid) is int:
            self._pump.cancel_kit_call(cid)


def _name(who: Any) -> str:
    return clip(str(who), 100)
