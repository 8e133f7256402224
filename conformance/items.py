"""The objects the kit sends through queues.

Every item knows its producer and its sequence number, so a failure can name it
("p2#17"). The odd kinds exist because the contract says *any* object is a valid
item: an implementation that truth-tests, compares or hashes items breaks on them.
Items are tracked by identity, never by equality: that is the only comparison an
item whose `__eq__` lies can survive.
"""

from __future__ import annotations

import random


class Item:
    __slots__ = ("producer", "seq")
    kind = "plain"

    def __init__(self, producer: int, seq: int) -> None:
        self.producer = producer
        self.seq = seq

    def __repr__(self) -> str:
        return f"p{self.producer}#{self.seq}"

    @property
    def label(self) -> str:
        """The item's name plus its kind when the kind could explain a failure."""
        return repr(self) if self.kind == "plain" else f"{self!r} ({self.kind})"


class FalsyItem(Item):
    """`bool(item)` is False and `len(item)` is 0: catches `if item:` and `if not item: break`."""

    __slots__ = ()
    kind = "falsy"

    def __bool__(self) -> bool:
        return False

    def __len__(self) -> int:
        return 0


class EqualsEverything(Item):
    """Equal to everything, `None` included: catches `item == SENTINEL` and `list.remove`."""

    __slots__ = ()
    kind = "equal to everything"

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = Item.__hash__


class UnhashableItem(Item):
    """Cannot be hashed: catches implementations that keep items in a set or dict."""

    __slots__ = ()
    kind = "unhashable"
    __hash__ = None  # type: ignore[assignment]


class TouchyItem(Item):
    """Raises on ==, bool() and hash(): a queue has no business doing any of them."""

    __slots__ = ()
    kind = "raises on ==, bool() and hash()"

    def __eq__(self, other: object) -> bool:
        raise TypeError("prodcon: a queue must not compare items")

    def __ne__(self, other: object) -> bool:
        raise TypeError("prodcon: a queue must not compare items")

    def __bool__(self) -> bool:
        raise TypeError("prodcon: a queue must not truth-test items")

    def __hash__(self) -> int:
        raise TypeError("prodcon: a queue must not hash items")


ODD_KINDS = (FalsyItem, EqualsEverything, UnhashableItem, TouchyItem)

#: Values that are not `Item`s but that a queue must carry all the same. They are
#: singletons or interned, so they are checked where order alone identifies them.
PLAIN_VALUES = (None, 0, False, "", (), 0.0)


def make_batch(producer: int, count: int, rng: random.Random, odd_share: float = 0.25) -> list:
    """`count` items for one producer, about `odd_share` of them of the odd kinds."""
    batch = []
    for seq in range(count):
        cls = rng.choice(ODD_KINDS) if rng.random() < odd_share else Item
        batch.append(cls(producer, seq))
    return batch


def describe(obj: object, limit: int = 60, *, bare: bool = False) -> str:
    """A name for anything that came out of a queue, item or not, cut to `limit` characters.

    The kit's one truncating repr. `bare` is the form a call's signature quotes
    (`put(p0#3)`, `returned p0#3`): an item by its name without its kind, and `<T>`
    rather than `<T object>` for an object whose repr raises.
    """
    if isinstance(obj, Item) and not bare:
        return obj.label
    try:
        text = repr(obj)
    except Exception:  # noqa: BLE001 - an object with a broken repr is still reportable
        return f"<{type(obj).__name__}>" if bare else f"<{type(obj).__name__} object>"
    return text if len(text) <= limit else text[:limit - 3] + "..."
