"""Grading mode's foundation: the submission runs in a child process, the verdict here.

The rule: the process that decides the verdict never runs submission code. So
`load_isolated` imports the submission in a child process (its own session, resource
limits, a temporary working directory holding a copy of the submission, an
environment without the parent's variables) and returns an `Implementation` whose
user-provided parts are proxies into it. pytest, the scenarios and the checkers stay
in the trusted process and use the proxies as they would use the real thing.

The connection is a socket pair carrying one JSON message per line: never pickle,
which would hand the submission code execution in the grader. Each side reads with
one thread that only routes messages, so:

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
  object returns. What the submission makes up arrives here as a `Foreign` object.
  Tokens are never released: a session costs a few hundred bytes per object sent.
- The kit's objects the child may call back (the recorded queue, `handle`, the
  items iterable) are offered as references with a fixed set of operations; any
  other call from the child, and any malformed message, counts as the child dying.

A child that exits, crashes or runs out of a limit ends every pending and future
call with `SandboxDied`, within a fraction of a second, saying why.
"""

from __future__ import annotations

import atexit
import builtins
import collections
import faulthandler
import importlib
import itertools
import json
import math
import os
import queue as stdlib_queue
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodcon import contract
from prodcon.items import ODD_KINDS, Item, describe
from prodcon.processes import kit_import_root

_ITEM_CLASSES = {cls.__name__: cls for cls in (Item, *ODD_KINDS)}
_QUEUE_OPS = ("put", "get", "put_nowait", "get_nowait", "task_done", "join", "qsize", "empty",
              "full")
#: What the child may do with each kind of reference to a kit object.
_REF_OPS = {
    "queue": frozenset((*_QUEUE_OPS, "shutdown", "getattr")),
    "callable": frozenset(("__call__",)),
    "iterable": frozenset(("__iter__", "__next__", "__len__", "__getitem__")),
}
_LINE_LIMIT = 1 << 20  # bytes in one message
_TEXT_LIMIT = 2000  # characters of a message or repr the child sends
_TRACE_LIMIT = 6000
_STACKS_LIMIT = 64 << 10
_STANDIN_LIMIT = 2_000_000  # stand-ins for the child's objects; a flood is an attack
_MIRROR_LIMIT = 256  # kit-side threads serving threads the submission started
_POLL = 0.25  # a waiting thread's second look at whether the child died
_GRACE = 1.0  # close(): time the child gets to exit by itself (flushes logs and coverage)
_SEND_BOUND = 10  # seconds a send may block: a child that stops reading is gone
_ATTRIBUTE_BOUND = 2.0
_STACK_SIZE = 2 << 20  # child threads: 40 of them are 80 MiB of the memory limit
_STDOUT, _STDERR = ".prodcon-stdout.log", ".prodcon-stderr.log"
_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
_DIED = object()  # put in every waiting queue when the child dies
_hard_exit = os._exit  # the child's, taken before a submission can replace it
_BOOTSTRAP = ("import sys\n"
              "if '' in sys.path: sys.path.remove('')\n"  # the submission must not shadow the kit
              "from prodcon.isolation.sandbox import _serve\n"
              "_serve(sys.argv[1:])\n")


# --- public surface ------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What the child may use; each limit is set in the child before the submission loads.

    `memory` is RLIMIT_AS (address space, thread stacks included), `cpu` RLIMIT_CPU
    (seconds of all its threads), `file_size` RLIMIT_FSIZE (any file it writes, the
    logs of its stdout and stderr included). `processes` bounds the child's processes and
    threads together, through RLIMIT_NPROC and, where the kit may make one, a pids
    cgroup of the child's own. RLIMIT_NPROC counts every process of the user: under
    root the child becomes a user of its own (`_leave_root`); under another grading
    user it counts that user's processes too.
    """

    memory: int = 1 << 30
    cpu: float = 120.0
    processes: int = 256
    file_size: int = 16 << 20
    import_bound: float = 30.0


class RemoteError(Exception):
    """An exception from submission code, re-raised here under the same class name.

    Only its name, message and the child's traceback text (`remote_traceback`) cross.
    """

    remote_traceback = ""


class SandboxDied(RemoteError):
    """The child process is gone; every pending and future call raises this."""


class Foreign:
    """Here, an object the submission made up rather than one the kit gave it.

    A checker that tracks items by identity reports it as invented; its repr says
    what it was in the child.
    """

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name} made by the submission: {self.text}>"


@dataclass
class SandboxedImplementation(contract.Implementation):
    """An `Implementation` whose user-provided parts run in `sandbox`.

    Its `module` stands in for the module in the child: handed to `run_in_child`, it
    arrives there as the module itself (the controlled runs load it again there).
    """

    sandbox: Sandbox | None = field(default=None, repr=False)


def load_isolated(name: str, search_dir: Path,
                  limits: Limits = Limits()) -> SandboxedImplementation:  # noqa: B008 - frozen
    """Import NAME in a sandboxed child process and resolve its roles as `contract.load` does.

    The parts NAME provides are proxies into the child; the parts it lacks are
    `reference`'s, here in the trusted process. `impl.sandbox` is the child
    (`stacks()`, `stderr_tail()`, `close()`); it is also closed at exit.
    """
    workdir, origin_dir, child_name = _stage(name, Path(search_dir))
    sandbox = Sandbox(workdir, origin_dir, limits, child_name, name)
    try:
        return _implementation(sandbox, name, sandbox._startup_info(name))
    except BaseException:
        sandbox.close()
        raise


# --- the wire: messages, values and tokens, for both sides -----------------------------


class _ProtocolError(Exception):
    """The other side sent something that is not a message of the protocol."""


_dumps = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
#: Message kinds routed to a lane, with the types of their fields after the kind.
_SHAPES = {
    "call": (int, (str, type(None)), int, object, str, list, dict),  # lane name cid target op
    "ret": (int, int, object),  # lane cid value
    "err": (int, int, list),  # lane cid [name, message, traceback, role]
    "close": (int,),  # lane
}


def _check(msg: Any) -> list:
    if type(msg) is not list or not msg or type(msg[0]) is not str:
        raise _ProtocolError("a message that is not a list starting with its kind")
    shape = _SHAPES.get(msg[0])
    if shape is not None and (len(msg) != len(shape) + 1 or not all(
            isinstance(value, kind) for value, kind in zip(msg[1:], shape, strict=True))):
        raise _ProtocolError(f"a malformed {msg[0]!r} message")
    return msg


def _clip(text: Any, limit: int = _TEXT_LIMIT, lines: bool = False) -> str:
    """Text from the other side, made safe to print: bounded, no control characters."""
    if type(text) is not str:
        raise _ProtocolError("text expected")
    kept = "".join(c if c.isprintable() or (lines and c == "\n") else "?" for c in text[:limit])
    return kept + ("..." if len(text) > limit else "")


def _safe_str(obj: Any) -> str:
    try:
        return str(obj)
    except Exception:  # noqa: BLE001 - a broken __str__ is the object's business
        return f"<{type(obj).__name__} object>"


def _safe_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception:  # noqa: BLE001
        return f"<{type(obj).__name__} object>"


def _error_description(exc: BaseException, roles: tuple, trace: str) -> list:
    """[name, message, traceback, role]: role names the contract's meaning, if any."""
    role = next((r for r, cls in roles if cls is not None and isinstance(exc, cls)), "")
    return [type(exc).__name__, _safe_str(exc)[:_TEXT_LIMIT], trace[-_TRACE_LIMIT:], role]


