"""Which field a race is on: a lockset pass (Eraser's) over one replay of a failure.

A failing schedule says what went wrong and in which order; a student still has
to find the field two threads used without a lock. Eraser's rule (Savage et al.,
1997) points at it: every field that several threads use, one of them writing,
needs one lock that every one of them holds while it does. So the failure's
shrunk schedule is run once more, the same schedule, with an observer that, at
each line a managed thread starts in the implementation's files, notes which
fields of the queue (and of the objects it owns) the line reads or writes, and
which managed locks the thread holds at that moment. A field two threads used,
one of them writing, with no lock in common between some such pair of accesses,
is listed with both lines, the pairs where both threads wrote first. A run ends
where a thread fails, often just before the write its read raced with: in this
one run the other threads run on (the default schedule, no preemption, a bounded
number of steps), and an access whose line started then is shown as made after
the failure (a line's accesses are noted as it starts: with opcode switch points,
as the suite's plans have, a thread may start a line before the failure and make
its write after it).

What counts:
- A *field* is an attribute of the queue (`self._unfinished`) or of an object
  reached from it through attributes (`self._ring.head`: the queue's own
  helper objects), however the line names the object (`self`, or any local or
  global bound to it).
- A line *reads* every such attribute it loads, and *writes* every one it
  assigns or deletes; `self.n += 1` is both. Changing the container an
  attribute holds writes that attribute: `self._items.append(x)` (and the other
  mutating methods in `MUTATORS`), `self._items[i] = x`, `del self._items[0]`,
  `heapq.heappush(self._heap, x)`, and so through a name that holds the
  attribute's container (`line.append(me)`, `line` being `self._getters`; not
  through a name for an element of it). What a line touches is read from its source
  (the module's syntax tree) once per file: every access the line names counts,
  including one in a branch of the line that did not run.
- The locks a thread *holds*: each Lock and RLock whose owner it is (a
  Condition holds through its lock; while it waits it holds nothing), as the
  trace names them (Lock#1, RLock#2), taken at the start of the line. A
  Semaphore(1) used as a mutex counts as held by the thread whose acquire took
  it, until the next release by any thread; a counting semaphore (any other
  initial value) lets several threads in at once, so it guards nothing.

It is a hint where to look, never a verdict: it runs only after a property was
found broken (a passing run is never observed, so it costs nothing and reports
nothing), and a read with no lock can be harmless (a quick look that a locked
path checks again). Accesses are not ordered by happens-before, so a field one
thread hands to another by a join, an Event or a semaphore without a common lock
is listed too.
"""

from __future__ import annotations

import ast
import os
import types
from dataclasses import dataclass

from prodcon.controlled.lines import file_names
from prodcon.controlled.minimize import default_choice
from prodcon.controlled.primitives.semaphores import Semaphore
from prodcon.controlled.scheduler import Scheduler
from prodcon.controlled.strategies import Replay
from prodcon.errors import KitError, SchedulerError

#: Method calls that change the container an attribute holds (list, deque, dict, set,
#: bytearray, heap...): `self._items.append(x)` writes `_items`.
MUTATORS = frozenset({
    "append", "appendleft", "extend", "extendleft", "insert", "pop", "popleft", "popitem",
    "remove", "clear", "add", "discard", "update", "setdefault", "rotate", "sort",
    "reverse", "__setitem__", "__delitem__", "__iadd__", "difference_update",
    "intersection_update", "symmetric_difference_update",
})
#: Functions whose first argument is the container they change: heapq's.
CHANGES_FIRST_ARGUMENT = frozenset({"heappush", "heappop", "heapreplace", "heappushpop",
                                    "heapify"})
#: Fields shown at most; the rest are counted.
SHOWN = 5
#: Switch points the other threads may run on after the failure, in the observed replay.
RUN_ON = 2_000
#: Objects reached from the queue through attributes, at most this deep, are its own.
DEPTH = 3

HEADING = "Fields touched by two threads with no lock in common"


@dataclass(frozen=True)
class Access:
    """One kind of access to a field: a thread read or wrote it at a line, holding locks."""

    field: str  # "self._unfinished"
    thread: str
    write: bool
    file: str
    line: int
    locks: tuple  # the names of the locks held, in the order the run first used them
    after: bool = False  # made after the run's failure, as the other threads ran on

    def describe(self) -> str:
        held = ", ".join(self.locks) if self.locks else "no lock"
        text = (f"{'written' if self.write else 'read'} by {self.thread} at line "
                f"{self.line} holding {held}")
        return text + (" (after the failure, as the other threads ran on)"
                       if self.after else "")


