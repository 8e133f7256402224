"""The wire between the kit and the sandbox's child: framing, messages, values, lanes.

The connection is a socket pair carrying one JSON message per line: never pickle,
which would hand the submission code execution in the grader. A message is a JSON
list, its kind first; here each kind is a small frozen dataclass (`Call`, `Ret`,
...), turned into its line by `encode` and back by `decode`, which checks its shape
as strictly as the kit needs: the child is not trusted, so a line that is not a
message the other side may send raises `ProtocolError`.

Each side reads with one thread that only routes messages (`Endpoint`), so:

- Threads come in pairs (a *lane*): each thread that calls into the other side has
  one twin there, named like it, that executes its calls in order. While a thread
  waits for a reply it executes the calls its twin makes back, so calls nest and
  stay on the same two threads: the kit thread that called `producer` is the one
  that runs the submission's `q.put(...)`, as the kit's per-thread recording needs.
  A thread the submission starts itself gets a thread of its own on the kit's side.
- Objects keep their identity. Each side gives every object it sends a token and
  keeps the object alive; the other side builds one stand-in per token (the kit's
  item classes are rebuilt as such, numbers and strings as the literal, anything
  else as an opaque object) and sends the stand-in back as that token, so the very
  object returns. Tokens are never released: a session costs a few hundred bytes
  per object sent.
- The kit's objects the child may call back (the recorded queue, `handle`, the
  items iterable) are offered as references (`Ref`) with a fixed set of operations
  (`REF_OPS`).
"""

from __future__ import annotations

import collections
import itertools
import json
import queue as stdlib_queue
import socket
import threading
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from prodcon.items import ODD_KINDS, Item

ITEM_CLASSES = {cls.__name__: cls for cls in (Item, *ODD_KINDS)}
QUEUE_OPS = ("put", "get", "put_nowait", "get_nowait", "task_done", "join", "qsize", "empty",
             "full")
#: What the child may do with each kind of reference to a kit object.
REF_OPS = {
    "queue": frozenset((*QUEUE_OPS, "shutdown", "getattr")),
    "callable": frozenset(("__call__",)),
    "iterable": frozenset(("__iter__", "__next__", "__len__", "__getitem__")),
    # The async workers' queue and handle (isolation.async_callbacks): plain calls, and
    # coroutine calls begun as tasks of the kit's loop, each under the child task's name.
    "async-queue": frozenset(("plain", "begin", "cancel", "dropped")),
    "async-callable": frozenset(("call", "cancel")),
}
LINE_LIMIT = 1 << 20  # bytes in one message
TEXT_LIMIT = 2000  # characters of a message or repr the child sends
TRACE_LIMIT = 6000
STACKS_LIMIT = 64 << 10
_STANDIN_LIMIT = 2_000_000  # stand-ins for the child's objects; a flood is an attack


class ProtocolError(Exception):
    """The other side sent something that is not a message of the protocol."""


# --- messages ------------------------------------------------------------------------------


class Message:
    """A message's wire form is `[KIND, *its fields in order]`."""

    __slots__ = ()
    KIND: ClassVar[str]
    #: The JSON types of its fields, in order (`object`: any).
    SHAPE: ClassVar[tuple]
    __match_args__: ClassVar[tuple[str, ...]]

    @classmethod
    def fits(cls, fields: list) -> bool:
        """Whether `fields` (the wire form after the kind) have this message's SHAPE."""
        return len(fields) == len(cls.SHAPE) and all(
            cls._is(value, kind) for value, kind in zip(fields, cls.SHAPE, strict=True))

    @staticmethod
    def _is(value: Any, kind: type) -> bool:
        """Exact types: a JSON true is not a number here."""
        return kind is object or type(value) is kind


class LaneMessage(Message):
    """A message for one lane: its thread there executes it, or waits for it."""

    __slots__ = ()
    lane: int

    #: isinstance: a JSON true passes for the number 1 here, as it always has.
    _is = staticmethod(isinstance)


class ErrorText(NamedTuple):
    """An exception as it crosses (a JSON list of four strings): `role` names the
    contract's meaning of the exception (Full, Empty, ShutDown, ValueError), if any."""

    name: str
    message: str
    trace: str
    role: str

    @classmethod
    def from_wire(cls, value: list) -> ErrorText:
        if len(value) != 4:
            raise ProtocolError("a malformed error")
        return cls(*value)