_remote_classes: dict[str, type[RemoteError]] = {}


def _remote_error(name: str, message: str, trace: str) -> RemoteError:
    """An exception whose class has the child's class name, so reports read right."""
    name = name if name.isidentifier() else "RemoteError"
    cls = _remote_classes.get(name)
    if cls is None:
        cls = type(name, (RemoteError,), {"__module__": "submission"})
        if len(_remote_classes) < 1000:
            _remote_classes[name] = cls
    error = cls(message)
    error.remote_traceback = trace
    return error


class _Lane:
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


class _Ref:
    """An argument the child gets as a reference back to this object, not as an item."""

    __slots__ = ("target", "kind")

    def __init__(self, target: Any, kind: str) -> None:
        self.target = target
        self.kind = kind


class _Endpoint:
    """One end of the connection: lanes, calls and replies, objects and their tokens.

    The two sides differ only in what each subclass provides: `_receive(lane)` (how
    a thread waits), `_special(msg)` (messages not for a lane), `_spec(obj)` and
    `_build(spec)` (what stands in for an object on the other side), `_error_out(exc)`
    and `_error_in(desc)` (exceptions across), and how much they check what arrives.
    """

    _sign = 1  # lanes this side opens have ids of this sign

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._rfile = sock.makefile("rb")
        self._send_lock = threading.Lock()
        self._lanes: dict[int, _Lane] = {}
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

    def _send(self, msg: list | None) -> None:
        """Send `msg` (None: only the news of retired lanes)."""
        data = b"" if msg is None else _dumps(msg).encode() + b"\n"
        with self._send_lock:
            while self._retired:
                lane_id = self._retired.popleft()
                self._lanes.pop(lane_id, None)
                data = _dumps(["close", lane_id]).encode() + b"\n" + data
            if data:
                self._write(data)

    def _write(self, data: bytes) -> None:
        self._sock.sendall(data)

    # calls -----------------------------------------------------------------------------

    def _lane(self) -> _Lane:
        """The current thread's lane, opened on its first call."""
        lane = getattr(self._local, "lane", None)
        if lane is None:
            lane = _Lane(self._sign * next(self._lane_ids), threading.current_thread().name)
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
        self._send(["call", lane.id, name, cid, self._out(target), op,
                    [self._out(a) for a in args], {k: self._out(v) for k, v in kwargs.items()}])
        while True:
            msg = self._receive(lane)
            kind = msg[0]
            if kind == "call":
                self._serve_call(lane, msg)
            elif kind == "close":
                lane.closed = True
            elif msg[2] == cid:  # a reply to an earlier, abandoned call is dropped
                if kind == "ret":
                    return msg[3]
                raise msg[3]

    def _serve_call(self, lane: _Lane, msg: list) -> None:
        _, _, _, cid, target, op, args, kwargs = msg
        try:
            reply = ["ret", lane.id, cid, self._result_out(op, self._execute(target, op, args,
                                                                              kwargs))]
        except BaseException as exc:  # noqa: BLE001 - it is the reply
            self._send(["err", lane.id, cid, self._error_out(exc)])
            self._after_error(exc)
            return
        self._send(reply)

    def _serve_lane(self, lane: _Lane) -> None:
        """The twin's life: execute the other thread's calls until its thread ends."""
        self._local.lane = lane
        try:
            while not lane.closed:
                msg = self._receive(lane)
                if msg[0] == "call":
                    self._serve_call(lane, msg)
                elif msg[0] == "close":
                    lane.closed = True
        finally:
            self._lanes.pop(lane.id, None)

    def _decode_call(self, msg: list) -> tuple:
        return (self._in(msg[4]), msg[5], [self._in(a) for a in msg[6]],
                {k: self._in(v) for k, v in msg[7].items()})

    # reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        """Route every message to its lane, until the connection ends."""
        while True:
            line = self._rfile.readline(_LINE_LIMIT)
            if not line:
                return
            if not line.endswith(b"\n"):
                raise _ProtocolError(f"a message longer than {_LINE_LIMIT} bytes")
            self._route(_check(json.loads(line)))

    def _route(self, msg: list) -> None:
        """Decode `msg` and hand it to its lane: all checks happen here, in message order."""
        kind = msg[0]
        if kind not in _SHAPES:
            self._special(msg)
            return
        if kind == "call":
            msg = [*msg[:4], *self._decode_call(msg)]
        elif kind == "ret":
            msg = [kind, msg[1], msg[2], self._in(msg[3])]
        elif kind == "err":
            msg = [kind, msg[1], msg[2], self._error_in(msg[3])]
        lane = self._lanes.get(msg[1])
        if lane is None and kind == "call":
            if msg[1] * self._sign > 0:  # our thread of that lane is gone
                self._refuse(msg, "the caller abandoned this call")
                return
            try:
                lane = self._open_twin(msg[1], msg[2])
            except RuntimeError as exc:  # can't start new thread
                self._refuse(msg, str(exc))
                return
        if lane is not None:
            lane.inbox.put(msg)

    def _refuse(self, call: list, why: str) -> None:
        self._send(["err", call[1], call[3], ["RuntimeError", why, "", ""]])

    def _open_twin(self, lane_id: int, name: str | None) -> _Lane:
        """A thread here for a thread there: it serves that thread's calls."""
        lane = _Lane(lane_id, _clip(name or f"thread of lane {lane_id}", 100))
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
        if kind is _Ref:
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
                raise _ProtocolError("an object where a value was due")
            return wire
        tag = wire[0] if wire else None
        token = wire[1] if len(wire) > 1 else None
        if tag == "()" and len(wire) == 1:
            return ()
        if type(token) is not int:
            raise _ProtocolError("a value without a token")
        if tag == "y" and len(wire) == 2:
            entry = self._mine.get(token)
            if entry is None:
                raise _ProtocolError("a token this side never gave out")
            return entry[0]
        if tag == "m" and len(wire) > 2:
            standin = self._theirs.get(token)
            return standin if standin is not None else self._adopt(token, wire[2:])
        raise _ProtocolError("an unknown kind of value")

    def _adopt(self, token: int, spec: list) -> Any:
        if len(self._theirs) >= _STANDIN_LIMIT:
            raise _ProtocolError("too many objects")
        standin = self._theirs.setdefault(token, self._build(spec))
        self._theirs_ids[id(standin)] = token
        return standin

    def _result_out(self, op: str, result: Any) -> Any:
        return self._out(result)

    def _after_error(self, exc: BaseException) -> None:
        """Called after an error reply was sent for `exc`."""

    def _execute(self, target: Any, op: str, args: list, kwargs: dict) -> Any:
        return _execute(target, op, args, kwargs)