@dataclass(frozen=True)
class Conflict:
    """A field, and two accesses to it by two threads, one at least a write, that held no
    lock in common: `first` ran before `second`."""

    field: str
    first: Access
    second: Access

    @property
    def both_write(self) -> bool:
        return self.first.write and self.second.write

    @property
    def rank(self) -> tuple:
        """Both wrote before one only did; within that, seen before the failure first."""
        return (not self.both_write, self.first.after or self.second.after)


# -- what each line names: read from the source once per file ---------------------------


def _path(node) -> tuple | None:
    """A receiver as names: `self` -> ("self",), `self._ring` -> ("self", "_ring"); None
    for anything else (a call's result, a subscript)."""
    if isinstance(node, ast.Name):
        return (node.id,)
    if isinstance(node, ast.Attribute):
        inner = _path(node.value)
        return None if inner is None else (*inner, node.attr)
    return None


def _changed(node) -> tuple | None:
    """(line, receiver, attribute) of a container that a line changes: an attribute
    (`self._items`), or a name (`line`, a local bound to one of the queue's
    containers: the attribute is "", found at run time by what the name holds)."""
    if isinstance(node, ast.Attribute):
        receiver = _path(node.value)
        if receiver is not None:
            return node.lineno, receiver, node.attr
    if isinstance(node, ast.Name):
        return node.lineno, (node.id,), ""
    return None


def line_accesses(source: str) -> dict[int, tuple]:
    """Per line of `source`: ((receiver, attribute, write), ...), each receiver a tuple
    of names (`_path`), one entry per distinct access of the line; an attribute "" is
    the container the receiver names, changed."""
    table: dict[int, dict] = {}

    def add(line: int, receiver: tuple, attr: str, write: bool) -> None:
        table.setdefault(line, {})[(receiver, attr, write)] = None

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            receiver = _path(node.value)
            if receiver is not None:
                add(node.lineno, receiver, node.attr, not isinstance(node.ctx, ast.Load))
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Attribute):
            receiver = _path(node.target.value)
            if receiver is not None:  # `self.n += 1` reads it too
                add(node.target.lineno, receiver, node.target.attr, False)
        targets = ()
        if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load):
            targets = (node.value,)  # self._items[i] = x, del self._items[0], += on one
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if isinstance(func, ast.Attribute) and func.attr in MUTATORS:
                targets = (func.value,)
            elif name in CHANGES_FIRST_ARGUMENT and node.args:
                targets = (node.args[0],)
        for target in targets:
            changed = _changed(target)
            if changed is not None:
                add(*changed, True)
    return {line: tuple(found) for line, found in sorted(table.items())}


# -- the observer ------------------------------------------------------------------------

_MISSING = object()


def _instance_dict(obj) -> dict | None:
    """obj's own attributes, read without running any of its code (no property, no
    __getattr__): None for an object without a __dict__."""
    try:
        found = object.__getattribute__(obj, "__dict__")
    except Exception:  # noqa: BLE001 - no __dict__, or a class that hides it
        return None
    return found if isinstance(found, dict) else None


def _own(value) -> bool:
    """An object the queue may own, with fields of its own: an instance with a
    __dict__, not a function, class or module, nor a managed primitive (where locks
    live, not fields)."""
    if isinstance(value, (type, types.ModuleType, types.FunctionType, types.MethodType,
                          types.BuiltinFunctionType)):
        return False
    if type(value).__module__.startswith("prodcon.controlled."):
        return False
    return _instance_dict(value) is not None


