"""The kit's side of the sandbox: starting the child, the proxies the kit uses, and the
child's death.

`load_isolated` stages a copy of the submission, starts the child (`Sandbox`), and
returns an `Implementation` whose user-provided parts are proxies into it
(`_SandboxedQueue`, `_worker`). Everything the child sends is checked here: any call
back on an object the kit did not offer for it, and any malformed message, counts as
the child dying. Exceptions of the submission's code arrive as `RemoteError`s under
their own class names.
"""

from __future__ import annotations

import asyncio
import atexit
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
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodcon import contract, reference
from prodcon.isolation.async_callbacks import async_worker
from prodcon.isolation.async_parent import ASYNC_ROLES, async_queue_class
from prodcon.isolation.confinement import Limits, end_cgroup, end_session, pids_cgroup
from prodcon.isolation.protocol import (
    CALLING_BACK,
    IDLE,
    ITEM_CLASSES,
    KIT_READS,
    OUT_OF_MEMORY_EXIT,
    QUEUE_OPS,
    REF_OPS,
    STACKS_LIMIT,
    TRACE_LIMIT,
    AskStacks,
    Bye,
    Call,
    Dying,
    Endpoint,
    ErrorText,
    Failed,
    Lane,
    Message,
    ProtocolError,
    Ready,
    Ref,
    RemoteError,
    Stacks,
    clip,
    encode,
    error_text,
    remote_error,
    safe_str,
)
from prodcon.items import describe
from prodcon.processes import kit_pythonpath, signal_group
from prodcon.reference import aio as async_reference

_MIRROR_LIMIT = 256  # kit-side threads serving threads the submission started
_POLL = 0.25  # a waiting thread's second look at whether the child died
_GRACE = 1.0  # close(): time the child gets to exit by itself (flushes logs and coverage)
_SEND_BOUND = 10  # seconds a send may block: a child that stops reading is gone
_ATTRIBUTE_BOUND = 2.0
_STDOUT, _STDERR = ".prodcon-stdout.log", ".prodcon-stderr.log"
_DIED = object()  # put in every waiting queue when the child dies
#: The child's program: `python -c _BOOTSTRAP FD CONFIG` (see `child.serve`).
_BOOTSTRAP = ("import sys\n"
              "if '' in sys.path: sys.path.remove('')\n"  # the submission must not shadow the kit
              "from prodcon.isolation.child import serve\n"
              "serve(sys.argv[1:])\n")
#: The contract's exception roles, and this side's class for each.
_TRUSTED_ROLES = (("Full", stdlib_queue.Full), ("Empty", stdlib_queue.Empty),
                  ("ShutDown", reference.ShutDown), ("ValueError", ValueError))


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
                  limits: Limits = Limits(),  # noqa: B008 - frozen
                  model: str | None = None) -> SandboxedImplementation:
    """Import NAME in a sandboxed child process and resolve its roles as `contract.load` does.

    The parts NAME provides are proxies into the child; the parts it lacks are
    `reference`'s, here in the trusted process. `impl.sandbox` is the child
    (`stacks()`, `stderr_tail()`, `close()`); it is also closed at exit.
    """
    workdir, origin_dir, child_name = _stage(name, Path(search_dir))
    sandbox = Sandbox(workdir, origin_dir, limits, child_name, name, model)
    try:
        return _implementation(sandbox, name, sandbox._startup_info(name))
    except BaseException:
        sandbox.close()
        raise


