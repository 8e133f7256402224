"""Calls made back to back in one thread, where the queue lives (`Kit.at_once`).

A shared module of its own, light on purpose: under `--prodcon-isolate` these run in
the submission's process, which imports this module when it starts (`isolation/child`),
so no call the kit times ever waits on an import there. Importing it on the first
call cost a correct submission its deadlock points, capped at 60, on a loaded machine:
the import of the kit's session module took longer than the call's bound.
"""

from __future__ import annotations

from typing import Any

from prodcon.items import Item


def put_then_take(q: Any, item: Any) -> Any:
    """Put and take back at once: a waiting getter is woken, and the item is gone.

    (`Kit.at_once`; see the module's docstring.)
    """
    q.put_nowait(item)
    return q.get_nowait()


def put_all(q: Any, count: int) -> int:
    """put_nowait() producer 0's items 0 to count-1 until one fails: how many were stored.

    It makes its items where it runs, so a sandboxed run sends the child a number, not
    a thousand items, and gets a number back.
    """
    for seq in range(count):
        try:
            q.put_nowait(Item(0, seq))
        except Exception:  # noqa: BLE001 - the caller asks again to show what it was
            return seq
    return count


def take_then_put(q: Any, item: Any) -> None:
    """Take and put back at once: a waiting putter is woken, and the room is gone."""
    q.get_nowait()
    q.put_nowait(item)