@dataclass(frozen=True, slots=True)
class Call(LaneMessage):
    """Call `op` on `target`; `name` is the calling thread's, on its lane's first call.

    Values as sent (tokens) on the wire; the objects they stand for once routed."""

    KIND = "call"
    SHAPE = (int, (str, type(None)), int, object, str, list, dict)
    lane: int
    name: str | None
    cid: int
    target: Any
    op: str
    args: list
    kwargs: dict


@dataclass(frozen=True, slots=True)
class Ret(LaneMessage):
    """Call `cid` returned `value`."""

    KIND = "ret"
    SHAPE = (int, int, object)
    lane: int
    cid: int
    value: Any


@dataclass(frozen=True, slots=True)
class Err(LaneMessage):
    """Call `cid` raised: an `ErrorText` on the wire, the rebuilt exception once routed."""

    KIND = "err"
    SHAPE = (int, int, list)
    lane: int
    cid: int
    error: Any


@dataclass(frozen=True, slots=True)
class Close(LaneMessage):
    """The thread of `lane` ended: its twin ends too."""

    KIND = "close"
    SHAPE = (int,)
    lane: int


@dataclass(frozen=True, slots=True)
class Ready(Message):
    """Child: the submission is imported; `info` says what it provides."""

    KIND = "ready"
    SHAPE = (dict,)
    info: dict


@dataclass(frozen=True, slots=True)
class Failed(Message):
    """Child: the submission could not be imported, and why."""

    KIND = "failed"
    SHAPE = (str,)
    text: str


@dataclass(frozen=True, slots=True)
class AskStacks(Message):
    """Kit: where is each of your threads? (answered by `Stacks` with the same request)"""

    KIND = "stacks"
    SHAPE = (int,)
    request: int


@dataclass(frozen=True, slots=True)
class Stacks(Message):
    """Child: the answer to `AskStacks`; `text` is checked where it is read."""

    KIND = "stacks"
    SHAPE = (int, object)
    request: int
    text: Any


#: The exit code of a child that ends for want of memory (`child._Child._fatal`). The
#: `Dying` line says so first, but it may not get out (the send lock busy for long on a
#: loaded machine, or read after the exit is): the code says it too.
OUT_OF_MEMORY_EXIT = 3


@dataclass(frozen=True, slots=True)
class Dying(Message):
    """Child: it ends for want of a resource (`note`: "memory"), checked where read.

    Written by hand by the dying child (`child._Child._fatal`): no memory to spare."""

    KIND = "dying"
    SHAPE = (object,)
    note: Any


@dataclass(frozen=True, slots=True)
class Bye(Message):
    """Kit: exit now (close() gives the child a moment to flush its logs and coverage)."""

    KIND = "bye"
    SHAPE = ()


_LANE_KINDS = {cls.KIND: cls for cls in (Call, Ret, Err, Close)}
#: What each side may receive, by kind.
KIT_READS = {**_LANE_KINDS, **{cls.KIND: cls for cls in (Ready, Failed, Stacks, Dying)}}
CHILD_READS = {**_LANE_KINDS, **{cls.KIND: cls for cls in (AskStacks, Bye)}}

_dumps = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def encode(msg: Message) -> bytes:
    """The message's line."""
    return _dumps([msg.KIND, *[getattr(msg, name) for name in msg.__match_args__]]).encode() \
        + b"\n"


def decode(line: bytes, reads: dict[str, type[Message]]) -> Message:
    """The message of `line`, one of the kinds in `reads`; anything else is a ProtocolError."""
    if not line.endswith(b"\n"):
        raise ProtocolError(f"a message longer than {LINE_LIMIT} bytes")
    msg = json.loads(line)
    if type(msg) is not list or not msg or type(msg[0]) is not str:
        raise ProtocolError("a message that is not a list starting with its kind")
    cls = reads.get(msg[0])
    if cls is None:
        raise ProtocolError(f"an unexpected {clip(msg[0], 20)!r} message")
    if not cls.fits(msg[1:]):
        raise ProtocolError(f"a malformed {msg[0]!r} message" if issubclass(cls, LaneMessage)
                            else f"an unexpected {clip(msg[0], 20)!r} message")
    return cls(*msg[1:])


