"""The objects the kit sends through queues.

Every item knows its producer and its sequence number, so a failure can name it
("p2#17"). The odd kinds exist because the contract says *any* object is a valid
item: an implementation that truth-tests, compares or hashes items breaks on them.
Items are tracked by identity, never by equality: that is the only comparison an
item whose `__eq__` lies can survive. The everyday payloads at the end (ints, str,
None...) are the exception: identity cannot tell their puts apart, so they are
judged by value (`value_key`).
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable


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
    """Raises on ==, bool() and hash(): neither a queue nor a worker has any business doing
    them."""

    __slots__ = ()
    kind = "raises on ==, bool() and hash()"

    def __eq__(self, other: object) -> bool:
        raise TypeError("prodcon: neither a queue nor its workers may compare items")

    def __ne__(self, other: object) -> bool:
        raise TypeError("prodcon: neither a queue nor its workers may compare items")

    def __bool__(self) -> bool:
        raise TypeError("prodcon: neither a queue nor its workers may truth-test items")

    def __hash__(self) -> int:
        raise TypeError("prodcon: neither a queue nor its workers may hash items")


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


# --- Everyday payloads ------------------------------------------------------------------
#
# The values people really put in queues. Small ints, interned strings, None and the
# bools are one object however often they are put, so identity cannot tell these
# items apart: they are judged by value (`value_key`), as a multiset and as each
# producer's sequence. For that, every value belongs to one producer only: an int
# of producer p is p modulo the number of producers, a str, bytes or container
# carries p, and the values that cannot carry anything (None, True, nan, "", ...)
# are dealt out among the producers. Inside one producer, equal values repeat.

#: The values no producer number can be written into, each made afresh per put (a
#: new nan, a new list): dealt out among the producers, the k-th to producer k % P.
CONSTANTS: tuple[Callable[[], object], ...] = (
    lambda: None, lambda: True, lambda: False, lambda: float("nan"), lambda: -0.0,
    lambda: 0.0, lambda: "", lambda: b"", lambda: (), list, dict, lambda: "x",
    lambda: float("inf"), lambda: b"\x00", lambda: "\u00e9t\u00e9",
)
WORDS = ("ham", "spam", "eggs", "job", "id", "ok")
#: How often a producer puts again a value equal to one of its last three.
REPEAT_SHARE = 0.25


def make_payloads(producer: int, producers: int, count: int, rng: random.Random) -> list:
    """`count` everyday values for producer `producer` of `producers`, drawn from `rng`.

    Small and large ints (negative too), floats, str (some interned), bytes, tuples,
    dicts, lists and this producer's share of `CONSTANTS`; about a quarter of them
    repeat one of the producer's last three values (an equal value, a fresh object
    where the type allows: a new nan, a new list). No value of one producer equals a
    value of another (by `value_key`), so a value taken names its producer.
    """
    mine = CONSTANTS[producer::producers]
    values: list = []
    for _ in range(count):
        if values and rng.random() < REPEAT_SHARE:
            values.append(_again(rng.choice(values[-3:])))
            continue
        draw = rng.random()
        k = rng.randrange(-12, 40)
        tagged = producers * k + producer  # == producer modulo producers
        if draw < 0.22:
            value: object = tagged  # small ints are cached: one object per value
        elif draw < 0.32:
            big = rng.choice((1, -1)) * rng.randrange(2 ** 62, 2 ** 90)
            value = big - big % producers + producer
        elif draw < 0.47:
            value = tagged + 0.5
        elif draw < 0.6:
            text = f"{rng.choice(WORDS)}{producer}"
            value = sys.intern(text) if rng.random() < 0.5 else text
        elif draw < 0.7:
            value = f"{rng.choice(WORDS)}{producer}".encode()
        elif draw < 0.77:
            value = (producer, k) if rng.random() < 0.5 else (producer, (k, "x"))
        elif draw < 0.83:
            value = {"producer": producer, "n": k}
        elif draw < 0.88:
            value = [producer, k]
        elif mine:
            value = rng.choice(mine)()
        else:
            value = tagged
        values.append(value)
    return values


def _again(value: object) -> object:
    """A value equal to `value` (by `value_key`), a new object where its type allows."""
    if type(value) is float:
        return float(repr(value))  # a new nan is not even == to the old one
    if type(value) is int and not -5 <= value <= 256:
        return int(str(value))
    if type(value) in (list, dict):
        return type(value)(value)
    if type(value) is bytes:
        return bytes(bytearray(value))
    return value


def value_key(value: object) -> tuple[str, str]:
    """What two equal payloads share, where == cannot say it: nan is not equal to
    itself, -0.0 == 0.0 and True == 1 although they are different values, and a dict
    or a list cannot be hashed. The type's name and the repr tell them all apart."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - an object with a broken repr is keyed by identity
        text = f"<object at {id(value):#x}>"
    return type(value).__qualname__, text


def name_value(value: object) -> str:
    """A payload as a report names it: `the int 7`, `the float nan`, `None`."""
    if value is None:
        return "None"
    if isinstance(value, float) and math.isnan(value):
        return "the float nan"
    return f"the {type(value).__qualname__} {describe(value)}"


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
