"""Load an implementation so that its threading, time and queue are the managed ones.

The module is executed from its source into a fresh module object whose
`__builtins__` carries an `__import__` that answers `threading`, `time`,
`queue` (and `_thread`, `_queue`, `importlib`) with facades; every spelling of the
import (`import threading`, `from time import monotonic as now`, `from queue import
Queue`, `importlib.import_module("_thread")`) goes through it, and nothing is
patched globally, so the kit's own threads keep the real modules.

The `queue` facade is CPython's own queue.py run the same way, so an
implementation that re-exports or subclasses queue.Queue is controlled too. Its
Empty, Full (and ShutDown) stay the real classes, so `except queue.Empty` in code
that never saw the facade still catches what a managed queue raises.

`load_again` runs an implementation's module again this way, by its name, with the
whole package it belongs to (its relative imports, its other modules, their
module-level locks and state) and the packages named in `also` (a library its
`Queue` returns a class of, or whose code the queue runs: `reach.uncontrolled_home`
finds them). A module of those packages is run again when managed code first
imports it, once a load: a controlled test loads afresh, its schedules share the
load, as the many queues of one process share their modules. Everything else is
the real, shared module; a module with no Python source (a C extension) is the
real one too, and a queue whose class is one is skipped with that reason. An
exception class defined at a module's top level is the real module's class, so
`except Empty` catches it on either side of the border.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import queue as _real_queue
import sys
import types

from prodcon.controlled import primitives

FACADE_NAMES = ("threading", "time", "queue", "_thread", "_queue", "importlib")

_THREADING_NAMES = ("Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event",
                    "Barrier", "BrokenBarrierError", "Timer", "Thread", "current_thread",
                    "currentThread", "get_ident", "TIMEOUT_MAX")
_TIME_NAMES = ("monotonic", "monotonic_ns", "time", "time_ns", "perf_counter",
               "perf_counter_ns", "sleep")


#: The queue methods of the contract: a class in a queue's method resolution order
#: that defines one of them runs code of the queue, so it must be managed.
QUEUE_METHODS = ("put", "get", "put_nowait", "get_nowait", "task_done", "join", "qsize",
                 "empty", "full")


#: The kit's own package, whose code never runs on managed primitives, and the bundled
#: reference inside it, which is an implementation like any other.
_KIT = __name__.partition(".")[0]
_BUNDLED = f"{_KIT}.reference"


class CannotLoad(Exception):
    """Code a controlled run needs cannot be run on managed primitives: the message
    says which and why (no Python source, the standard library's, ...)."""


class NotManaged(AttributeError):
    """A name of a facade that the scheduler does not manage, refused rather than left
    to block for real."""


def _passthrough(module: types.ModuleType, real, allowed: tuple[str, ...]):
    """Names the facade does not manage: harmless ones (`time.strftime`,
    `threading.local`) come from the real module; blocking ones are refused rather
    than left to block outside the scheduler's control."""
    refused = {"_thread", "process_time", "thread_time"}

    def __getattr__(name: str):
        if name in refused:
            raise NotManaged(f"{module.__name__}.{name} is not managed by the "
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
    """The managed modules one load shares: the facades (`queue` built lazily from
    queue.py), and the packages named in `reloaded` (each name stands for its whole
    package: `_root`), each module run again from its source when first imported."""

    def __init__(self, reloaded=()):
        self.modules = {"threading": threading_facade(), "time": time_facade(),
                        "_thread": thread_facade()}
        self.files: set[str] = set()
        self.roots = frozenset(_root(name) for name in reloaded)
        # the roots and the packages above them: `a.b` is reached through `a`, so a
        # real `a` would hand out the real `a.b`
        self.reloaded = frozenset(_with_packages(self.roots))
        self._tops = frozenset(name.partition(".")[0] for name in self.reloaded)
        self.loaded: dict[str, types.ModuleType] = {}
        self._real: dict[str, types.ModuleType] = {}  # the imported twins of those loaded

    def manages(self, name: str) -> bool:
        """Module `name` is run again here (if it has Python source)."""
        return name in self.reloaded or any(name.startswith(root + ".")
                                            for root in self.roots)

    def get(self, name: str) -> types.ModuleType:
        if name not in self.modules:
            self.modules[name] = {"queue": self._queue, "_queue": self._c_queue,
                                  "importlib": self._importlib}[name]()
        return self.modules[name]

    def _queue(self) -> types.ModuleType:
        c_layer = self.modules.get("_queue") or self._c_queue()
        self.modules["_queue"] = c_layer  # queue.py imports it: the real names for now
        module = self.execute(_real_queue.__file__, "queue")
        for name in ("Empty", "Full", "ShutDown"):
            if hasattr(_real_queue, name):
                setattr(module, name, getattr(_real_queue, name))
        # _queue.SimpleQueue is C and blocks for real; the pure Python one is managed
        module.SimpleQueue = c_layer.SimpleQueue = module._PySimpleQueue
        return module

    def _c_queue(self) -> types.ModuleType:
        """`_queue`, for code that takes SimpleQueue from the C layer (aiologic does):
        the pure Python one on managed primitives (set by `_queue`), the real Empty."""
        import _queue as real

        module = types.ModuleType("_queue", "managed _queue (prodcon controlled run)")
        _passthrough(module, real, ())
        module.Empty = real.Empty
        if "queue" in self.modules:
            module.SimpleQueue = self.modules["queue"].SimpleQueue
        else:
            module.SimpleQueue = real.SimpleQueue  # until queue.py has run, below
            self.modules["_queue"] = module
            self.get("queue")
        return module

    def _importlib(self) -> types.ModuleType:
        """`importlib`, whose `import_module` answers as the managed `import` does:
        libraries that look modules up by name (aiologic's `import_original`) get the
        facades and the managed modules too."""
        import importlib as real

        module = types.ModuleType("importlib", "managed importlib (prodcon controlled run)")

        def __getattr__(name: str):  # `from importlib import metadata` imports it
            if not hasattr(real, name):
                real.import_module(f"importlib.{name}")
            return getattr(real, name)

        module.__getattr__ = __getattr__

        def import_module(name, package=None):
            if name.startswith(".") and package:
                name = importlib.util.resolve_name(name, package)
            return self.import_module(name) if not name.startswith(".") else \
                real.import_module(name, package)  # the real error: no package

        module.import_module = import_module
        return module

    def import_module(self, name: str) -> types.ModuleType:
        """The module `name` itself, as managed code sees it."""
        if name in FACADE_NAMES:
            return self.get(name)
        if name.partition(".")[0] not in self._tops:
            return importlib.import_module(name)
        parts = name.split(".")
        module = None
        for end in range(1, len(parts) + 1):
            module = self._module(".".join(parts[:end]))
        return module

    def builtins(self) -> dict:
        table = dict(vars(builtins))
        real_import = builtins.__import__
        real_build_class = builtins.__build_class__

        def managed_import(name, globals=None, locals=None, fromlist=(), level=0):
            if level == 0 and name in FACADE_NAMES:
                return self.get(name)
            if level:  # only managed modules import through here, each with __package__
                name = importlib.util.resolve_name("." * level + name,
                                                   (globals or {}).get("__package__"))
            if name.partition(".")[0] not in self._tops:
                return real_import(name, globals, locals, fromlist, 0)
            return self._import(name, fromlist)

        def build_class(body, name, *bases, **keywords):
            """A `class` statement; an exception class at a module's top level is the
            imported module's own class of that name, if it has one."""
            cls = real_build_class(body, name, *bases, **keywords)
            real = self._real.get(body.__globals__.get("__name__"))
            twin = getattr(real, name, None)
            if (isinstance(cls, type) and issubclass(cls, BaseException)
                    and cls.__qualname__ == name and isinstance(twin, type)
                    and issubclass(twin, BaseException) and twin.__qualname__ == name
                    and twin.__module__ == cls.__module__):
                return twin
            return cls

        table["__import__"] = managed_import
        table["__build_class__"] = build_class
        return table

    def _import(self, name: str, fromlist) -> types.ModuleType:
        """`__import__` for a name within a package that has reloaded modules: each
        part managed if reloaded, else the real module; the top package or, with a
        `fromlist`, the module itself, as `__import__` answers."""
        module = self.import_module(name)
        if not fromlist:
            return self._module(name.partition(".")[0])
        for entry in fromlist:
            if entry != "*" and not hasattr(module, entry) and hasattr(module, "__path__"):
                try:
                    self.import_module(f"{name}.{entry}")
                except ModuleNotFoundError:  # not a submodule: the name lookup says so
                    pass
        return module

    def _module(self, name: str) -> types.ModuleType:
        """The module `name`: if reloaded, run again from its source (once a load, its
        package first, as `import_module` walks the parts), else the real one; so is
        one with no Python source (a C extension cannot be run twice)."""
        managed = self.loaded.get(name)
        if managed is not None:
            return managed
        spec = _spec(name) if self.manages(name) else None
        is_package = spec is not None and spec.submodule_search_locations is not None
        runs = spec is not None and bool(spec.origin) and spec.origin.endswith(".py")
        if not runs and not is_package:  # not ours, or no source: the real, shared one
            module = importlib.import_module(name)
            self._attach(name, module)
            return module
        module = types.ModuleType(name)
        module.__spec__, module.__loader__ = spec, spec.loader
        module.__package__ = name if is_package else name.rpartition(".")[0]
        if is_package:
            module.__path__ = list(spec.submodule_search_locations)
        self.loaded[name] = module  # before it runs: an import cycle meets it half made
        if name in sys.modules:
            self._real[name] = sys.modules[name]
        self._attach(name, module)
        try:
            if runs:  # a namespace package has nothing to run
                self._run(module, spec.origin)
        except BaseException:
            del self.loaded[name]
            raise
        return module

    def _attach(self, name: str, module: types.ModuleType) -> None:
        """A submodule is an attribute of its package, as an import makes it: on a
        managed package only, never on the real one."""
        package, _, child = name.rpartition(".")
        if package in self.loaded:
            setattr(self.loaded[package], child, module)

    def runs_managed(self, cls: type) -> bool:
        """`cls` is a class of a module run here (so its methods wait on managed
        primitives), not the real module's class of the same name."""
        home = self.loaded.get(cls.__module__)
        if home is None and cls.__module__ == "queue":
            home = self.modules.get("queue")
        if home is None:
            return False
        if "<locals>" in cls.__qualname__:  # made by a function of the module: no name
            return True
        found = home
        for part in cls.__qualname__.split("."):
            found = getattr(found, part, None)
        return found is cls

    def execute(self, path: str, name: str) -> types.ModuleType:
        module = types.ModuleType(name)
        self._run(module, path)
        return module

    def _run(self, module: types.ModuleType, path: str) -> None:
        name = module.__name__
        module.__file__ = path
        module.__builtins__ = self.builtins()
        self.files.add(os.path.abspath(path))
        # registered while it runs: dataclasses and typing look classes' modules up there
        previous = sys.modules.get(name)
        sys.modules[name] = module
        try:
            exec(_compiled(path), module.__dict__)
        finally:
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


#: Compiled sources, by path and the file's stamp: a library is run again for every
#: controlled test, and compiling aiologic's 20,000 lines takes longer than running them.
_COMPILED: dict[tuple[str, int, int], types.CodeType] = {}


def _compiled(path: str) -> types.CodeType:
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
    code = _COMPILED.get(key)
    if code is None:
        with open(path, encoding="utf-8") as handle:
            code = _COMPILED[key] = compile(handle.read(), path, "exec")
    return code


def _root(name: str) -> str:
    """The package a module is run again with: its top-level package, all of it (its
    modules import each other, relatively or not, and share module-level state); the
    bundled reference alone, never the kit around it."""
    top = name.partition(".")[0]
    if top != _KIT:
        return top
    return _BUNDLED if (name + ".").startswith(_BUNDLED + ".") else name


def _with_packages(names) -> set[str]:
    """The names and every package above them: `a.b.c` is reached through `a` and
    `a.b`, so a real `a` would hand out the real `a.b.c`."""
    return {".".join(parts[:end]) for parts in (name.split(".") for name in names)
            for end in range(1, len(parts) + 1)}


def _spec(name: str):
    """How to load `name` again: the imported module's own spec (a file the kit
    imported by path has a name no finder knows), else the finders'."""
    real = sys.modules.get(name)
    spec = getattr(real, "__spec__", None)
    if spec is None and getattr(real, "__file__", None):
        spec = importlib.util.spec_from_file_location(name, real.__file__)
    if spec is None:
        spec = importlib.util.find_spec(name)
    if spec is None:
        raise CannotLoad(f"{name} cannot be found to load again")
    return spec


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


def load_again(module: types.ModuleType, also=()) -> types.ModuleType:
    """`module` (as imported) run again from its source on managed primitives, with
    the modules named in `also` and their packages. `module.__prodcon_facades__`
    holds what was loaded; its `files` are the switch points."""
    facades = Facades({module.__name__, *also})
    facades._import(module.__name__, ())
    managed = facades.loaded[module.__name__]
    managed.__prodcon_facades__ = facades
    return managed


def managed_queue() -> types.ModuleType:
    """CPython's queue module on managed primitives."""
    return Facades().get("queue")