# --- text and exceptions from the other side -------------------------------------------------


def clip(text: Any, limit: int = TEXT_LIMIT, lines: bool = False) -> str:
    """Text from the other side, made safe to print: bounded, no control characters."""
    if type(text) is not str:
        raise ProtocolError("text expected")
    kept = "".join(c if c.isprintable() or (lines and c == "\n") else "?" for c in text[:limit])
    return kept + ("..." if len(text) > limit else "")


def safe_str(obj: Any) -> str:
    try:
        return str(obj)
    except Exception:  # noqa: BLE001 - a broken __str__ is the object's business
        return f"<{type(obj).__name__} object>"


def safe_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception:  # noqa: BLE001
        return f"<{type(obj).__name__} object>"


def error_text(exc: BaseException, roles: tuple, trace: str) -> ErrorText:
    """`exc` as it crosses; `roles` pairs each contract role with this side's class."""
    role = next((r for r, cls in roles if cls is not None and isinstance(exc, cls)), "")
    return ErrorText(type(exc).__name__, safe_str(exc)[:TEXT_LIMIT], trace[-TRACE_LIMIT:], role)


class RemoteError(Exception):
    """In the kit, an exception the submission's code raised, rebuilt here under the same
    class name (in the child, the same stands for an exception of the kit's code).

    Only its name, message and the child's traceback text (`remote_traceback`) cross.
    Not a `prodcon.errors.ProdconError`: it is the submission's own exception, which the
    suite judges (or pytest reports) as the implementation's behaviour, never an error
    of the kit or of its use.
    """

    remote_traceback = ""


_remote_classes: dict[str, type[RemoteError]] = {}


def remote_error(name: str, message: str, trace: str) -> RemoteError:
    """An exception whose class has the other side's class name, so reports read right."""
    name = name if name.isidentifier() else "RemoteError"
    cls = _remote_classes.get(name)
    if cls is None:
        cls = type(name, (RemoteError,), {"__module__": "submission"})
        if len(_remote_classes) < 1000:
            _remote_classes[name] = cls
    error = cls(message)
    error.remote_traceback = trace
    return error


# --- one end of the connection ---------------------------------------------------------------


#: How the child's listing of its threads (`Stacks`) marks a thread that waits for the
#: kit, in no code of the submission's: read by the parent and by the session's reports.
IDLE = "(idle: waiting for the kit)"
#: The last line of a thread of the child's that waits for the kit's answer to a call
#: back (the submission's worker calling the kit's queue): not held in the submission.
CALLING_BACK = "(waiting for the kit's answer to a call back)"


class Lane:
    """A thread and its twin on the other side: their calls, nested, in order."""

    __slots__ = ("id", "name", "inbox", "announced", "closed")

    def __init__(self, lane_id: int, name: str) -> None:
        self.id = lane_id
        self.name = name
        self.inbox: stdlib_queue.SimpleQueue = stdlib_queue.SimpleQueue()
        self.announced = False  # the other side has been told the thread's name
        self.closed = False


class _Retire:
    """Lives in a thread's local storage; when the thread ends, its lane is retired."""

    __slots__ = ("retired", "lane_id")

    def __init__(self, retired: collections.deque, lane_id: int) -> None:
        self.retired = retired
        self.lane_id = lane_id

    def __del__(self) -> None:
        self.retired.append(self.lane_id)  # atomic; the next send tells the other side


class Ref:
    """An argument the child gets as a reference back to this object, not as an item."""

    __slots__ = ("target", "kind")

    def __init__(self, target: Any, kind: str) -> None:
        self.target = target
        self.kind = kind