class Sandbox(Endpoint):
    """The child process running one submission, and the kit's end of the connection.

    Public: `stacks()`, `stderr_tail()`, `run_in_child()`, `close()`, `pid`, and
    `died` (None, or why the child is gone). Threads: one reads the child's messages,
    one waits for it to exit; neither ever runs code on the child's behalf.
    """

    READS = KIT_READS

    def __init__(self, workdir: Path, origin_dir: Path, limits: Limits, child_name: str,
                 label: str, model: str | None = None) -> None:
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
        #: role -> the class the kit rebuilds a submission's exception of that role as:
        #: the thread role's, or (`_async_implementation`) asyncio's.
        self.roles: dict[str, type] = dict(_TRUSTED_ROLES)
        self._cgroup = pids_cgroup(limits.processes)
        try:
            self._proc = _spawn(child_end, workdir, limits, child_name, label, self._cgroup,
                                model)
        except BaseException:
            kit_end.close()
            _remove(workdir)
            end_cgroup(self._cgroup, _GRACE)
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
            self._send(AskStacks(request_id))
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

    def in_call(self, thread: threading.Thread) -> bool | None:
        """Whether the child is inside the submission's code for `thread` (its twin
        there has its name, see `Endpoint._lane`): False when that twin waits for the
        kit or is not there, None when the child cannot say."""
        return twin_busy(self.stacks(), twin_name(thread))

    def busy_twin_stack(self, thread: threading.Thread) -> str | None:
        """The innermost frames of `thread`'s twin in the child, when that twin is in a
        call (`in_call`), from one listing (`stacks`); None when it is not, or the child
        cannot say."""
        stacks = self.stacks()
        if twin_busy(stacks, twin_name(thread)) is not True:
            return None
        block = ("\n" + stacks).split(f"\n{twin_name(thread)}:\n")[1]
        return "\n".join(line for line in block.splitlines()
                         if line.startswith("    ")).rstrip() or "    (no frames)"

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
        return "\n".join(clip(text, len(text), lines=True).splitlines()[-lines:])

    def close(self) -> None:
        """End the child and everything it started; remove its directory. Idempotent."""
        with self._death_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        self._death_tail = self.stderr_tail()
        self._die("was closed by the kit")
        with suppress(OSError):  # never blocks: a child that does not read is killed below
            self._sock.send(encode(Bye()), socket.MSG_DONTWAIT)
        if not self._exited.wait(_GRACE):
            self._kill()
            self._exited.wait(_GRACE)
        end_session(self._proc.pid, _GRACE)
        end_cgroup(self._cgroup, _GRACE)
        with suppress(OSError):
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
        if type(msg) is Failed:
            raise contract.ContractError(self._local_paths(clip(msg.text, lines=True)))
        return msg.info

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

    def _receive(self, lane: Lane) -> Message:
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

    def _decode_call(self, call: Call) -> Call:
        """The child's call back, allowed only on what the kit offered it, as offered."""
        call = super()._decode_call(call)
        token = self._mine_ids.get(id(call.target))
        spec = self._mine[token][1] if token is not None else None
        if spec is None or spec[0] != "r" or call.op not in REF_OPS[spec[1]]:
            raise ProtocolError(
                f"a call of {clip(call.op, 40)!r} on an object not offered for it")
        if call.op == "getattr" and not (len(call.args) == 1 and type(call.args[0]) is str
                                         and not call.args[0].startswith("_")):
            raise ProtocolError("getattr of a private or malformed name")
        return call

    def _result_out(self, op: str, result: Any) -> Any:
        return self._out(Ref(result, "iterable") if op == "__iter__" else result)

    def _spec(self, obj: Any) -> list:
        kind = type(obj)
        if kind in (int, float, str):
            return ["v", obj]
        if ITEM_CLASSES.get(kind.__name__) is kind:
            return ["i", kind.__name__, obj.producer, obj.seq]
        return ["o", kind.__name__, describe(obj)]

    def _build(self, spec: list) -> Any:
        if spec[0] == "v" and len(spec) == 2 and type(spec[1]) in (int, float, str):
            return spec[1]
        if spec[0] == "f" and len(spec) == 3:
            return Foreign(clip(spec[1], 100), clip(spec[2], 200))
        raise ProtocolError("an unknown kind of object")

    def _error_out(self, exc: BaseException) -> ErrorText:
        return error_text(exc, tuple(self.roles.items()), "")

    def _error_in(self, error: ErrorText) -> BaseException:
        """The submission's exception: the contract's class for its role, else a
        `RemoteError` under its class name."""
        name, message, trace, role = (clip(error.name, 100), clip(error.message),
                                      clip(error.trace, TRACE_LIMIT, lines=True),
                                      clip(error.role))
        message, trace = self._local_paths(message), self._local_paths(trace)
        if role in self.roles:
            rebuilt = self.roles[role](message)
            rebuilt.remote_traceback = trace
            return rebuilt
        return remote_error(name, message, trace)

    def _after_error(self, exc: BaseException) -> None:
        if not isinstance(exc, Exception):
            raise exc  # the kit abandoned this thread (or is ending): the child was told

    def _special(self, msg: Message) -> None:
        if type(msg) in (Ready, Failed) and not self._started:
            self._started = True
            self._startup.put(msg)
        elif type(msg) is Stacks:
            slot = self._stack_waits.get(msg.request)
            if slot is not None:
                slot.put(self._local_paths(clip(msg.text, STACKS_LIMIT, lines=True)))
        elif type(msg) is Dying:
            self._note = clip(msg.note, 20)
        else:
            raise ProtocolError(f"an unexpected {msg.KIND!r} message")

    def _open_twin(self, lane_id: int, name: str | None) -> Lane:
        if sum(1 for other in list(self._lanes) if other < 0) >= _MIRROR_LIMIT:
            raise ProtocolError(f"more than {_MIRROR_LIMIT} threads calling back at once")
        return super()._open_twin(lane_id, name)

    def _serve_lane(self, lane: Lane) -> None:
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
                self._die(f"broke the protocol ({clip(str(exc), 200)})", kill=True)
            return
        if not self._exited.wait(0.5):
            self._die("closed its connection to the kit", kill=True)

    def _wait_for_exit(self) -> None:
        """Reap the child; first kill what it left in its process group, while the id is ours."""
        pid = self._proc.pid
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            with self._reap_lock:
                end_session(pid, 0)
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
        if self._note == "memory" or (os.WIFEXITED(status)
                                      and os.WEXITSTATUS(status) == OUT_OF_MEMORY_EXIT):
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
                signal_group(self._proc.pid)

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
        why = safe_str(outcome["error"]) if "error" in outcome else "no answer in time"
        raise AttributeError(f"{name} (from the sandboxed submission: {why})")


