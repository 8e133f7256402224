"""Line and opcode switch points: sys.monitoring (PEP 669) on 3.12+, sys.settrace before.

A line is the unit a reader sees, but `self.count += 1` is one line and still a
read-modify-write: opcode granularity makes the gap between its load and its
store a switch point too.

Why not settrace everywhere: on 3.12+ settrace is itself emulated on top of
sys.monitoring, and a Python trace function then runs for every call in a managed
thread, the scheduler's own included. A monitoring tool is told once per code
object that it does not care (DISABLE) and listens to line events only in the
implementation's own code objects: a run of one thread took half the time per
switch point on 3.12.1 and 3.13.0. It also leaves sys.settrace to a debugger or
coverage in the same threads, and it avoids 3.12.1's opcode tracing, which can
crash the interpreter when a run ends while threads are parked in the trace
function.

The switch points are kept as settrace makes them, so that a trace reads "line N"
on every version and line granularity switches where it always did: a LINE event
where a new line starts, plus a backward jump to the same line (a one-line loop
or comprehension takes one switch point per iteration under settrace, and
monitoring's LINE alone gives one for the whole loop). Opcode granularity is
INSTRUCTION only: settrace adds a "line" step before the first opcode of each
line, with no code in between, so monitoring has fewer switch points there and
the same interleavings; schedules are recorded per version anyway.

Monitoring events are global: every thread of the process sees them. Only a
thread that entered this object's run (`enter_thread`) gets its callback; any
other thread (the kit's own, another run's, a plain thread the implementation
starts) runs on unswitched.

An observer (`observe(frame, line_number)`, optional) is called in the managed
thread at each line it starts, after the line's switch point (with opcode switch
points, before those of the line's opcodes): the lockset pass (lockset.py) watches
which fields a line touches, on the one replay of a failure it asks for. Without
one, no event costs anything more.
"""

from __future__ import annotations

import os
import sys
import threading

from prodcon.controlled import dependence
from prodcon.errors import standard_library_file

# Tests and benchmarks turn this off to compare with the settrace backend on 3.12+.
MONITORING = sys.version_info >= (3, 12)


class _Active(threading.local):
    switches = None  # the LineSwitches whose run this thread is a managed task of
    # settrace backend: the thread's own trace function before the run's (coverage's,
    # a debugger's), put back when the thread leaves the run
    outer_trace = None
    outer_profile = None  # and its profile function, when a systematic search set one
    tracing = False


_active = _Active()


def file_names(files) -> dict[str, str]:
    """How a report names each of the implementation's files: as short as it stays
    unambiguous, its name (`core.py`), or its path from the folder the files share
    when two have the same name (`culsans/__init__.py`, `aiologic/__init__.py`)."""
    files = sorted(set(files))
    names = [os.path.basename(f) for f in files]
    if len(set(names)) == len(names):
        return dict(zip(files, names, strict=True))
    try:
        common = os.path.commonpath(files)
    except ValueError:  # relative and absolute paths mixed: no folder in common
        return {f: f for f in files}
    return {f: os.path.relpath(f, common) for f in files}