class Endpoint:
    """One end of the connection: lanes, calls and replies, objects and their tokens.

    The two sides differ only in what each subclass provides: `READS` (the kinds it
    accepts), `_receive(lane)` (how a thread waits), `_special(msg)` (messages not for
    a lane), `_spec(obj)` and `_build(spec)` (what stands in for an object on the
    other side), `_error_out(exc)` and `_error_in(error)` (exceptions across), and how
    much they check what arrives.
    """

    _sign = 1  # lanes this side opens have ids of this sign
    READS: ClassVar[dict[str, type[Message]]]

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._rfile = sock.makefile("rb")
        self._send_lock = threading.Lock()
        self._lanes: dict[int, Lane] = {}
        self._local = threading.local()
        self._retired: collections.deque = collections.deque()
        self._lane_ids = itertools.count(1)
        self._call_ids = itertools.count(1)
        self._tokens = itertools.count(1)
        self._mine: dict[int, tuple[Any, list]] = {}  # token -> (object, spec), kept alive
        self._mine_ids: dict[int, int] = {}  # id(object) -> token
        self._theirs: dict[int, Any] = {}  # token -> stand-in of the other side's object
        self._theirs_ids: dict[int, int] = {}  # id(stand-in) -> token

    # sending --------------------------------------------------------------------------

    def _send(self, msg: Message | None) -> None:
        """Send `msg` (None: only the news of retired lanes)."""
        data = b"" if msg is None else encode(msg)
        with self._send_lock:
            while self._retired:
                lane_id = self._retired.popleft()
                self._lanes.pop(lane_id, None)
                data = encode(Close(lane_id)) + data
            if data:
                self._write(data)

    def _write(self, data: bytes) -> None:
        self._sock.sendall(data)

    # calls -----------------------------------------------------------------------------

    def _lane(self) -> Lane:
        """The current thread's lane, opened on its first call under its current name."""
        lane = getattr(self._local, "lane", None)
        name = threading.current_thread().name
        # A kit thread renamed for its next call (harness's pooled callers) gets a lane,
        # and so a twin, of that name: hang reports name the twins. Replacing `retire`
        # retires the old lane.
        if lane is None or lane.name != name:
            lane = Lane(self._sign * next(self._lane_ids), name)
            self._lanes[lane.id] = lane
            self._local.lane = lane
            self._local.retire = _Retire(self._retired, lane.id)
        return lane

    def _request(self, target: Any, op: str, args: tuple | list, kwargs: dict) -> Any:
        """Call `op` on the other side's `target`; serve its calls back while waiting."""
        lane = self._lane()
        cid = next(self._call_ids)
        name = None if lane.announced else lane.name
        lane.announced = True
        self._send(Call(lane.id, name, cid, self._out(target), op, [self._out(a) for a in args],
                        {k: self._out(v) for k, v in kwargs.items()}))
        while True:
            msg = self._receive(lane)
            if type(msg) is Call:
                self._serve_call(lane, msg)
            elif type(msg) is Close:
                lane.closed = True
            elif msg.cid == cid:  # a reply to an earlier, abandoned call is dropped
                if type(msg) is Ret:
                    return msg.value
                raise msg.error

    def _serve_call(self, lane: Lane, call: Call) -> None:
        try:
            reply = Ret(lane.id, call.cid, self._result_out(call.op, self._execute(
                call.target, call.op, call.args, call.kwargs)))
        except BaseException as exc:  # noqa: BLE001 - it is the reply
            self._send(Err(lane.id, call.cid, self._error_out(exc)))
            self._after_error(exc)
            return
        self._send(reply)

    def _serve_lane(self, lane: Lane) -> None:
        """The twin's life: execute the other thread's calls until its thread ends."""
        self._local.lane = lane
        try:
            while not lane.closed:
                msg = self._receive(lane)
                if type(msg) is Call:
                    self._serve_call(lane, msg)
                elif type(msg) is Close:
                    lane.closed = True
        finally:
            self._lanes.pop(lane.id, None)

    def _decode_call(self, call: Call) -> Call:
        return Call(call.lane, call.name, call.cid, self._in(call.target), call.op,
                    [self._in(a) for a in call.args],
                    {k: self._in(v) for k, v in call.kwargs.items()})

    # reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        """Route every message to its lane, until the connection ends."""
        while True:
            line = self._rfile.readline(LINE_LIMIT)
            if not line:
                return
            self._route(decode(line, self.READS))

    def _route(self, msg: Message) -> None:
        """Decode `msg`'s values and hand it to its lane: all checks happen here, in
        message order."""
        if not isinstance(msg, LaneMessage):
            self._special(msg)
            return
        if type(msg) is Call:
            msg = self._decode_call(msg)
        elif type(msg) is Ret:
            msg = Ret(msg.lane, msg.cid, self._in(msg.value))
        elif type(msg) is Err:
            msg = Err(msg.lane, msg.cid, self._error_in(ErrorText.from_wire(msg.error)))
        lane = self._lanes.get(msg.lane)
        if lane is None and type(msg) is Call:
            if msg.lane * self._sign > 0:  # our thread of that lane is gone
                self._refuse(msg, "the caller abandoned this call")
                return
            try:
                lane = self._open_twin(msg.lane, msg.name)
            except RuntimeError as exc:  # can't start new thread
                self._refuse(msg, str(exc))
                return
        if lane is not None:
            lane.inbox.put(msg)

    def _refuse(self, call: Call, why: str) -> None:
        self._send(Err(call.lane, call.cid, ErrorText("RuntimeError", why, "", "")))

    def _open_twin(self, lane_id: int, name: str | None) -> Lane:
        """A thread here for a thread there: it serves that thread's calls."""
        lane = Lane(lane_id, clip(name or f"thread of lane {lane_id}", 100))
        threading.Thread(target=self._serve_lane, args=(lane,), name=lane.name,
                         daemon=True).start()
        self._lanes[lane_id] = lane
        return lane

    # values ----------------------------------------------------------------------------

    def _out(self, obj: Any) -> Any:
        """`obj` as a JSON value: singletons as themselves, everything else by token."""
        if obj is None or obj is True or obj is False:
            return obj
        kind = type(obj)
        if (kind is int and -5 <= obj <= 256) or (kind is str and not obj):
            return obj  # interned: the same object on both sides
        if kind is tuple and not obj:
            return ["()"]
        if kind is Ref:
            return self._own(obj.target, ["r", obj.kind])
        token = self._theirs_ids.get(id(obj))
        if token is not None:
            return ["y", token]
        return self._own(obj, None)

    def _own(self, obj: Any, spec: list | None) -> list:
        token = self._mine_ids.get(id(obj))
        if token is None:
            token = next(self._tokens)
            self._mine[token] = (obj, spec or self._spec(obj))
            winner = self._mine_ids.setdefault(id(obj), token)
            if winner != token:  # another thread registered it first
                del self._mine[token]
                token = winner
        return ["m", token, *self._mine[token][1]]

    def _in(self, wire: Any) -> Any:
        """A JSON value back into an object: ours by token, or a stand-in for theirs."""
        if type(wire) is not list:
            if type(wire) is dict:
                raise ProtocolError("an object where a value was due")
            return wire
        tag = wire[0] if wire else None
        token = wire[1] if len(wire) > 1 else None
        if tag == "()" and len(wire) == 1:
            return ()
        if type(token) is not int:
            raise ProtocolError("a value without a token")
        if tag == "y" and len(wire) == 2:
            entry = self._mine.get(token)
            if entry is None:
                raise ProtocolError("a token this side never gave out")
            return entry[0]
        if tag == "m" and len(wire) > 2:
            standin = self._theirs.get(token)
            return standin if standin is not None else self._adopt(token, wire[2:])
        raise ProtocolError("an unknown kind of value")

    def _adopt(self, token: int, spec: list) -> Any:
        if len(self._theirs) >= _STANDIN_LIMIT:
            raise ProtocolError("too many objects")
        standin = self._theirs.setdefault(token, self._build(spec))
        self._theirs_ids[id(standin)] = token
        return standin

    def _result_out(self, op: str, result: Any) -> Any:
        return self._out(result)

    def _after_error(self, exc: BaseException) -> None:
        """Called after an error reply was sent for `exc`."""

    def _execute(self, target: Any, op: str, args: list, kwargs: dict) -> Any:
        return execute(target, op, args, kwargs)


def execute(target: Any, op: str, args: list, kwargs: dict) -> Any:
    """Do what a `Call` asks of its (routed) target."""
    if op == "__call__":
        return target(*args, **kwargs)
    if op == "getattr":
        return getattr(target, args[0])
    if op == "__iter__":
        return iter(target)
    if op == "__next__":
        return next(target)
    if op == "__len__":
        return len(target)
    if op == "__getitem__":
        return target[args[0]]
    return getattr(target, op)(*args, **kwargs)