# --- starting the child ------------------------------------------------------------------


def _stage(name: str, search_dir: Path) -> tuple[Path, Path, str]:
    """Copy the submission into a fresh directory: (that directory, where it came from, NAME there).

    A path is copied as its file, or as its package (a package's folder, or its
    `__init__.py`), loaded there from its folder; a dotted name as its top-level
    package or module from `search_dir` (a name found nowhere there is left to the child's import).
    A path's folder is not copied with it, helper modules beside it included: a
    submission is one module (`prodcon grade` stages only that file too), and what
    lies beside it (other submissions, the grader's files) is not the child's to read.
    """
    workdir = Path(tempfile.mkdtemp(prefix="prodcon-sandbox-")).resolve()
    try:
        if name == contract.BUNDLED:  # the kit's own, imported from where the kit is
            return workdir, search_dir.resolve(), name
        if contract._is_path(name):
            source = (search_dir / name).resolve()
            if source.name == "__init__.py":  # a package's face: the package
                source = source.parent
            if contract.is_package(source):
                contract.copy_package(source, workdir / source.name)
                # as a path: imported by name, a folder called `queue` would be the
                # standard library's, and one called `my-queue` nothing at all
                return workdir, source.parent, f"{source.name}/"
            if not source.is_file():
                raise contract.ContractError(f"no such file or package folder: {source}")
            shutil.copy2(source, workdir / source.name)
            return workdir, source.parent, source.name
        top = name.split(".")[0]
        if (search_dir / top).is_dir():
            contract.copy_package(search_dir / top, workdir / top)
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
               PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=kit_pythonpath(),
               MALLOC_ARENA_MAX="2")
    env.update({k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")})
    return env


def _spawn(sock: socket.socket, workdir: Path, limits: Limits, child_name: str,
           label: str, cgroup: Path | None, model: str | None = None) -> subprocess.Popen:
    config = {"name": child_name, "label": label, "memory": limits.memory, "cpu": limits.cpu,
              "processes": limits.processes, "file_size": limits.file_size,
              "cgroup": None if cgroup is None else str(cgroup), "model": model}
    logs = _logs(workdir)
    logs.mkdir(mode=0o700)
    with open(logs / _STDOUT, "wb") as out, open(logs / _STDERR, "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, str(sock.fileno()), json.dumps(config)],
            cwd=workdir, env=_child_env(workdir), stdin=subprocess.DEVNULL, stdout=out,
            stderr=err, pass_fds=(sock.fileno(),), start_new_session=True)


def twin_name(thread: threading.Thread) -> str:
    """The name of `thread`'s twin in the child: its own, clipped as the child clips it
    (the async suite's loop threads are named after long test names)."""
    return clip(thread.name, 100)


def twin_busy(stacks: str, name: str) -> bool | None:
    """Whether the child's listing of its threads (`Sandbox.stacks`) shows a thread
    called `name` anywhere but waiting for the kit (idle, or for the answer to a call
    back); None when there is no listing."""
    if stacks.startswith("unavailable:"):
        return None
    blocks = ("\n" + stacks).split(f"\n{name}:\n")[1:]
    return any(not (block.startswith(f"    {IDLE}") or _last_frame_line(block) == CALLING_BACK)
               for block in blocks)


def _last_frame_line(block: str) -> str:
    """The last line of the thread whose block of a stack listing `block` begins with
    (the lines up to the next thread's name), stripped."""
    last = ""
    for line in block.splitlines():
        if not line.startswith("    "):
            break
        last = line.strip()
    return last


# --- the proxies -------------------------------------------------------------------------


def _implementation(sandbox: Sandbox, name: str, info: Any) -> SandboxedImplementation:
    """The `Implementation` of `contract.resolve`, with the module's parts as proxies."""
    try:
        label = clip(info["label"], 200)
        parts = {part: sandbox._in(info["parts"][part]) for part in ("Queue", "producer",
                                                                    "consumer")}
        sentinel = sandbox._in(info["sentinel"])
        version = info["version"] if type(info["version"]) is str else None
        file = clip(info["file"], 4096) if info["file"] is not None else None
        has_shutdown = info["shutdown"] is True
        module = sandbox._in(info["module"])
        model, reason = info.get("model", "threads"), clip(info.get("model_reason", ""), 200)
    except (ProtocolError, KeyError, TypeError) as exc:
        raise contract.ContractError(f"the sandboxed import of {name!r} answered nonsense "
                                     f"({exc})") from None
    if model == "asyncio":
        return _async_implementation(sandbox, name, info, label, parts, sentinel, version,
                                     file, has_shutdown, module, reason)
    if model != "threads":
        raise contract.ContractError(f"the sandboxed import of {name!r} answered nonsense "
                                     f"(model {clip(str(model), 20)!r})")
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
        origin=origin, borrowed=borrowed, version=version, sandbox=sandbox,
        model_reason=reason)


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
    ops = QUEUE_OPS + (("shutdown",) if has_shutdown else ())
    namespace = {op: _forward(op) for op in ops}
    namespace.update(_sandbox=sandbox, _remote_class=remote_class,
                     __doc__=f"The Queue of {label}, running in a sandboxed process.")
    return type("Queue", (_SandboxedQueue,), namespace)


def _worker(sandbox: Sandbox, remote: Any, role: str):
    """producer(q, items) / consumer(q, handle), run in the child; q and the rest stay here."""
    second = "iterable" if role == "producer" else "callable"

    def worker(q: Any, arg: Any) -> Any:
        return sandbox._request(remote, "__call__", (Ref(q, "queue"), Ref(arg, second)), {})

    worker.__name__ = worker.__qualname__ = role
    return worker


def _async_implementation(sandbox: Sandbox, name: str, info: Any, label: str, parts: dict,
                          sentinel: Any, version: str | None, file: str | None,
                          has_shutdown: bool, module: Any, reason: str
                          ) -> SandboxedImplementation:
    """The async roles: the Queue runs in the child on a loop that takes turns with the
    kit's (`async_parent`), and so do the workers, calling the kit's queue and handle
    back (`async_callbacks`); a part the module lacks is the reference's, here."""
    stop = info.get("stop", "sentinel")
    sandbox.roles = dict(ASYNC_ROLES)
    fallback = {"Queue": async_reference.Queue, "producer": async_reference.producer,
                "consumer": async_reference.consumer}
    borrowed = frozenset(part for part in fallback if parts[part] is None)
    chosen = {part: fallback[part] if part in borrowed
              else async_queue_class(sandbox, module, parts[part], has_shutdown, label)
              if part == "Queue" else async_worker(sandbox, module, parts[part], part)
              for part in fallback}
    return SandboxedImplementation(
        name=name, module=module, file=sandbox._local_paths(file) if file else None,
        Queue=chosen["Queue"], Full=asyncio.QueueFull, Empty=asyncio.QueueEmpty,
        ShutDown=async_reference.QueueShutDown, producer=chosen["producer"],
        consumer=chosen["consumer"],
        sentinel=sentinel if not {"producer", "consumer"} <= borrowed
        else async_reference.SENTINEL,
        origin={part: "reference" if part in borrowed else label for part in fallback},
        borrowed=borrowed, version=version, sandbox=sandbox,
        model="asyncio", model_reason=reason, stop=stop if stop in contract.STOPS else
        "sentinel")
