"""Load an implementation so that its threading, time and queue are the managed ones.

The module is executed from its source into a fresh module object whose
`__builtins__` carries an `__import__` that answers `threading`, `time` and
`queue` with facades; every spelling of the import (`import threading`,
`from time import monotonic as now`, `from queue import Queue`) goes through it,
and nothing is patched globally, so the kit's own threads keep the real modules.

The `queue` facade is CPython's own queue.py run the same way, so an
implementation that re-exports or subclasses queue.Queue is controlled too. Its
Empty, Full (and ShutDown) stay the real classes, so `except queue.Empty` in code
that never saw the facade still catches what a managed queue raises.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import queue as _real_queue
import sys
import types

from . import primitives

FACADE_NAMES = ("threading", "time", "queue", "_thread")

_THREADING_NAMES = ("Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event",
                    "Barrier", "BrokenBarrierError", "Timer", "Thread", "current_thread",
                    "currentThread", "get_ident", "TIMEOUT_MAX")
_TIME_NAMES = ("monotonic", "monotonic_ns", "time", "time_ns", "perf_counter",
               "perf_counter_ns", "sleep")


def _passthrough(module: types.ModuleType, real, allowed: tuple[str, ...]):
    """Names the facade does not manage: harmless ones (`time.strftime`,
    `threading.local`) come from the real module; blocking ones are refused rather
    than left to block outside the scheduler's control."""
    refused = {"_thread", "process_time", "thread_time"}

    def __getattr__(name: str):
        if name in refused:
            raise AttributeError(f"{module.__name__}.{name} is not managed by the "
                                 "controlled scheduler")
        return getattr(real, name)

    module.__getattr__ = __getattr__
    for name in allowed:
        setattr(module, name, getattr(primitives, name))
    return module


def threading_facade() -> types.ModuleType:
    import threading as real

    module = types.ModuleType("threading", "managed threading (prodcon controlled run)")
    return _passthrough(module, real, _THREADING_NAMES)


def thread_facade() -> types.ModuleType:
    """`_thread`, for code that takes its locks from the C layer directly (the
    reference's per-waiter locks, `allocate_lock()`): the same managed Lock."""
    import _thread as real

    module = types.ModuleType("_thread", "managed _thread (prodcon controlled run)")
    _passthrough(module, real, ("get_ident", "TIMEOUT_MAX"))
    module.allocate_lock = module.LockType = primitives.Lock
    module.RLock = primitives.RLock
    module.error = RuntimeError

    def start_new_thread(function, args, kwargs=None):
        thread = primitives.Thread(target=function, args=args, kwargs=kwargs)
        thread.start()
        return thread.ident

    module.start_new_thread = module.start_new = start_new_thread
    return module


def time_facade() -> types.ModuleType:
    import time as real

    module = types.ModuleType("time", "managed virtual time (prodcon controlled run)")
    return _passthrough(module, real, _TIME_NAMES)


class Facades:
    """The managed modules one load shares; `queue` is built lazily from queue.py."""

    def __init__(self):
        self.modules = {"threading": threading_facade(), "time": time_facade(),
                        "_thread": thread_facade()}
        self.files: set[str] = set()

    def get(self, name: str) -> types.ModuleType:
        if name == "queue" and name not in self.modules:
            self.modules["queue"] = self._queue()
        return self.modules[name]

    def _queue(self) -> types.ModuleType:
        module = self.execute(_real_queue.__file__, "queue")
        for name in ("Empty", "Full", "ShutDown"):
            if hasattr(_real_queue, name):
                setattr(module, name, getattr(_real_queue, name))
        # _queue.SimpleQueue is C and blocks for real; the pure Python one is managed
        module.SimpleQueue = module._PySimpleQueue
        return module

    def builtins(self) -> dict:
        table = dict(vars(builtins))
        real_import = builtins.__import__

        def managed_import(name, globals=None, locals=None, fromlist=(), level=0):
            if level == 0 and name in FACADE_NAMES:
                return self.get(name)
            return real_import(name, globals, locals, fromlist, level)

        table["__import__"] = managed_import
        return table

    def execute(self, path: str, name: str) -> types.ModuleType:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        module = types.ModuleType(name)
        module.__file__ = path
        module.__builtins__ = self.builtins()
        self.files.add(os.path.abspath(path))
        # registered while it runs: dataclasses and typing look classes' modules up there
        previous = sys.modules.get(name)
        sys.modules[name] = module
        try:
            exec(compile(source, path, "exec"), module.__dict__)
        finally:
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
        return module


def _find(target: str) -> tuple[str, str]:
    if target.endswith(".py") or os.sep in target or os.path.exists(target):
        path = os.path.abspath(target)
        return path, os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.find_spec(target)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ImportError(f"cannot load {target!r} from source for a controlled run")
    return spec.origin, target


def load(target: str) -> types.ModuleType:
    """A fresh copy of the implementation (a .py path or a dotted module name) running
    on managed primitives. `module.__prodcon_line_files__` names the file whose
    lines are switch points."""
    path, name = _find(target)
    facades = Facades()
    module = facades.execute(path, name)
    module.__prodcon_line_files__ = frozenset({path})
    module.__prodcon_facades__ = facades
    return module


def managed_queue() -> types.ModuleType:
    """CPython's queue module on managed primitives."""
    return Facades().get("queue")
