"""The contract loader: from `--prodcon-impl=NAME` to the roles the suite tests.

NAME is a dotted module importable from the invocation directory, or a path to a
`.py` file or to a package's folder (or its `__init__.py`: the package). What the
module lacks is filled in from `reference`, and the report header says which parts
are the user's. A module that cannot be imported, or that provides neither role, is
a usage error with a message a student can act on, never a traceback from inside the
kit.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import queue as stdlib_queue
import shutil
import sys
import threading
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from prodcon import reference  # the fallback for every part the module does not provide
from prodcon.errors import ContractError
from prodcon.reference import aio as async_reference  # the same for the async roles
from prodcon.settings import MODELS

#: How long an import may take. Student modules often run a demo at import time
#: (threads, sleeps, prints), so this is generous; an infinite loop still ends.
IMPORT_BOUND = 30.0

#: The model's reason when the user chose it (a replay must choose it again).
CHOSEN = "--prodcon-model"
#: How an async coordinator stops its consumers (an async module's `STOP`).
STOPS = ("sentinel", "cancel")



@dataclass
class Implementation:
    """The roles under test, each from the user's module or from `reference`."""

    name: str
    module: ModuleType
    file: str | None
    Queue: Any
    Full: type[BaseException]
    Empty: type[BaseException]
    ShutDown: type[BaseException] | None
    producer: Any
    consumer: Any
    sentinel: Any
    origin: dict[str, str] = field(default_factory=dict)  # part -> where it comes from
    borrowed: frozenset[str] = frozenset()  # parts filled in from reference
    version: str | None = None
    #: "threads" or "asyncio": which suite judges it, and which reference fills it in
    model: str = "threads"
    #: why the model is what it is, as the header says it
    model_reason: str = ""
    #: the async worker role's stop protocol (STOPS); "sentinel" for threads
    stop: str = "sentinel"

    @property
    def provides_queue(self) -> bool:
        return "Queue" not in self.borrowed

    @property
    def provides_workers(self) -> bool:
        return not {"producer", "consumer"} <= self.borrowed

    def roles_line(self) -> str:
        """'Queue from mymod; producer, consumer from reference', grouped by origin."""
        by_origin: dict[str, list[str]] = {}
        for part, origin in self.origin.items():
            by_origin.setdefault(origin, []).append(part)
        return "; ".join(f"{', '.join(parts)} from {origin}" for origin, parts in by_origin.items())


#: The name that means the kit's own reference, whatever file of that name lies beside
#: the user's module (an instructor's folder often has a reference.py of its own).
BUNDLED = "reference"


def load(name: str, search_dir: Path, bound: float = IMPORT_BOUND,
         model: str | None = None) -> Implementation:
    """Import NAME (within `bound` seconds) and resolve its roles, for `model` (one of
    MODELS) or, by default, for the model its code is written for."""
    module = _import_bounded(name, search_dir, bound)
    return resolve(name, module, model)


def detect_model(module: ModuleType) -> tuple[str, str]:
    """The model a module's roles are written for, and why: asyncio when its Queue's
    `get` (or else its consumer) is a coroutine function, threads otherwise."""
    queue_cls = getattr(module, "Queue", None)
    get = getattr(queue_cls, "get", None) if isinstance(queue_cls, type) else None
    if get is not None:
        if inspect.iscoroutinefunction(get):
            return "asyncio", "Queue.get is a coroutine function"
        return "threads", "Queue.get is a plain function"
    consumer = getattr(module, "consumer", None)
    if consumer is not None and inspect.iscoroutinefunction(consumer):
        return "asyncio", "consumer is a coroutine function"
    return "threads", "no coroutine function among its roles"