def _execute(target: Any, op: str, args: list, kwargs: dict) -> Any:
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


# --- the trusted side --------------------------------------------------------------------


def _trusted_roles() -> tuple:
    from prodcon import reference

    return (("Full", stdlib_queue.Full), ("Empty", stdlib_queue.Empty),
            ("ShutDown", reference.ShutDown), ("ValueError", ValueError))


class Sandbox(_Endpoint):
    """The child process running one submission, and the kit's end of the connection.

    Public: `stacks()`, `stderr_tail()`, `run_in_child()`, `close()`, `pid`, and
    `died` (None, or why the child is gone). Threads: one reads the child's messages,
    one waits for it to exit; neither ever runs code on the child's behalf.
    """

    def __init__(self, workdir: Path, origin_dir: Path, limits: Limits, child_name: str,
                 label: str) -> None:
        kit_end, child_end = socket.socketpair()
        kit_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", _SEND_BOUND, 0))
        super().__init__(kit_end)
        self.limits = limits
        self._workdir = workdir
        self._origin_dir = origin_dir
        self._death: str | None = None
        self._death_lock = threading.Lock()
        self._death_tail = ""
        self._note: str | None = None  # what the child said as it died
        self._startup: stdlib_queue.SimpleQueue = stdlib_queue.SimpleQueue()
        self._started = False
        self._stack_waits: dict[int, stdlib_queue.SimpleQueue] = {}
        self._exited = threading.Event()
        self._reap_lock = threading.Lock()
        self._reaped = False
        self._closed = False
        self._roles = _trusted_roles()
        self._cgroup = _pids_cgroup(limits.processes)
        try:
            self._proc = _spawn(child_end, workdir, limits, child_name, label, self._cgroup)
        except BaseException:
            kit_end.close()
            _remove(workdir)
            _end_cgroup(self._cgroup, _GRACE)
            raise
        finally:
            child_end.close()
        atexit.register(self.close)
        for target, name in ((self._read_all, "reader"), (self._wait_for_exit, "waiter")):
            threading.Thread(target=target, name=f"prodcon-sandbox-{name}", daemon=True).start()

    def __repr__(self) -> str:
        state = f"died: {self._death}" if self._death else "running"
        return f"<Sandbox pid={self._proc.pid} {state}>"

    @property
    def pid(self) -> int:
        """The child's process id, which is also its session and process group id."""
        return self._proc.pid

    @property
    def died(self) -> str | None:
        """Why the child is gone ('exited with code 3', ...), or None while it runs."""
        return self._death

    def stacks(self, bound: float = 2.0) -> str:
        """The child's threads and where each one is, for a deadlock report."""
        if self._death is not None:
            return f"unavailable: the submission's process {self._death}"
        request_id = next(self._call_ids)
        slot: stdlib_queue.SimpleQueue = stdlib_queue.SimpleQueue()
        self._stack_waits[request_id] = slot
        try:
            self._send(["stacks", request_id])
            answer = slot.get(timeout=bound)
        except (stdlib_queue.Empty, SandboxDied):
            answer = _DIED
        finally:
            self._stack_waits.pop(request_id, None)
        if answer is not _DIED:
            return answer
        if self._death is not None:
            return f"unavailable: the submission's process {self._death}"
        return f"unavailable: the submission's process did not answer within {bound:g} s"

    def run_in_child(self, fn: Any, *args: Any) -> Any:
        """Call the kit's module-level function `fn` in the child, on the child's objects.

        For a check whose calls must follow each other at once: as two round trips,
        another thread of the child could always slip in between. `fn` must be
        importable there by its module name; a sandboxed Queue among `args` arrives
        as the submission's own queue. Only the result crosses back, to be judged here.
        """
        args = tuple(a._remote if isinstance(a, _SandboxedQueue) else a for a in args)
        return self._request(None, f"kit:{fn.__module__}:{fn.__qualname__}", args, {})

    def stderr_tail(self, lines: int = 10) -> str:
        """The last lines the child wrote to stderr (its tracebacks, its prints there)."""
        if self._closed:
            return self._death_tail
        try:
            with open(_logs(self._workdir) / _STDERR, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 8192))
                data = log.read()
        except OSError:
            return ""
        text = self._local_paths(data.decode("utf-8", "replace"))
        return "\n".join(_clip(text, len(text), lines=True).splitlines()[-lines:])

    def close(self) -> None:
        """End the child and everything it started; remove its directory. Idempotent."""
        with self._death_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        self._death_tail = self.stderr_tail()
        self._die("was closed by the kit")
        with _quiet():  # never blocks: a child that does not read is killed below
            self._sock.send(b'["bye"]\n', socket.MSG_DONTWAIT)
        if not self._exited.wait(_GRACE):
            self._kill()
            self._exited.wait(_GRACE)
        _end_session(self._proc.pid, _GRACE)
        _end_cgroup(self._cgroup, _GRACE)
        with _quiet():
            self._sock.shutdown(socket.SHUT_RDWR)
        self._rfile.close()
        self._sock.close()
        _remove(self._workdir)

    # startup ---------------------------------------------------------------------------

    def _startup_info(self, name: str) -> dict:
        """What the child found in the module, once its import is done."""
        bound = self.limits.import_bound
        try:
            msg = self._startup.get(timeout=bound)
        except stdlib_queue.Empty:
            raise contract.ContractError(
                f"importing {name!r} did not finish within {bound:g} s: the module runs "
                "something endless at import time (an infinite loop, a thread it joins, a "
                "blocking get()). Put demo code under `if __name__ == \"__main__\":`."
            ) from None
        if msg is _DIED:
            raise contract.ContractError(
                f"importing {name!r} ended the process it was imported in: it {self._death}. "
                "A module must not exit or crash at import time; put demo code under "
                f"`if __name__ == \"__main__\":`{self._tail_note()}")
        if msg[0] == "failed":
            raise contract.ContractError(self._local_paths(_clip(msg[1], lines=True)))
        return msg[1]

    # the hooks of the protocol -----------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._death is not None:
            raise SandboxDied(self._death_text())
        try:
            self._sock.sendall(data)
        except OSError:
            self._exited.wait(0.5)  # usually it just exited: let the exit status speak
            self._die("stopped reading the kit's messages", kill=True)
            raise SandboxDied(self._death_text()) from None

    def _receive(self, lane: _Lane) -> list:
        while True:
            try:
                msg = lane.inbox.get(timeout=_POLL)
            except stdlib_queue.Empty:
                if self._death is None:
                    continue
                msg = _DIED
            if msg is _DIED:
                raise SandboxDied(self._death_text())
            return msg

    def _decode_call(self, msg: list) -> tuple:
        """The child's call back, allowed only on what the kit offered it, as offered."""
        target, op, args, kwargs = super()._decode_call(msg)
        token = self._mine_ids.get(id(target))
        spec = self._mine[token][1] if token is not None else None
        if spec is None or spec[0] != "r" or op not in _REF_OPS[spec[1]]:
            raise _ProtocolError(f"a call of {_clip(op, 40)!r} on an object not offered for it")
        if op == "getattr" and not (len(args) == 1 and type(args[0]) is str
                                    and not args[0].startswith("_")):
            raise _ProtocolError("getattr of a private or malformed name")
        return target, op, args, kwargs

    def _result_out(self, op: str, result: Any) -> Any:
        return self._out(_Ref(result, "iterable") if op == "__iter__" else result)

    def _spec(self, obj: Any) -> list:
        kind = type(obj)
        if kind in (int, float, str):
            return ["v", obj]
        if _ITEM_CLASSES.get(kind.__name__) is kind:
            return ["i", kind.__name__, obj.producer, obj.seq]
        return ["o", kind.__name__, describe(obj)]

    def _build(self, spec: list) -> Any:
        if spec[0] == "v" and len(spec) == 2 and type(spec[1]) in (int, float, str):
            return spec[1]
        if spec[0] == "f" and len(spec) == 3:
            return Foreign(_clip(spec[1], 100), _clip(spec[2], 200))
        raise _ProtocolError("an unknown kind of object")

    def _error_out(self, exc: BaseException) -> list:
        return _error_description(exc, self._roles, "")

    def _error_in(self, desc: list) -> BaseException:
        if len(desc) != 4:
            raise _ProtocolError("a malformed error")
        name, message, trace, role = (_clip(desc[0], 100), _clip(desc[1]),
                                      _clip(desc[2], _TRACE_LIMIT, lines=True), _clip(desc[3]))
        message, trace = self._local_paths(message), self._local_paths(trace)
        classes = dict(self._roles)
        if role in classes:
            error = classes[role](message)
            error.remote_traceback = trace
            return error
        return _remote_error(name, message, trace)

    def _after_error(self, exc: BaseException) -> None:
        if not isinstance(exc, Exception):
            raise exc  # the kit abandoned this thread (or is ending): the child was told

    def _special(self, msg: list) -> None:
        kind = msg[0]
        if (kind, type(msg[-1])) in (("ready", dict), ("failed", str)) and len(msg) == 2 \
                and not self._started:
            self._started = True
            self._startup.put(msg)
        elif kind == "stacks" and len(msg) == 3 and type(msg[1]) is int:
            slot = self._stack_waits.get(msg[1])
            if slot is not None:
                slot.put(self._local_paths(_clip(msg[2], _STACKS_LIMIT, lines=True)))
        elif kind == "dying" and len(msg) == 2:
            self._note = _clip(msg[1], 20)
        else:
            raise _ProtocolError(f"an unexpected {_clip(kind, 20)!r} message")

    def _open_twin(self, lane_id: int, name: str | None) -> _Lane:
        if sum(1 for other in list(self._lanes) if other < 0) >= _MIRROR_LIMIT:
            raise _ProtocolError(f"more than {_MIRROR_LIMIT} threads calling back at once")
        return super()._open_twin(lane_id, name)

    def _serve_lane(self, lane: _Lane) -> None:
        """A mirror of a thread the submission started; it ends with that thread."""
        try:
            super()._serve_lane(lane)
        except SandboxDied:
            pass

    # death -----------------------------------------------------------------------------

    def _read_all(self) -> None:
        try:
            self._read()
        except Exception as exc:  # noqa: BLE001 - whatever it sent, it broke the protocol
            if self._death is None:
                self._die(f"broke the protocol ({_clip(str(exc), 200)})", kill=True)
            return
        if not self._exited.wait(0.5):
            self._die("closed its connection to the kit", kill=True)

    def _wait_for_exit(self) -> None:
        """Reap the child; first kill what it left in its process group, while the id is ours."""
        pid = self._proc.pid
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            with self._reap_lock:
                _end_session(pid, 0)
                _, status, usage = os.wait4(pid, 0)
                self._reaped = True
            self._proc.returncode = os.waitstatus_to_exitcode(status)
            reason = self._exit_reason(status, usage)
        except ChildProcessError:  # someone else reaped it
            self._proc.returncode = -1  # known to be gone: no ResourceWarning from Popen
            reason = "exited"
        self._die(reason)
        self._exited.set()

    def _exit_reason(self, status: int, usage: Any) -> str:
        mib = self.limits.memory >> 20
        if self._note == "memory":
            return f"ran out of memory (limit {mib} MiB)"
        if not os.WIFSIGNALED(status):
            return f"exited with code {os.WEXITSTATUS(status)}"
        number = os.WTERMSIG(status)
        cpu = usage.ru_utime + usage.ru_stime
        if number == signal.SIGXCPU or (number == signal.SIGKILL
                                        and cpu >= math.ceil(self.limits.cpu)):
            return f"used more than {self.limits.cpu:g} s of CPU (its limit)"
        if number == signal.SIGXFSZ:
            return (f"wrote more than {self.limits.file_size >> 20} MiB to a file (its limit, "
                    "which counts what it prints)")
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"was killed by signal {name}"

    def _die(self, reason: str, kill: bool = False) -> None:
        """Record why the child is gone (the first reason wins) and wake every waiter."""
        with self._death_lock:
            if self._death is not None:
                return
            self._death = reason
        if kill:
            self._kill()
        if not self._closed:
            self._death_tail = self.stderr_tail()
        for lane in list(self._lanes.values()):
            lane.inbox.put(_DIED)
        for slot in [self._startup, *self._stack_waits.values()]:
            slot.put(_DIED)

    def _kill(self) -> None:
        with self._reap_lock:
            if not self._reaped:
                _kill_group(self._proc.pid)

    def _death_text(self) -> str:
        return f"the submission's process {self._death}{self._tail_note()}"

    def _tail_note(self) -> str:
        if not self._death_tail:
            return ""
        return "\nthe last lines of its stderr:\n    " + self._death_tail.replace("\n", "\n    ")

    def _local_paths(self, text: str) -> str:
        """Paths in the child's copy, shown as the submission's own files."""
        return text.replace(str(self._workdir), str(self._origin_dir))

    def _attribute(self, remote: Any, name: str) -> Any:
        """`remote.name` for the kit's diagnostics: bounded; any failure is an AttributeError."""
        outcome: dict[str, Any] = {}

        def fetch() -> None:
            try:
                outcome["value"] = self._request(remote, "getattr", (name,), {})
            except BaseException as exc:  # noqa: BLE001 - reported as missing
                outcome["error"] = exc

        thread = threading.Thread(target=fetch, name="prodcon-sandbox-getattr", daemon=True)
        thread.start()
        thread.join(_ATTRIBUTE_BOUND)
        if "value" in outcome:
            return outcome["value"]
        why = _safe_str(outcome["error"]) if "error" in outcome else "no answer in time"
        raise AttributeError(f"{name} (from the sandboxed submission: {why})")