def _line_table(code) -> list:
    """Line per code unit, as frame.f_lineno reports it (None for the few
    instructions that belong to no line, e.g. exception cleanup)."""
    table: list = [None] * (len(code.co_code) // 2)
    for start, end, line in code.co_lines():
        table[start // 2:end // 2] = [line] * ((end - start) // 2)
    return table


def _ignore(*args) -> None:
    return None


#: Per monitoring tool id, the files of the last run on it: what its DISABLEs were for.
_disabled_for: dict = {}


def _claim_tool() -> int | None:
    """A free tool id: the debugger's first (what the scheduler does is stepping),
    then the ids no convention gives away, then the conventional ones."""
    mon = sys.monitoring
    for tool in (mon.DEBUGGER_ID, 3, 4, mon.OPTIMIZER_ID, mon.PROFILER_ID, mon.COVERAGE_ID):
        if mon.get_tool(tool) is not None:
            continue
        try:
            mon.use_tool_id(tool, "prodcon controlled scheduler")
        except ValueError:  # claimed meanwhile by another thread
            continue
        return tool
    return None


class LineSwitches:
    """One run's line switch points; `callback(line_number)` runs in the managed
    thread that is about to execute that line (or opcode), after `observe(frame,
    line_number)` if given, at each line the thread starts. Where the implementation
    has several files, the callback gets `(file's name, line_number)` instead, its
    name as `file_names` gives it."""

    def __init__(self, files, opcodes: bool, callback, observe=None, touch=None,
                 shared_only: bool = False):
        self.files = frozenset(files)
        # opcodes that touch what another thread may (dependence.switch_table) only: the
        # "access" granularity
        self.shared_only = shared_only
        self._switches: dict = {}  # id(code) -> (its code, dependence.switch_table)
        # a systematic search wants what each step touches (dependence.py): the callback
        # then gets it too, `callback(line, touched)`, the instruction's or the line's,
        # and `touch(key, mode)` hears what each call the implementation makes touches
        self.touch = touch
        self.touching = touch is not None
        self._access_tables: dict = {}  # id(code) -> (its code, per code unit or per line)
        # One file of the implementation's own needs no name: a line number alone says
        # where. A package's do, every line of them (a trace that stays in one of its
        # files still leaves the reader asking which). The standard library's modules
        # run again with it (queue.py, for a module that imports queue) are not its own.
        own = [f for f in self.files if not standard_library_file(f)]
        self.names = file_names(self.files) if len(own) > 1 else {}
        self.opcodes = opcodes
        self.callback = callback
        self.observe = observe
        # settrace: a frame's trace function, chosen once (no per-event check without one)
        self._local = (self._observed_trace if observe is not None else
                       self._touching_trace if self.touching else
                       self._named_trace if self.names else self._local_trace)
        self._shared = self._shared_trace  # bound once, as self._local
        self.backend: str | None = None  # "monitoring" or "settrace" once started
        self.tool: int | None = None
        self._watched: set = set()  # code objects with local events, to clear in stop()
        # a thread outside the run may be inside on_start while stop() frees the tool
        self._teardown = threading.Lock()

    # -- the run's life ------------------------------------------------------

    def start(self) -> None:
        if not self.files:
            return
        if MONITORING:
            tool = _claim_tool()
            if tool is not None:
                self.tool = tool
                # DISABLE stays on a code object (or a jump) until events are restarted,
                # and what this kit disables depends on the files alone: a run with other
                # files than the last one on this id must see every code object again.
                # Restarting re-instruments every code object of the process (1.4 ms of
                # a 3.5 ms run, 3.13.0): once per change of files, not once per run.
                if _disabled_for.get(tool) != self.files:
                    sys.monitoring.restart_events()
                    _disabled_for[tool] = self.files
                self._monitor(tool)
                self.backend = "monitoring"
                return
            # All six tool ids are held (a debugger, coverage, a profiler, other
            # runs...): settrace is per thread and coexists with all of them, so
            # the run still gets its switch points, only slower.
        self.backend = "settrace"

    def enter_thread(self) -> None:
        if self.backend == "settrace":
            _active.outer_trace, _active.tracing = sys.gettrace(), True
            sys.settrace(self._global_trace)
            if self.touching:  # what each call touches: 'c_call' and 'call' events
                _active.outer_profile = sys.getprofile()
                sys.setprofile(self._profile)
        elif self.backend == "monitoring":
            _active.switches = self

    def leave_thread(self) -> None:
        """Idempotent: a task that raised leaves twice (to report, then in a finally)."""
        if self.backend == "settrace":
            if _active.tracing:
                sys.settrace(_active.outer_trace)
                if self.touching:
                    sys.setprofile(_active.outer_profile)
                    _active.outer_profile = None
                _active.outer_trace, _active.tracing = None, False
        elif self.backend == "monitoring" and _active.switches is self:
            _active.switches = None

    def stop(self) -> None:
        """Idempotent, and safe after a failed start: Scheduler.run calls it in a finally."""
        if self.tool is None:
            return
        mon = sys.monitoring
        with self._teardown:
            tool, self.tool = self.tool, None
            try:
                mon.set_events(tool, mon.events.NO_EVENTS)
                for code in self._watched:
                    mon.set_local_events(tool, code, mon.events.NO_EVENTS)
                self._watched.clear()
                for event in (mon.events.PY_START, mon.events.PY_RESUME, mon.events.LINE,
                              mon.events.JUMP, mon.events.INSTRUCTION, mon.events.CALL):
                    mon.register_callback(tool, event, None)
            finally:  # the id is the process's: freed even if the kit's bound interrupts
                mon.free_tool_id(tool)  # this thread here (harness.interrupt)
        # what this run disabled stays disabled (start() restarts when the files change)

    # -- sys.monitoring ------------------------------------------------------

    def _monitor(self, tool: int) -> None:
        """Events only where they are wanted: a global PY_START/PY_RESUME finds each
        code object of the files at its first call (or resumption) in the run and turns
        its line events on locally; any other code object is dropped by DISABLE at its
        first call. Global LINE events would cost a callback at every line location
        the kit and the interpreter touch, in every run."""
        mon = sys.monitoring
        events = mon.events
        files, callback, active, disable = self.files, self.callback, _active, mon.DISABLE
        # tables by id(code): hashing a code object hashes its whole body (3.13), and
        # an INSTRUCTION event asks at every opcode; `watched` holds each code object
        # with events, so its id stays its own for the run
        watched, tables, teardown = self._watched, {}, self._teardown
        names = self.names  # several files: a line is (file's name, number), tables too
        # LINE also in opcode mode (3.12.1, 3.13.0): an instruction whose LINE event
        # another tool (coverage, a concurrent run) DISABLEs, while no other tool keeps
        # the line instrumented, loses its INSTRUCTION event that time.
        wanted = events.INSTRUCTION | events.LINE if self.opcodes else events.LINE | events.JUMP
        if self.touching:
            wanted |= events.CALL

        def on_start(code, offset):
            if code.co_filename not in files:
                return disable
            if code not in watched:
                with teardown:
                    if self.tool == tool and code not in watched:
                        table = _line_table(code)
                        if names:
                            name = names[code.co_filename]
                            table = [(name, line) for line in table]
                        tables[id(code)] = table
                        watched.add(code)
                        mon.set_local_events(tool, code, wanted)
            # no DISABLE here: 3.13.0 has no LINE event for a generator expression's line
            # unless its RESUME stays instrumented
            return None

        def on_line(code, line):
            if active.switches is self:
                callback(line)

        def on_line_named(code, line):
            if active.switches is self:
                callback((names[code.co_filename], line))

        observe = self.observe

        def on_line_observed(code, line):
            if active.switches is self:
                if not self.opcodes:
                    callback((names[code.co_filename], line) if names else line)
                observe(sys._getframe(1), line)  # a callback's caller is the monitored frame

        def on_jump(code, source, target):
            # where a jump goes is fixed per location: DISABLE before the thread check
            if target > source:
                return disable
            table = tables[id(code)]
            line = table[target // 2]
            if line != table[source // 2]:
                return disable  # the target's LINE event switches
            if active.switches is self:
                callback(line)
            return None

        def on_instruction(code, offset):
            if active.switches is self:
                callback(tables[id(code)][offset // 2])

        touched = self._touched_by

        def on_instruction_touching(code, offset):
            if active.switches is self:
                callback(tables[id(code)][offset // 2], touched(code)[offset // 2])

        switch_at = self._switch_at

        def on_shared_instruction(code, offset):
            # no DISABLE: taking the instruction's event away and putting it back at the
            # next run (restart_events) costs more than the call it saves (3.13.0)
            if not switch_at(code)[offset // 2]:
                return None
            if active.switches is self:
                callback(tables[id(code)][offset // 2])
            return None

        def on_shared_instruction_touching(code, offset):
            if not switch_at(code)[offset // 2]:
                return None
            if active.switches is self:
                callback(tables[id(code)][offset // 2], touched(code)[offset // 2])
            return None

        def on_line_touching(code, line):
            if active.switches is self:
                callback((names[code.co_filename], line) if names else line,
                         touched(code).get(line, ()))

        def on_jump_touching(code, source, target):
            if target > source:
                return disable
            table = tables[id(code)]
            line = table[target // 2]
            if line != table[source // 2]:
                return disable
            if active.switches is self:
                callback(line, touched(code).get(line[1] if names else line, ()))
            return None

        touch = self.touch

        def on_call(code, offset, function, first):
            if active.switches is self:
                for key, mode in dependence.call_touches(function, files):
                    touch(key, mode)

        handlers = {events.PY_START: on_start, events.PY_RESUME: on_start}
        if self.touching:
            handlers[events.CALL] = on_call
        if self.opcodes:
            if self.shared_only:
                on_opcode = (on_shared_instruction_touching if self.touching
                             else on_shared_instruction)
            else:
                on_opcode = on_instruction_touching if self.touching else on_instruction
            handlers.update({events.INSTRUCTION: on_opcode, events.LINE: _ignore})
        elif self.touching:
            handlers.update({events.LINE: on_line_touching, events.JUMP: on_jump_touching})
        else:
            handlers.update({events.LINE: on_line_named if names else on_line,
                             events.JUMP: on_jump})
        if observe is not None:
            handlers[events.LINE] = on_line_observed
        for event, handler in handlers.items():
            mon.register_callback(tool, event, handler)
        mon.set_events(tool, events.PY_START | events.PY_RESUME)

    # -- sys.settrace --------------------------------------------------------

    def _global_trace(self, frame, event, arg):
        if frame.f_code.co_filename in self.files:
            local = self._shared_trace if self.shared_only else self._local
            if self.opcodes:
                # 3.12+ instruments opcodes only for a frame that already has f_trace
                frame.f_trace = local
                frame.f_trace_opcodes = True
            return local
        return None

    def _shared_trace(self, frame, event, arg):
        """The "access" granularity: no "line" switch point (monitoring has none either),
        and an opcode one only where dependence.switch_table says."""
        if event == "opcode":
            if self._switch_at(frame.f_code)[frame.f_lasti // 2]:
                self._local(frame, event, arg)
        elif event == "line" and self.observe is not None:
            self.observe(frame, frame.f_lineno)
        return self._shared

    def _switch_at(self, code):
        known = self._switches.get(id(code))
        if known is None:
            known = self._switches[id(code)] = (code, dependence.cached(
                dependence.switch_table, code))
        return known[1]

    # Each returns self._local, the bound method made once: `return self._local_trace`
    # would make a new one at every event.
    def _local_trace(self, frame, event, arg):
        if event == "line" or event == "opcode":
            self.callback(frame.f_lineno)
        return self._local

    def _named_trace(self, frame, event, arg):
        if event == "line" or event == "opcode":
            self.callback((self.names[frame.f_code.co_filename], frame.f_lineno))
        return self._local

    def _touching_trace(self, frame, event, arg):
        if event == "opcode":
            line = frame.f_lineno
            self.callback((self.names[frame.f_code.co_filename], line) if self.names else line,
                          self._touched_by(frame.f_code)[frame.f_lasti // 2])
        elif event == "line":  # with opcodes, the switch point before a line's first one
            line = frame.f_lineno
            self.callback((self.names[frame.f_code.co_filename], line) if self.names else line,
                          () if self.opcodes else self._touched_by(frame.f_code).get(line, ()))
        return self._local

    def _profile(self, frame, event, arg):
        """What a call from the implementation's code touches (settrace backend): a C
        function's 'c_call' from one of its frames, or a Python function's 'call' from
        one (the function's own frame, its caller's in the files)."""
        if event == "c_call":
            if frame.f_code.co_filename in self.files:
                for key, mode in dependence.call_touches(arg, self.files):
                    self.touch(key, mode)
        elif event == "call":
            caller = frame.f_back
            if caller is not None and caller.f_code.co_filename in self.files:
                for key, mode in dependence.python_call_touches(
                        frame.f_code, frame.f_globals.get("__name__", ""), self.files):
                    self.touch(key, mode)

    def _touched_by(self, code):
        """What each instruction of `code` (opcode switch points) or each of its lines
        (line switch points) touches, read from its bytecode once per run."""
        known = self._access_tables.get(id(code))
        if known is None:
            table = dependence.cached(dependence.instruction_table if self.opcodes
                                      else dependence.line_table, code)
            known = self._access_tables[id(code)] = (code, table)  # the code kept: its id stays
        return known[1]

    def _observed_trace(self, frame, event, arg):
        if event == "line" or event == "opcode":
            names = self.names
            self.callback((names[frame.f_code.co_filename], frame.f_lineno) if names
                          else frame.f_lineno)
        if event == "line":
            self.observe(frame, frame.f_lineno)
        return self._local
