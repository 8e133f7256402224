"""The sandbox's child: the process that imports the submission and runs its calls.

The kit starts it as `python -c BOOTSTRAP FD CONFIG` (`parent._BOOTSTRAP`), which
imports this module and calls `serve`: the limits and the user change come first
(`confinement`), then the import of the submission, then the calls the kit makes on
the connection FD. This side trusts the kit's messages; what it sends back is checked
by the kit. The kit's objects the submission may use arrive as `_Remote` proxies,
whose every use is a call back to the kit.
"""

from __future__ import annotations

import atexit
import builtins
import faulthandler
import importlib
import json
import os
import queue as stdlib_queue
import signal
import socket
import sys
import threading
import traceback
from contextlib import suppress
from pathlib import Path
from typing import Any

# bursts: imported now, not on the first Sandbox.run_in_child, whose call is timed.
from prodcon import bursts, contract, reference  # noqa: F401
from prodcon.isolation.confinement import apply_limits, leave_root
from prodcon.isolation.protocol import (
    CALLING_BACK,
    CHILD_READS,
    IDLE,
    ITEM_CLASSES,
    OUT_OF_MEMORY_EXIT,
    QUEUE_OPS,
    STACKS_LIMIT,
    AskStacks,
    Bye,
    Endpoint,
    ErrorText,
    Failed,
    Lane,
    Message,
    Ready,
    Stacks,
    error_text,
    execute,
    remote_error,
    safe_repr,
    safe_str,
)

_STACK_SIZE = 2 << 20  # child threads: 40 of them are 80 MiB of the memory limit
_hard_exit = os._exit  # the child's, taken before a submission can replace it
_ROOM = os.path.dirname(__file__)
#: The kit's exceptions by their contract role, rebuilt as this side's classes (threads).
_ROLE_CLASSES = {"Full": stdlib_queue.Full, "Empty": stdlib_queue.Empty,
                 "ShutDown": reference.ShutDown, "ValueError": ValueError}


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

    def __init__(self, end: Endpoint) -> None:
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


for _op in (*QUEUE_OPS, "shutdown"):
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


class _RemoteAsyncQueue(_Remote):
    """The async workers' queue, as `isolation.async_child.KitQueue` calls it back."""

    __slots__ = ()
    plain = _remote_method("plain")
    begin = _remote_method("begin")
    cancel = _remote_method("cancel")
    dropped = _remote_method("dropped")


class _RemoteAsyncCallable(_Remote):
    """The async consumer's handle, as `isolation.async_child.KitHandle` calls it back."""

    __slots__ = ()
    call = _remote_method("call")
    cancel = _remote_method("cancel")


_REMOTES = {"queue": _RemoteQueue, "callable": _RemoteCallable, "iterable": _RemoteIterable,
            "async-queue": _RemoteAsyncQueue, "async-callable": _RemoteAsyncCallable}