class _quiet:
    """`with _quiet():` ignores OSError: for the last words to a child that may be gone."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, value, trace) -> bool:
        return kind is not None and issubclass(kind, OSError)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _end_session(sid: int, bound: float) -> None:
    """Kill what runs in the child's session, and wait up to `bound` s until nothing does.

    The group goes at once; a process that left it (setpgid) but not the session is
    found in /proc. Zombies are dead already: whoever adopted them reaps them.
    """
    _kill_group(sid)
    deadline = time.monotonic() + bound
    while True:
        strays = _session_members(sid)
        for pid in strays:
            with _quiet():
                os.kill(pid, signal.SIGKILL)
        if not strays or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != b"Z":
            members.append(int(entry))
    return members


def _stage(name: str, search_dir: Path) -> tuple[Path, Path, str]:
    """Copy the submission into a fresh directory: (that directory, where it came from, NAME there).

    A path is copied as its file; a dotted name as its top-level package or module
    from `search_dir` (a name found nowhere there is left to the child's import).
    """
    workdir = Path(tempfile.mkdtemp(prefix="prodcon-sandbox-")).resolve()
    try:
        if name == contract.BUNDLED:  # the kit's own, imported from where the kit is
            return workdir, search_dir.resolve(), name
        if contract._is_path(name):
            source = (search_dir / name).resolve()
            if not source.is_file():
                raise contract.ContractError(f"no such file: {source}")
            shutil.copy2(source, workdir / source.name)
            return workdir, source.parent, source.name
        top = name.split(".")[0]
        if (search_dir / top).is_dir():
            shutil.copytree(search_dir / top, workdir / top, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))
        elif (search_dir / f"{top}.py").is_file():
            shutil.copy2(search_dir / f"{top}.py", workdir / f"{top}.py")
        return workdir, search_dir.resolve(), name
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _logs(workdir: Path) -> Path:
    """The child's stdout and stderr, beside its directory: the kit reads them by path,
    and a child that owns its directory could swap them for links to anything."""
    return workdir.with_name(workdir.name + ".logs")


def _remove(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.rmtree(_logs(workdir), ignore_errors=True)


def _child_env(workdir: Path) -> dict[str, str]:
    """Nothing of the parent's environment but the locale and PATH: no secrets cross.

    MALLOC_ARENA_MAX keeps glibc from reserving 64 MiB of address space per thread
    against the memory limit; COVERAGE_* (when set) lets the kit's own coverage run
    measure the child.
    """
    env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL") if key in os.environ}
    env.update(HOME=str(workdir), TMPDIR=str(workdir), PYTHONHASHSEED="0",
               PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=kit_import_root(),
               MALLOC_ARENA_MAX="2")
    env.update({k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")})
    return env


def _pids_cgroup(limit: int) -> Path | None:
    """A pids cgroup of its own for one child, capped at `limit` tasks, where the kit may
    make one: RLIMIT_NPROC does not bind root, and the cgroup also finds every process
    the child started when it ends, whatever session they moved to."""
    for root in _CGROUP_ROOTS:
        control = root / "cgroup.subtree_control"  # cgroup v2: pids must be delegated
        try:
            if not (root / "cgroup.procs").is_file() or (
                    control.exists() and "pids" not in control.read_text().split()):
                continue
            group = Path(tempfile.mkdtemp(prefix="prodcon-sandbox-", dir=root))
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(limit))
            return group
        except OSError:
            _end_cgroup(group, 0)
    return None


def _end_cgroup(group: Path | None, bound: float) -> None:
    """Kill every task left in the child's cgroup, then remove it (an empty one only)."""
    if group is None:
        return
    deadline = time.monotonic() + bound
    while True:
        try:
            pids = [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        for pid in pids:
            with _quiet():
                os.kill(pid, signal.SIGKILL)
        if not pids or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    with _quiet():
        group.rmdir()


def _spawn(sock: socket.socket, workdir: Path, limits: Limits, child_name: str,
           label: str, cgroup: Path | None) -> subprocess.Popen:
    config = {"name": child_name, "label": label, "memory": limits.memory, "cpu": limits.cpu,
              "processes": limits.processes, "file_size": limits.file_size,
              "cgroup": None if cgroup is None else str(cgroup)}
    logs = _logs(workdir)
    logs.mkdir(mode=0o700)
    with open(logs / _STDOUT, "wb") as out, open(logs / _STDERR, "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, str(sock.fileno()), json.dumps(config)],
            cwd=workdir, env=_child_env(workdir), stdin=subprocess.DEVNULL, stdout=out,
            stderr=err, pass_fds=(sock.fileno(),), start_new_session=True)


def _implementation(sandbox: Sandbox, name: str, info: Any) -> SandboxedImplementation:
    """The `Implementation` of `contract.resolve`, with the module's parts as proxies."""
    from prodcon import reference

    try:
        label = _clip(info["label"], 200)
        parts = {part: sandbox._in(info["parts"][part]) for part in ("Queue", "producer",
                                                                    "consumer")}
        sentinel = sandbox._in(info["sentinel"])
        version = info["version"] if type(info["version"]) is str else None
        file = _clip(info["file"], 4096) if info["file"] is not None else None
        has_shutdown = info["shutdown"] is True
        module = sandbox._in(info["module"])
    except (_ProtocolError, KeyError, TypeError) as exc:
        raise contract.ContractError(f"the sandboxed import of {name!r} answered nonsense "
                                     f"({exc})") from None
    fallback = {"Queue": reference.Queue, "producer": reference.producer,
                "consumer": reference.consumer}
    origin = {part: "reference" if parts[part] is None else label for part in fallback}
    borrowed = frozenset(part for part in fallback if parts[part] is None)
    chosen = {part: fallback[part] if parts[part] is None
              else _queue_class(sandbox, parts[part], has_shutdown, label) if part == "Queue"
              else _worker(sandbox, parts[part], part) for part in fallback}
    return SandboxedImplementation(
        name=name, module=module, file=sandbox._local_paths(file) if file else None,
        Queue=chosen["Queue"], Full=stdlib_queue.Full, Empty=stdlib_queue.Empty,
        ShutDown=reference.ShutDown, producer=chosen["producer"], consumer=chosen["consumer"],
        sentinel=sentinel if not {"producer", "consumer"} <= borrowed else reference.SENTINEL,
        origin=origin, borrowed=borrowed, version=version, sandbox=sandbox)


class _SandboxedQueue:
    """The submission's Queue, seen from the kit: each instance lives in the child."""

    _sandbox: Sandbox
    _remote_class: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._remote = self._sandbox._request(self._remote_class, "__call__", args, kwargs)

    def __getattr__(self, name: str) -> Any:
        """Attributes the kit reads for its reports (maxsize, unfinished_tasks, ...)."""
        if name.startswith("_"):
            raise AttributeError(name)
        return self._sandbox._attribute(self._remote, name)

    def __repr__(self) -> str:
        return f"<sandboxed {self._remote!r}>"


def _forward(op: str):
    def method(self: _SandboxedQueue, *args: Any, **kwargs: Any) -> Any:
        return self._sandbox._request(self._remote, op, args, kwargs)

    method.__name__ = method.__qualname__ = op
    return method


def _queue_class(sandbox: Sandbox, remote_class: Any, has_shutdown: bool, label: str) -> type:
    """A class per submission: `shutdown` exists only when the submission's Queue has it."""
    ops = _QUEUE_OPS + (("shutdown",) if has_shutdown else ())
    namespace = {op: _forward(op) for op in ops}
    namespace.update(_sandbox=sandbox, _remote_class=remote_class,
                     __doc__=f"The Queue of {label}, running in a sandboxed process.")
    return type("Queue", (_SandboxedQueue,), namespace)


def _worker(sandbox: Sandbox, remote: Any, role: str):
    """producer(q, items) / consumer(q, handle), run in the child; q and the rest stay here."""
    second = "iterable" if role == "producer" else "callable"

    def worker(q: Any, arg: Any) -> Any:
        return sandbox._request(remote, "__call__", (_Ref(q, "queue"), _Ref(arg, second)), {})

    worker.__name__ = worker.__qualname__ = role
    return worker


# --- the child side ----------------------------------------------------------------------


class _Opaque:
    """In the child, a kit object that is only an item there: nothing to look at."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text


class _Remote:
    """In the child, a kit object the submission may use: each use is a call back."""

    __slots__ = ("_end",)

    def __init__(self, end: _Endpoint) -> None:
        self._end = end


class _RemoteQueue(_Remote):
    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._end._request(self, "getattr", (name,), {})


def _remote_method(op: str):
    def method(self: _Remote, *args: Any, **kwargs: Any) -> Any:
        return self._end._request(self, op, args, kwargs)

    method.__name__ = method.__qualname__ = op
    return method


for _op in (*_QUEUE_OPS, "shutdown"):
    setattr(_RemoteQueue, _op, _remote_method(_op))


class _RemoteCallable(_Remote):
    __slots__ = ()
    __call__ = _remote_method("__call__")


class _RemoteIterable(_Remote):
    """The producer's items (and any iterator of them): iterated one call back per item."""

    __slots__ = ()
    __iter__ = _remote_method("__iter__")
    __next__ = _remote_method("__next__")
    __len__ = _remote_method("__len__")
    __getitem__ = _remote_method("__getitem__")


_REMOTES = {"queue": _RemoteQueue, "callable": _RemoteCallable, "iterable": _RemoteIterable}


class _Child(_Endpoint):
    """The child's end: imports the submission, runs its calls, trusts the kit's messages."""

    _sign = -1

    def __init__(self, sock: socket.socket, config: dict) -> None:
        super().__init__(sock)
        self._config = config
        self._bye = threading.Event()
        self._roles: tuple = (("ValueError", ValueError),)
        self._loaded = False  # the main thread is done importing: no more to show of it
        self._reader = threading.Thread(target=self._read_all, name="prodcon-sandbox-reader",
                                        daemon=True)

    def run(self) -> None:
        """The main thread: import, then pass the news of ended threads until told to go."""
        self._reader.start()
        try:
            self._load()
            while not self._bye.wait(0.05):
                self._send(None)
        finally:
            _exit()

    def _load(self) -> None:
        label = self._config["label"]
        try:
            module = contract._import(self._config["name"], Path.cwd())
            if contract._is_path(label):
                module.__prodcon_label__ = label  # type: ignore[attr-defined]
            impl = contract.resolve(label, module)
        except contract.ContractError as exc:
            self._send(["failed", str(exc)])
            return
        except MemoryError:
            self._fatal("memory")
        except BaseException as exc:  # noqa: BLE001 - SystemExit at import is a finding too
            where = contract._last_frame_in(exc, label)
            self._send(["failed", f"importing {label!r} raised {type(exc).__name__}: "
                                  f"{_safe_str(exc)}{where}"])
            return
        self._roles = (("Full", impl.Full), ("Empty", impl.Empty), ("ShutDown", impl.ShutDown),
                       ("ValueError", ValueError))
        self._loaded = True
        provided = {part: None if part in impl.borrowed else self._out(getattr(impl, part))
                    for part in ("Queue", "producer", "consumer")}
        self._send(["ready", {
            "label": getattr(module, "__prodcon_label__", label), "parts": provided,
            "shutdown": "Queue" not in impl.borrowed and hasattr(impl.Queue, "shutdown"),
            "version": impl.version if isinstance(impl.version, str) else None,
            "file": impl.file, "sentinel": self._out(impl.sentinel),
            "module": self._out(module)}])

    def _read_all(self) -> None:
        try:
            self._read()
        except MemoryError:
            self._fatal("memory")
        except BaseException:  # noqa: BLE001 - the kit is gone or this side has a bug
            traceback.print_exc()
        self._bye.set()

    def _write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError:
            self._bye.set()  # the kit is gone: this thread ends, the main thread exits
            raise SystemExit from None

    def _receive(self, lane: _Lane) -> list:
        return lane.inbox.get()

    def _special(self, msg: list) -> None:
        if msg[0] == "stacks":
            skip = {self._reader} | ({threading.main_thread()} if self._loaded else set())
            self._send(["stacks", msg[1], _stacks_text(skip)])
        elif msg[0] == "bye":
            self._bye.set()

    def _spec(self, obj: Any) -> list:
        if type(obj) in (int, float, str):
            return ["v", obj]
        return ["f", type(obj).__name__, _safe_repr(obj)[:200]]

    def _build(self, spec: list) -> Any:
        kind = spec[0]
        if kind == "v":
            return spec[1]
        if kind == "i":
            return _ITEM_CLASSES[spec[1]](spec[2], spec[3])
        if kind == "r":
            return _REMOTES[spec[1]](self)
        return _Opaque(spec[2])

    def _error_out(self, exc: BaseException) -> list:
        if isinstance(exc, MemoryError):
            self._fatal("memory")
        return _error_description(exc, self._roles, _submission_trace(exc))

    def _error_in(self, desc: list) -> BaseException:
        from prodcon import reference

        name, message, trace, role = desc
        by_role = {"Full": stdlib_queue.Full, "Empty": stdlib_queue.Empty,
                   "ShutDown": reference.ShutDown, "ValueError": ValueError}
        cls = by_role.get(role) or getattr(builtins, name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                return cls(message)
            except Exception:  # noqa: BLE001 - a class that wants other arguments
                pass
        return _remote_error(name, message, trace)

    def _execute(self, target: Any, op: str, args: list, kwargs: dict) -> Any:
        if op.startswith("kit:"):  # Sandbox.run_in_child
            _, module, name = op.split(":")
            return getattr(importlib.import_module(module), name)(*args, **kwargs)
        return _execute(target, op, args, kwargs)

    def _fatal(self, note: str) -> None:
        """Out of memory: tell the kit (without allocating much) and end the process."""
        if self._send_lock.acquire(timeout=0.5):
            with _quiet():
                os.write(self._sock.fileno(), b'["dying","' + note.encode() + b'"]\n')
        _hard_exit(3)

    def thread_died(self, args: Any) -> None:
        """threading.excepthook: a submission thread out of memory ends the process."""
        if issubclass(args.exc_type, MemoryError):
            self._fatal("memory")
        threading.__excepthook__(args)


def _submission_trace(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _is_own(f.filename)]
    lines = traceback.format_list(frames[-6:])
    return "".join(lines) + "".join(traceback.format_exception_only(type(exc), exc))


def _is_own(filename: str) -> bool:
    return filename == __file__ or filename.endswith(os.sep + "sandbox.py")


def _stacks_text(skip: set) -> str:
    """Every thread of the child but `skip`, and its innermost frames outside this module."""
    frames = sys._current_frames()
    lines = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or -1)
        if thread in skip or frame is None:
            continue
        stack = [f for f in traceback.extract_stack(frame) if not _is_own(f.filename)
                 and not (f.filename == threading.__file__ and f.name.startswith(("_boot",
                                                                                  "run")))
                 and f.filename != "<string>"]
        lines.append(f"{thread.name}:")
        lines.extend(f"    {f.filename}:{f.lineno} in {f.name}: {f.line or ''}"
                     for f in stack[-6:])
        if not stack:
            lines.append("    (idle: waiting for the kit)")
    return "\n".join(lines)[:_STACKS_LIMIT]


def _limit(config: dict) -> None:
    import resource

    if config["cgroup"] is not None:  # before anything can fork
        with open(os.path.join(config["cgroup"], "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))

    def lower(kind: int, soft: int, hard: int) -> None:
        _, current = resource.getrlimit(kind)
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(kind, (soft, hard))

    cpu = math.ceil(config["cpu"])
    lower(resource.RLIMIT_AS, config["memory"], config["memory"])
    lower(resource.RLIMIT_CPU, cpu, cpu + 1)  # SIGXCPU first, SIGKILL a second later
    lower(resource.RLIMIT_NPROC, config["processes"], config["processes"])
    lower(resource.RLIMIT_FSIZE, config["file_size"], config["file_size"])
    lower(resource.RLIMIT_CORE, 0, 0)


_UID_BASE = 1_000_000_000  # far above every real account's uid
_CAP_DAC_READ_SEARCH = 2
_CAPABILITY_VERSION_3 = 0x20080522
_PR_SET_KEEPCAPS = 8


def _leave_root() -> None:
    """Started by root, the child becomes a user no account has, one per child.

    As root a submission could write the grader's files, read its environment and
    open files, signal or trace it, and RLIMIT_NPROC would not bind. A fresh uid owns
    only the working directory; it keeps one capability, reading any file, because
    the interpreter's own files often sit in a home folder only root may enter.
    """
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    uid = _UID_BASE + os.getpid()
    for folder, dirs, files in os.walk("."):
        for entry in (folder, *(os.path.join(folder, name) for name in dirs + files)):
            os.lchown(entry, uid, uid)
    if libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    data = (Data * 2)()
    data[0].effective = data[0].permitted = 1 << _CAP_DAC_READ_SEARCH
    if libc.capset(ctypes.byref(Header(_CAPABILITY_VERSION_3, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def _exit() -> None:
    """Leave without waiting for the submission's threads, but run the exit handlers."""
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        _hard_exit(0)


def _serve(argv: list[str]) -> None:
    """The child's entry point (see `_BOOTSTRAP`): limits first, then the import."""
    fd, config = int(argv[0]), json.loads(argv[1])
    _limit(config)
    _leave_root()
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it: past the limit, end
    threading.stack_size(_STACK_SIZE)
    faulthandler.enable()
    os.set_inheritable(fd, False)
    child = _Child(socket.socket(fileno=fd), config)
    threading.excepthook = child.thread_died
    child.run()