def resolve(name: str, module: ModuleType, model: str | None = None) -> Implementation:
    label = getattr(module, "__prodcon_label__", name)
    if model is None:
        model, reason = detect_model(module)
    else:
        if model not in MODELS:
            raise ContractError(f"the model is one of {', '.join(MODELS)}, not {model!r}")
        reason = CHOSEN
        if model == "asyncio" and module is reference:
            module = async_reference  # the bundled reference's async roles
    if model == "asyncio":
        return _resolve_async(name, label, module, reason)
    _same_model(label, module, "threads")
    origin: dict[str, str] = {}
    borrowed: set[str] = set()

    def pick(part: str, fallback: Any, check) -> Any:
        value = getattr(module, part, None)
        if value is None:
            origin[part] = "reference"
            borrowed.add(part)
            return fallback
        problem = check(value)
        if problem:
            raise ContractError(f"{label}.{part} {problem}")
        origin[part] = label
        return value

    queue_cls = pick("Queue", reference.Queue, _class_check)
    producer = pick("producer", reference.producer, _callable_check)
    consumer = pick("consumer", reference.consumer, _callable_check)
    if len(borrowed) == len(origin):
        raise ContractError(
            f"{label} provides neither role of the contract: define `Queue` (a class with "
            "put/get/task_done/join/...) and/or `producer(q, items)` and `consumer(q, handle)`. "
            f"Names found in it: {', '.join(_public_names(module)) or 'none'}. "
            "Code of another shape needs a small adapter module (see the README)."
        )
    workers_from_module = not {"producer", "consumer"} <= borrowed
    sentinel = getattr(module, "SENTINEL", None) if workers_from_module else reference.SENTINEL
    file = getattr(module, "__file__", None)
    return Implementation(
        name=name,
        module=module,
        file=str(Path(file).resolve()) if file else None,
        Queue=queue_cls,
        Full=_exception(module, "Full", stdlib_queue.Full),
        Empty=_exception(module, "Empty", stdlib_queue.Empty),
        ShutDown=_exception(module, "ShutDown", getattr(stdlib_queue, "ShutDown", None))
        or getattr(reference, "ShutDown", None),
        producer=producer,
        consumer=consumer,
        sentinel=sentinel,
        origin=origin,
        borrowed=frozenset(borrowed),
        version=getattr(module, "__version__", None),
        model="threads",
        model_reason=reason,
    )


def _resolve_async(name: str, label: str, module: ModuleType, reason: str) -> Implementation:
    """The async roles (asyncio.Queue's API; async producer and consumer), each from the
    module or from the reference's async ones; asyncio's exceptions unless it has its own."""
    _same_model(label, module, "asyncio")
    origin: dict[str, str] = {}
    borrowed: set[str] = set()
    parts = {}
    for part in ("Queue", "producer", "consumer"):
        value = getattr(module, part, None)
        if value is None:
            origin[part] = "reference"
            borrowed.add(part)
            parts[part] = getattr(async_reference, part)
            continue
        problem = _class_check(value) if part == "Queue" else _callable_check(value)
        if problem:
            raise ContractError(f"{label}.{part} {problem}")
        origin[part] = label
        parts[part] = value
    if len(borrowed) == len(origin):
        raise ContractError(
            f"{label} provides neither async role: define `Queue` (a class whose get, put "
            "and join are coroutine functions, as asyncio.Queue's) and/or `async def "
            f"producer(q, items)` and `async def consumer(q, handle)`. Names found in it: "
            f"{', '.join(_public_names(module)) or 'none'}.")
    workers_from_module = not {"producer", "consumer"} <= borrowed
    source = module if workers_from_module else async_reference
    stop = getattr(source, "STOP", "sentinel")
    if stop not in STOPS:
        raise ContractError(f"{label}.STOP is {stop!r}; it must be one of {', '.join(STOPS)}")
    file = getattr(module, "__file__", None)
    return Implementation(
        name=name,
        module=module,
        file=str(Path(file).resolve()) if file else None,
        Queue=parts["Queue"],
        Full=_exception(module, "QueueFull", asyncio.QueueFull),
        Empty=_exception(module, "QueueEmpty", asyncio.QueueEmpty),
        ShutDown=_exception(module, "QueueShutDown", getattr(asyncio, "QueueShutDown", None))
        or async_reference.QueueShutDown,
        producer=parts["producer"],
        consumer=parts["consumer"],
        sentinel=getattr(source, "SENTINEL", None),
        origin=origin,
        borrowed=frozenset(borrowed),
        version=getattr(module, "__version__", None),
        model="asyncio",
        model_reason=reason,
        stop=stop,
    )


#: The methods of the async queue role that must be coroutine functions, and those that
#: must not (asyncio.Queue's split).
_AWAITED = ("put", "get", "join")
_PLAIN = ("put_nowait", "get_nowait", "task_done", "qsize", "empty", "full")


def _same_model(label: str, module: ModuleType, model: str) -> None:
    """Every role of the module written for `model`: an async Queue judged as a thread
    queue (or the other way round) would fail every test for no reason the student can
    see, so the mismatch is said at once, as a usage error."""
    wanted = model == "asyncio"
    queue_cls = getattr(module, "Queue", None)
    if isinstance(queue_cls, type):
        for method in _AWAITED if wanted else ("put", "get"):
            function = getattr(queue_cls, method, None)
            if function is not None and inspect.iscoroutinefunction(function) != wanted:
                raise ContractError(_mismatch(label, f"Queue.{method}", model))
        if wanted:
            for method in _PLAIN:
                function = getattr(queue_cls, method, None)
                if function is not None and inspect.iscoroutinefunction(function):
                    raise ContractError(
                        f"{label}.Queue.{method} is a coroutine function; in asyncio.Queue's "
                        f"API it is a plain method (only put, get and join are awaited)")
    for part in ("producer", "consumer"):
        function = getattr(module, part, None)
        if callable(function) and inspect.iscoroutinefunction(function) != wanted:
            raise ContractError(_mismatch(label, part, model))