class _Child(Endpoint):
    """The child's end: imports the submission, runs its calls, trusts the kit's messages."""

    _sign = -1
    READS = CHILD_READS

    def __init__(self, sock: socket.socket, config: dict) -> None:
        super().__init__(sock)
        self._config = config
        self._bye = threading.Event()
        self._roles: tuple = (("ValueError", ValueError),)
        #: The kit's exceptions by their contract role, rebuilt as this side's classes.
        self._kit_roles: dict[str, type] = _ROLE_CLASSES
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
            impl = contract.resolve(label, module, self._config.get("model"))
        except contract.ContractError as exc:
            self._send(Failed(str(exc)))
            return
        except MemoryError:
            self._fatal("memory")
        except BaseException as exc:  # noqa: BLE001 - SystemExit at import is a finding too
            where = contract._last_frame_in(exc, label)
            self._send(Failed(f"importing {label!r} raised {type(exc).__name__}: "
                              f"{safe_str(exc)}{where}"))
            return
        self._roles = (("Full", impl.Full), ("Empty", impl.Empty), ("ShutDown", impl.ShutDown),
                       ("ValueError", ValueError))
        if impl.model == "asyncio":  # the kit's queue raises asyncio's classes
            from prodcon.isolation.async_child import KIT_ROLES
            self._kit_roles = KIT_ROLES
        self._loaded = True
        provided = {part: None if part in impl.borrowed else self._out(getattr(impl, part))
                    for part in ("Queue", "producer", "consumer")}
        self._send(Ready({
            "label": getattr(module, "__prodcon_label__", label), "parts": provided,
            "shutdown": "Queue" not in impl.borrowed and hasattr(impl.Queue, "shutdown"),
            "version": impl.version if isinstance(impl.version, str) else None,
            "file": impl.file, "sentinel": self._out(impl.sentinel),
            "model": impl.model, "model_reason": impl.model_reason, "stop": impl.stop,
            "module": self._out(module)}))

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

    def _receive(self, lane: Lane) -> Message:
        return lane.inbox.get()

    def _special(self, msg: Message) -> None:
        if type(msg) is AskStacks:
            skip = {self._reader} | ({threading.main_thread()} if self._loaded else set())
            self._send(Stacks(msg.request, _stacks_text(skip)))
        elif type(msg) is Bye:
            self._bye.set()

    def _spec(self, obj: Any) -> list:
        if type(obj) in (int, float, str):
            return ["v", obj]
        # Not items.describe: this text crosses the wire, where the parent bounds and
        # cleans it again (protocol.clip); a plain cut keeps the child's side minimal.
        return ["f", type(obj).__name__, safe_repr(obj)[:200]]

    def _build(self, spec: list) -> Any:
        kind = spec[0]
        if kind == "v":
            return spec[1]
        if kind == "i":
            return ITEM_CLASSES[spec[1]](spec[2], spec[3])
        if kind == "r":
            return _REMOTES[spec[1]](self)
        return _Opaque(spec[2])

    def _error_out(self, exc: BaseException) -> ErrorText:
        if isinstance(exc, MemoryError):
            self._fatal("memory")
        return error_text(exc, self._roles, _submission_trace(exc))

    def _error_in(self, error: ErrorText) -> BaseException:
        cls = self._kit_roles.get(error.role) or getattr(builtins, error.name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                return cls(error.message)
            except Exception:  # noqa: BLE001 - a class that wants other arguments
                pass
        return remote_error(error.name, error.message, error.trace)

    def _execute(self, target: Any, op: str, args: list, kwargs: dict) -> Any:
        if op.startswith("kit:"):  # Sandbox.run_in_child
            _, module, name = op.split(":")
            kit_module = importlib.import_module(module)
            if getattr(kit_module, "WIRE", False) is None:  # it sends objects in its text
                kit_module.WIRE, kit_module.UNWIRE = self._out, self._in
            return getattr(kit_module, name)(*args, **kwargs)
        return execute(target, op, args, kwargs)

    def _fatal(self, note: str) -> None:
        """Out of memory: tell the kit (without allocating much) and end the process.

        The bytes are the line of `Dying(note)`, written without `encode`'s allocations."""
        if self._send_lock.acquire(timeout=0.5):
            with suppress(OSError):
                os.write(self._sock.fileno(), b'["dying","' + note.encode() + b'"]\n')
        _hard_exit(OUT_OF_MEMORY_EXIT)

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
    """A frame of the isolation room's code (the endpoint, this side), not the submission's."""
    return os.path.dirname(filename) == _ROOM


def _stacks_text(skip: set) -> str:
    """Every thread of the child but `skip`, and its innermost frames outside this room."""
    frames = sys._current_frames()
    lines = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or -1)
        if thread in skip or frame is None:
            continue
        raw = traceback.extract_stack(frame)
        stack = [f for f in raw if not _is_own(f.filename)
                 and not (f.filename == threading.__file__ and f.name.startswith(("_boot",
                                                                                  "run")))
                 and f.filename != "<string>"]
        lines.append(f"{thread.name}:")
        lines.extend(f"    {f.filename}:{f.lineno} in {f.name}: {f.line or ''}"
                     for f in stack[-6:])
        if not stack:
            lines.append(f"    {IDLE}")
        elif raw[-1].name == "_receive" and _is_own(raw[-1].filename):
            lines.append(f"    {CALLING_BACK}")
    return "\n".join(lines)[:STACKS_LIMIT]


def _exit() -> None:
    """Leave without waiting for the submission's threads, but run the exit handlers."""
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        _hard_exit(0)


def serve(argv: list[str]) -> None:
    """The child's entry point (see `parent._BOOTSTRAP`): limits first, then the import."""
    fd, config = int(argv[0]), json.loads(argv[1])
    apply_limits(config)
    leave_root()
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it: past the limit, end
    threading.stack_size(_STACK_SIZE)
    faulthandler.enable()
    os.set_inheritable(fd, False)
    child = _Child(socket.socket(fileno=fd), config)
    threading.excepthook = child.thread_died
    child.run()