class Observer:
    """Watches one run: `observe` is the Scheduler's observer. `root` is the queue."""

    def __init__(self, root, files):
        self.files = frozenset(files)
        self.owned: dict[int, tuple] = {}  # id -> (object, its name: "self", "self._ring")
        self.semaphores: dict[int, Semaphore] = {}
        self.accesses: dict[Access, None] = {}  # in the order first made
        self.error: BaseException | None = None
        self._tables: dict[str, dict] = {}
        self._globals_seen: set[int] = set()
        self._walk(root, "self", DEPTH)

    def _walk(self, obj, name: str, depth: int) -> None:
        """Name `obj` and what it owns through attributes, `depth` levels down; note the
        semaphores found on the way (and in lists, tuples and dicts there)."""
        if id(obj) in self.owned:
            return
        self.owned[id(obj)] = (obj, name)
        if depth == 0:
            return
        for attr, value in list((_instance_dict(obj) or {}).items()):
            self._note_semaphores(value)
            if _own(value):
                self._walk(value, f"{name}.{attr}", depth - 1)

    def _note_semaphores(self, value) -> None:
        values = value.values() if isinstance(value, dict) else value
        for found in (values if isinstance(value, (list, tuple, dict)) else (value,)):
            if isinstance(found, Semaphore):
                self.semaphores.setdefault(id(found), found)

    def observe(self, sched: Scheduler, task, frame, line: int) -> None:
        """A line starts in a managed thread: note the fields it names. Never raises into
        the implementation: the first error is kept, and the replay reports it."""
        if self.error is not None:
            return
        try:
            self._observe(sched, task, frame, line)
        except Exception as exc:  # noqa: BLE001 - re-raised as the kit's after the run
            self.error = exc

    def _observe(self, sched: Scheduler, task, frame, line: int) -> None:
        file = frame.f_code.co_filename
        named = self._table(file).get(line)
        if not named:
            return
        if id(frame.f_globals) not in self._globals_seen:  # a module's own semaphores
            self._globals_seen.add(id(frame.f_globals))
            for value in list(frame.f_globals.values()):
                self._note_semaphores(value)
        scope = frame.f_locals
        locks = None
        for receiver, attr, write in named:
            if attr:
                owner = self._resolve(receiver, scope, frame.f_globals)
                field = None if owner is None else f"{owner}.{attr}"
            else:
                field = self._container(receiver[0], scope, frame.f_globals)
            if field is None:
                continue
            if locks is None:
                locks = self._held(sched, task)
            self.accesses.setdefault(Access(field, task.name, write, file, line, locks,
                                            bool(sched.findings)))

    def _table(self, file: str) -> dict:
        table = self._tables.get(file)
        if table is None:
            table = {}
            if file in self.files:
                try:
                    with open(file, encoding="utf-8") as handle:
                        table = line_accesses(handle.read())
                except (OSError, SyntaxError, ValueError):  # no source to read: no fields
                    table = {}
            self._tables[file] = table
        return table

    def _resolve(self, receiver: tuple, scope, module_globals) -> str | None:
        """The name of the owned object `receiver` stands for in this frame, or None."""
        first, *attrs = receiver
        obj = scope.get(first, _MISSING)
        if obj is _MISSING:
            obj = module_globals.get(first, _MISSING)
        if obj is _MISSING:
            return None
        entry = self.owned.get(id(obj))
        for attr in attrs:
            own = _instance_dict(obj)
            value = _MISSING if own is None else own.get(attr, _MISSING)
            if value is _MISSING:
                return None
            if entry is not None and _own(value) and id(value) not in self.owned:
                self._walk(value, f"{entry[1]}.{attr}", 0)  # owned, met since the start
            obj, entry = value, self.owned.get(id(value))
        return None if entry is None or entry[0] is not obj else entry[1]

    def _container(self, name: str, scope, module_globals) -> str | None:
        """The field whose value the name holds (`line` in `line.append(me)`, handed
        `self._getters`), or None."""
        obj = scope.get(name, _MISSING)
        if obj is _MISSING:
            obj = module_globals.get(name, _MISSING)
        if obj is _MISSING or isinstance(obj, (type(None), bool, int, float, str, bytes,
                                               tuple, frozenset)):
            return None  # not a container a line can change
        for owner, owner_name in list(self.owned.values()):
            for attr, value in list((_instance_dict(owner) or {}).items()):
                if value is obj:
                    return f"{owner_name}.{attr}"
        return None

    def _held(self, sched: Scheduler, task) -> tuple:
        held = sched.held_by(task)
        for semaphore in self.semaphores.values():
            if semaphore._binary and semaphore._taker is task:
                held.append(sched.name_of(semaphore, "Semaphore"))
        return tuple(held)

    # -- the verdict-free part: which fields, which pairs ---------------------------------

    def conflicts(self) -> list[Conflict]:
        return conflicts(self.accesses)


