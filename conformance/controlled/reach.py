"""Which code a managed queue still runs on real primitives: the package to load again.

A queue built on the implementation run again (`loader.load_again`) may still wait
or read the clock in code that was not: the library an adapter's `Queue` returns a
class of, its base class's library, or the library whose locks and conditions the
queue holds (culsans' queue holds aiologic's Condition). `uncontrolled_home` names
one such module a call, and the controlled runs load again with its package, until
nothing the queue reaches is left on real primitives.

What the queue reaches: its class and the classes before it that define a queue
method (a real one of those is a module to load, or a reason to skip: the standard
library's, prodcon's, or with no Python source); then every object it holds, the
methods of every managed class among them, and what those methods name in their
module (functions, classes, module-level objects), a bounded walk. A class or
function found there whose module is neither managed nor the standard library's,
and whose package uses threading, time or queue (code that can wait or tell time),
is loaded again; a package that never touches them runs correctly as it is.
"""

from __future__ import annotations

import sys
import types
from collections import deque

from prodcon.controlled.loader import _BUNDLED, _KIT, QUEUE_METHODS, CannotLoad, Facades

#: Objects the walk looks at before it stops: a queue holds a few dozen, and what its
#: methods name a few thousand at most (culsans and aiologic: about 2,000).
WALK_LIMIT = 20_000
#: The modules whose names make a package one that can wait or tell time.
_WAITING = frozenset({"threading", "time", "_thread", "queue", "_queue"})


def uncontrolled_home(queue, facades: Facades) -> str | None:
    """The module to load again (with its package) so that `queue` (a queue, or its
    class) waits on managed primitives; None when nothing it reaches is left on real
    ones; `CannotLoad` when its class builds on code that cannot be run again."""
    cls = queue if isinstance(queue, type) else type(queue)
    home = _class_home(cls, facades)
    if home is not None or isinstance(queue, type):
        return home
    for module in _reached_modules(queue, facades):
        if _loadable(module, facades) and _waits_or_tells_time(module.partition(".")[0]):
            return module
    return None


def _class_home(cls: type, facades: Facades) -> str | None:
    """That of `cls` or of the first class after it (in method resolution order) that
    defines a queue method and is the real module's."""
    for klass in cls.__mro__:
        if klass is not cls and not any(name in vars(klass) for name in QUEUE_METHODS):
            continue
        if facades.runs_managed(klass):
            continue
        home = klass.__module__
        named = f"{home}.{klass.__qualname__}"
        top = home.partition(".")[0]
        if top in sys.stdlib_module_names:  # builtins among them
            raise CannotLoad(f"it is (or builds on) {named}, of the standard library or "
                             "built in, which the kit does not run on managed primitives")
        if top == _KIT and not (home + ".").startswith(_BUNDLED + "."):
            raise CannotLoad(f"it is (or builds on) {named}, prodcon's own code")
        path = getattr(sys.modules.get(home), "__file__", None)
        if not path or not path.endswith(".py"):
            raise CannotLoad(f"it is (or builds on) {named}, which has no Python source "
                             "(C code?): its waits cannot be scheduled")
        if facades.manages(home):
            raise CannotLoad(f"it is (or builds on) {named}, made outside the code the kit "
                             "ran again on managed primitives")
        return home
    return None


def _loadable(module: str, facades: Facades) -> bool:
    """`module` can be run again and is not yet: Python source, neither the standard
    library's nor the kit's."""
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or facades.manages(module):
        return False
    if top == _KIT and not (module + ".").startswith(_BUNDLED + "."):
        return False
    path = getattr(sys.modules.get(module), "__file__", None)
    return bool(path) and path.endswith(".py")


def _waits_or_tells_time(top: str) -> bool:
    """A module of package `top` (as imported) holds threading, time or queue, or a
    name of theirs (a lock type, `monotonic`, `sleep`, a lock made at import)."""
    for name, module in list(sys.modules.items()):
        if name != top and not name.startswith(top + "."):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, types.ModuleType):
                if value.__name__ in _WAITING:
                    return True
                continue
            try:
                home = getattr(value, "__module__", None) or type(value).__module__
            except Exception:  # noqa: BLE001 - a lazy proxy that cannot answer
                continue
            if home in _WAITING or type(value).__module__ in _WAITING:
                return True
    return False


def _reached_modules(queue, facades: Facades):
    """The modules of the classes and functions the queue reaches that are not run
    managed, in the order the walk meets them (so the same each time)."""
    seen: set[int] = set()
    todo = deque([queue])
    while todo and len(seen) < WALK_LIMIT:
        obj = todo.popleft()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, str, bytes, int, float)):
            continue
        seen.add(id(obj))
        if isinstance(obj, type):
            if _class_runs_managed(obj, facades):
                for klass in obj.__mro__:
                    if _class_runs_managed(klass, facades):
                        todo.extend(vars(klass).values())
            else:
                yield obj.__module__
        elif isinstance(obj, (staticmethod, classmethod)):
            todo.append(obj.__func__)
        elif isinstance(obj, property):
            todo.extend(part for part in (obj.fget, obj.fset, obj.fdel) if part)
        elif isinstance(obj, types.MethodType):
            todo.extend((obj.__func__, obj.__self__))
        elif isinstance(obj, types.FunctionType):
            if _runs_managed(obj, facades):
                todo.extend(_named(obj))
            elif isinstance(obj.__module__, str):
                yield obj.__module__
        elif isinstance(obj, (list, tuple, set, frozenset, deque)):
            todo.extend(obj)
        elif isinstance(obj, dict):
            todo.extend(obj.values())
        else:  # an instance: its class, then what it holds
            todo.append(type(obj))
            todo.extend(_held(obj))


def _runs_managed(function: types.FunctionType, facades: Facades) -> bool:
    """The function's module was run here: told by its globals, not its `__module__`,
    which libraries rewrite (aiologic names its public package)."""
    name = function.__globals__.get("__name__")
    home = facades.modules.get("queue") if name == "queue" else facades.loaded.get(name)
    return home is not None and function.__globals__ is vars(home)


def _class_runs_managed(cls: type, facades: Facades) -> bool:
    return facades.runs_managed(cls) or any(
        isinstance(value, types.FunctionType) and _runs_managed(value, facades)
        for value in vars(cls).values())


def _named(function: types.FunctionType) -> list:
    """What a function's code (nested code too) names in its module, and its closure."""
    found, codes = [], [function.__code__]
    while codes:
        code = codes.pop()
        found.extend(function.__globals__[name] for name in code.co_names
                     if name in function.__globals__)
        codes.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    for cell in function.__closure__ or ():
        try:
            found.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    return found


def _held(obj) -> list:
    held = list((getattr(obj, "__dict__", None) or {}).values())
    for klass in type(obj).__mro__:
        slots = vars(klass).get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            try:
                held.append(getattr(obj, slot))
            except Exception:  # noqa: BLE001 - an empty slot, or a descriptor that refuses
                pass
    return held
