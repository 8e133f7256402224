"""The public history format: JSON Lines, one queue call per line.

    {"thread": "p0", "op": "put", "value": 17, "start": 120, "end": 340}
    {"thread": "c1", "op": "get", "value": 17, "start": 300, "end": 410}
    {"thread": "c0", "op": "get", "error": "Empty", "start": 90, "end": 95}
    {"thread": "p1", "op": "put", "value": 18, "start": 500, "end": null}

Plain JSON so that any language can write it: a Java or Go queue's stress test can
dump its calls and have `prodcon check-history` judge them. Blocking, timed and
non-blocking forms are all `put` / `get`; times are integers (or numbers) in any
unit, only their order matters; `"end": null` is a call that never returned. An
optional `"label"` names the value in reports and pictures. Other keys are ignored,
so a writer may add its own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Iterable, Sequence
from typing import IO, Any

from prodcon.errors import FormatError
from prodcon.items import describe

OPS = ("put", "get")
#: The errors that have a meaning for a queue; any other error marks a call that
#: failed without touching the queue (and is ignored by the checkers).
QUEUE_ERRORS = ("Full", "Empty")
#: The same two errors under asyncio's names, as a recording of an async queue has them.
_ASYNC_NAMES = {"QueueFull": "Full", "QueueEmpty": "Empty"}


class Op:
    """One call of a history.

    `value` is what the checkers compare (hashable: JSON arrays and objects are
    turned into their canonical text), `label` what people read. A get has a value
    only when it returned (`returned`), so a get that returned `null` differs from
    one that raised or never came back.
    """

    __slots__ = ("index", "thread", "op", "value", "label", "error", "start", "end", "line")

    def __init__(self, index: int, thread: str, op: str, value: Hashable, error: str | None,
                 start: float, end: float | None, label: str | None = None,
                 line: int | None = None) -> None:
        self.index = index
        self.thread = thread
        self.op = op
        self.value = value
        self.error = error
        self.start = start
        self.end = end
        self.label = label if label is not None else _label(value)
        self.line = line if line is not None else index + 1

    @property
    def pending(self) -> bool:
        return self.end is None

    @property
    def returned(self) -> bool:
        """The call came back without an error."""
        return self.end is not None and self.error is None

    @property
    def ignored(self) -> bool:
        """Failed with an error that says nothing about the queue's contents."""
        return self.error is not None and self.error not in QUEUE_ERRORS

    def text(self) -> str:
        """`put(17)`, `get() -> 17`, `get() raised Empty`, `put(18) (never returned)`."""
        arg = self.label if self.op == "put" else ""
        call = f"{self.op}({arg})"
        if self.end is None:
            return f"{call} (never returned)"
        if self.error is not None:
            return f"{call} raised {self.error}"
        return f"{call} -> {self.label}" if self.op == "get" else call

    def __repr__(self) -> str:
        return f"<{self.thread}: {self.text()} [{self.start}, {self.end}]>"

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"thread": self.thread, "op": self.op}
        if self.op == "put" or self.returned:
            record["value"] = self.value
            if self.label != _label(self.value):
                record["label"] = self.label
        if self.error is not None:
            record["error"] = self.error
        record["start"] = self.start
        record["end"] = self.end
        return record


def _label(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _time(record: dict, key: str, line: int, nullable: bool) -> float | None:
    if key not in record:
        raise FormatError(line, f'missing "{key}"')
    value = record[key]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FormatError(line, f'"{key}" must be a number{" or null" if nullable else ""}, '
                                f"not {json.dumps(value)}")
    return value


def _hashable(value: Any) -> Hashable:
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def parse_line(text: str, index: int, line: int) -> Op:
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise FormatError(line, f"not JSON ({exc.args[0]})") from None
    if not isinstance(record, dict):
        raise FormatError(line, "a call must be a JSON object")
    thread = record.get("thread")
    if not isinstance(thread, (str, int)) or isinstance(thread, bool):
        raise FormatError(line, '"thread" must be a string (or an integer)')
    op = record.get("op")
    if op not in OPS:
        raise FormatError(line, f'"op" must be "put" or "get", not {json.dumps(op)}')
    start = _time(record, "start", line, nullable=False)
    end = _time(record, "end", line, nullable=True)
    if end is not None and end < start:
        raise FormatError(line, f'"end" ({end}) is before "start" ({start})')
    error = record.get("error")
    if error is not None and not isinstance(error, str):
        raise FormatError(line, '"error" must be a string such as "Full" or "Empty"')
    if op == "put" and "value" not in record:
        raise FormatError(line, 'a put needs a "value"')
    if op == "get" and end is not None and error is None and "value" not in record:
        raise FormatError(line, 'a get that returned needs a "value" (or an "error")')
    if error is not None and end is None:
        raise FormatError(line, 'a call that never returned ("end": null) cannot have an error')
    label = record.get("label")
    if label is not None and not isinstance(label, str):
        raise FormatError(line, '"label" must be a string')
    value = _hashable(record.get("value")) if (op == "put" or error is None) else None
    return Op(index, str(thread), op, value, error, start, end, label, line)


def read(stream: Iterable[str]) -> list[Op]:
    """Every call of a history; blank lines are skipped, anything else malformed raises."""
    ops: list[Op] = []
    for number, text in enumerate(stream, 1):
        if text.strip():
            ops.append(parse_line(text, len(ops), number))
    return ops


def load(path: str) -> list[Op]:
    with open(path, encoding="utf-8") as stream:
        return read(stream)


def write(ops: Sequence[Op], stream: IO[str]) -> None:
    for op in ops:
        stream.write(json.dumps(op.to_json(), default=str) + "\n")


def from_calls(calls: Iterable[Any]) -> list[Op]:
    """The kit's recorded calls (`engine.recording.Call`) as a public history.

    Items are matched by identity in the kit, so each distinct object gets its own
    integer value here and its name (`p0#3`, `stop#1`, `None`) as the label: values
    stay unique even for items that compare equal to everything. (The calls hold
    their items, so no id is reused while this runs.) Calls other than
    put and get (task_done, qsize, ...) are left out; times are nanoseconds from
    the first call.

    The call's form (put_nowait, get with a timeout, ...) is not carried over: the
    format knows only put and get, so that any language can write it, and the rules,
    the search and the pictures judge a call by its outcome alone (Full, Empty, a
    value). A `form` key would be ignored by readers, but every page and saved
    history the kit writes would change, so it stays out.
    """
    selected = [c for c in calls if c.op in ("put", "put_nowait", "get", "get_nowait")]
    origin = min((c.start for c in selected), default=0)
    keys: dict[int, int] = {}
    ops = []
    for c in sorted(selected, key=lambda c: c.start):
        op = "put" if c.op.startswith("put") else "get"
        end = None if c.end is None else c.end - origin
        error = None if c.error is None else type(c.error).__name__
        error = _ASYNC_NAMES.get(error, error)
        value = label = None
        if op == "put" or (end is not None and error is None):
            obj = c.item if op == "put" else c.value
            value = keys.setdefault(id(obj), len(keys))
            label = describe(obj)
        ops.append(Op(len(ops), c.thread, op, value, error, c.start - origin, end, label))
    return ops