def conflicts(accesses) -> list[Conflict]:
    """Per field, the first pair of accesses (in the order they were made) by two
    threads, one at least a write, whose locks have none in common, of the best `rank`
    there is: both wrote, and before the failure. Fields in the order of their pairs'
    ranks, then of the run's first touching them."""
    by_field: dict[str, list[Access]] = {}
    for access in accesses:
        by_field.setdefault(access.field, []).append(access)
    found: list[tuple] = []
    for order, (field, seen) in enumerate(by_field.items()):
        best = None
        for i, first in enumerate(seen):
            for second in seen[i + 1:]:
                if (first.thread == second.thread or not (first.write or second.write)
                        or set(first.locks) & set(second.locks)):
                    continue
                pair = Conflict(field, first, second)
                if best is None or pair.rank < best.rank:
                    best = pair
        if best is not None:
            found.append((best.rank, order, best))
    return [conflict for *_, conflict in sorted(found, key=lambda f: f[:2])]


# -- the replay and the report's section ---------------------------------------------------


class _ReplayThenRunOn(Replay):
    """The recorded schedule, then (once a thread raised and the others run on) the
    default schedule: no preemption, the lowest-numbered thread that can run."""

    def choose(self, runnable, current, due=None):
        if len(runnable) > 1 and self.position >= len(self.choices):
            return default_choice(runnable, current, due)
        return super().choose(runnable, current, due)


def observe_replay(root, bodies, names, schedule, files, steps: int,
                   granularity: str) -> list[Conflict]:
    """Run `bodies` once more under the recorded `schedule`, observed; `root` is the
    queue they share (built before the run), `steps` the recorded run's switch points.
    When a thread raises, the others run on, for at most RUN_ON more switch points:
    the write that the failing thread's read raced with often comes just after. What
    the run finds is not judged again: only which fields it touched, how. Raises the
    kit's error if observing itself failed."""
    observer = Observer(root, files)
    strategy = _ReplayThenRunOn(schedule)
    strategy.begin_run()
    try:
        # a short safety wait: running on, a thread may go where no judged run went
        # and block outside the scheduler's control; the hint is not worth 30 s
        Scheduler(strategy, line_files=files, max_steps=steps + RUN_ON,
                  granularity=granularity, observer=observer.observe,
                  run_on=True, safety=2.0).run(bodies, names)
    except (SchedulerError, KitError):
        # The run could not go on (a thread blocked outside the scheduler's control, the
        # kit's threads in a state no judged run reaches): the accesses seen until then
        # were made, and stand; the failure's verdict and trace do not depend on them.
        pass
    finally:
        strategy.end_run()
    if observer.error is not None:
        raise KitError.caught("naming the fields of a failing run (the lockset pass)",
                              observer.error)
    return observer.conflicts()


def section(found: list[Conflict], files) -> str:
    """The report's section, after the trace: nothing when no field conflicts."""
    if not found:
        return ""
    shown = file_names(files)
    lines = ["", "", f"{HEADING}:"]
    sources: dict[str, list[str]] = {}
    for conflict in found[:SHOWN]:
        lines.append(f"  `{conflict.field}`: {conflict.first.describe()}, "
                     f"{conflict.second.describe()}")
        for file, line in dict.fromkeys((access.file, access.line)
                                        for access in (conflict.first, conflict.second)):
            lines.append(f"      {shown.get(file, os.path.basename(file))}:{line}  "
                         f"{_source_line(sources, file, line)}".rstrip())
    if len(found) > SHOWN:
        lines.append(f"  ... and {len(found) - SHOWN} more fields")
    lines.append("(The schedule above, run once more and watched: a field that two threads "
                 "use, one of them writing, needs a lock that both hold while they use it. "
                 "A hint where to look, not a verdict: a read with no lock can be harmless.)")
    return "\n".join(lines)


def _source_line(cache: dict, file: str, line: int) -> str:
    if file not in cache:
        try:
            with open(file, encoding="utf-8") as handle:
                cache[file] = handle.read().splitlines()
        except (OSError, ValueError):
            cache[file] = []
    text = cache[file][line - 1].strip() if 0 < line <= len(cache[file]) else ""
    return text if len(text) <= 90 else text[:87] + "..."