def _mismatch(label: str, part: str, model: str) -> str:
    written = "a plain function" if model == "asyncio" else "a coroutine function (async def)"
    return (f"{label}.{part} is {written}, but its roles are judged for {model}; every "
            "role of one module is written for one model (threads: plain functions; "
            "asyncio: put, get, join, producer and consumer are `async def`). "
            "--prodcon-model=threads|asyncio chooses the model when detection is wrong.")


def _class_check(value: Any) -> str | None:
    return None if isinstance(value, type) else f"must be a class, found {type(value).__name__}"


def _callable_check(value: Any) -> str | None:
    return None if callable(value) else f"must be a function, found {type(value).__name__}"


def _exception(module: ModuleType, attr: str, default: Any) -> Any:
    value = getattr(module, attr, None)
    if isinstance(value, type) and issubclass(value, BaseException):
        return value
    return default


def _public_names(module: ModuleType) -> list[str]:
    return sorted(n for n in vars(module) if not n.startswith("_"))[:12]


def _is_path(name: str) -> bool:
    return name.endswith(".py") or "/" in name or "\\" in name


def is_package(path: Path) -> bool:
    """A folder with an `__init__.py`: a package, which the kit is given as its folder."""
    return path.is_dir() and (path / "__init__.py").is_file()


def copy_package(source: Path, target: Path) -> None:
    """Copy a submitted package to be imported from elsewhere (a sandbox, a grading
    directory): its code, links kept as links, without bytecode caches or a git history."""
    shutil.copytree(source, target, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))


def _import_bounded(name: str, search_dir: Path, bound: float) -> ModuleType:
    """Import in a daemon thread so an import that never ends cannot hang pytest."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["module"] = _import(name, search_dir)
        except BaseException as exc:  # noqa: BLE001 - SystemExit at import is a finding too
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"prodcon-import-{name}", daemon=True)
    thread.start()
    thread.join(bound)
    if thread.is_alive():
        raise ContractError(
            f"importing {name!r} did not finish within {bound:.0f} s: the module runs "
            "something endless at import time (an infinite loop, a thread it joins, a "
            "blocking get()). Put demo code under `if __name__ == \"__main__\":`."
        )
    error = outcome.get("error")
    if isinstance(error, ContractError):
        raise error
    if error is not None:
        where = _last_frame_in(error, name)
        raise ContractError(
            f"importing {name!r} raised {type(error).__name__}: {error}{where}"
        ) from None
    return outcome["module"]


def _import(name: str, search_dir: Path) -> ModuleType:
    if name == BUNDLED:
        return importlib.import_module("prodcon.reference")
    if _is_path(name):
        path = (search_dir / name).resolve()
        if path.name == "__init__.py":  # a package's face: the package
            path = path.parent
        package = is_package(path)
        if not package and not path.is_file():
            raise ContractError(f"no such file: {path}")
        # A private module name: a student file called queue.py must not replace
        # the standard library's queue for the rest of the session. A package folder
        # is imported as a package under it, so its relative imports work.
        module_name = f"_prodcon_impl_{path.stem}_{zlib.crc32(str(path).encode()):08x}"
        spec = importlib.util.spec_from_file_location(
            module_name, path / "__init__.py" if package else path,
            submodule_search_locations=[str(path)] if package else None)
        if spec is None or spec.loader is None:
            raise ContractError(f"{path} is not a Python module")
        module = importlib.util.module_from_spec(spec)
        module.__prodcon_label__ = name  # type: ignore[attr-defined]
        if str(path.parent) not in sys.path:
            sys.path.append(str(path.parent))  # lets the file import its siblings
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            for loaded in [n for n in sys.modules if n.startswith(module_name + ".")]:
                sys.modules.pop(loaded, None)
            sys.modules.pop(module_name, None)
            raise
        return module
    if str(search_dir) not in sys.path:
        sys.path.insert(0, str(search_dir))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise ContractError(
                f"no module named {name!r} importable from {search_dir} "
                "(give a dotted module name importable from there, or a path to a .py file "
                "or a package's folder)"
            ) from None
        raise


def _last_frame_in(error: BaseException, name: str) -> str:
    """' (at mymod.py:12: x = 1/0)' for the user's frame nearest the error."""
    if isinstance(error, SyntaxError):
        return f" (at {error.filename}:{error.lineno})"
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if "importlib" not in f.filename and not f.filename.endswith("contract.py")
    ]
    if not frames:
        return ""
    last = frames[-1]
    return f" (at {last.filename}:{last.lineno}: {last.line})"
