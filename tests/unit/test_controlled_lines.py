"""Line and opcode switch points: sys.monitoring on 3.12+, sys.settrace on 3.10 and 3.11.

The backend is an implementation detail, so these tests watch what a user sees: which
races a granularity finds, that a seed gives one trace, that line switch points are
where settrace put them, and that a run leaves no tool id, trace function or
monitoring event behind, however it ended, for the kit's own threads or the next run.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest

from prodcon.controlled import (
    Exhaustive,
    RandomWalk,
    Scheduler,
    SchedulerError,
    explore,
    load,
    run_once,
)
from prodcon.controlled import lines as lines_module
from prodcon.controlled.lines import LineSwitches

SEED = 20261128
TOOL_NAME = "prodcon controlled scheduler"
MONITORING = sys.version_info >= (3, 12)
needs_monitoring = pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")

IMPL = """\
import threading


class Counter:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def increment(self):
        self.count += 1

    def add_all(self, items):
        for item in items: self.count += item
        return [item for item in items if item], sum(item for item in items)

    def locked_increment(self):
        with self.lock:
            self.count += 1


def spin(n):
    total = 0
    for i in range(n):
        total += i
    return total
"""


@pytest.fixture
def impl(tmp_path):
    path = tmp_path / "counter_impl.py"
    path.write_text(IMPL)
    return load(str(path))


def racy(module):
    """Two unlocked `self.count += 1`: one line, but a load and a store apart."""
    def scenario():
        counter = module.Counter()

        def check():
            if counter.count != 2:  # not an assert: its rewriting would name the object's id
                raise AssertionError(f"count is {counter.count} after two increments")
        return [counter.increment, counter.increment], check
    return scenario


def loops(module):
    """One-line loops, a comprehension, a generator expression and a lock."""
    def scenario():
        counter = module.Counter()

        def adder():
            counter.add_all([1, 2, 3])
            counter.locked_increment()
        return [adder, adder, counter.locked_increment], None
    return scenario


def traces(scenario, module, granularity, runs=30, strategy=None):
    """Each run's trace and schedule, in order, for a fresh strategy of one seed."""
    strategy = strategy or RandomWalk(SEED)
    out = []
    for _ in range(runs):
        result, findings = run_once(scenario, strategy, module.__prodcon_line_files__,
                                    granularity=granularity)
        out.append((result.trace.format(tail=10**6), result.schedule,
                    [str(f) for f in findings]))
    return out


def tools() -> list:
    return [sys.monitoring.get_tool(i) for i in range(6)] if MONITORING else []


#: What threads are started with before any run: coverage installs its tracer here.
THREAD_TRACE = threading.gettrace()


def ours(trace) -> bool:
    """A trace function of a LineSwitches (coverage's own may be in any thread)."""
    return isinstance(getattr(trace, "__self__", None), LineSwitches)


def assert_nothing_left(tools_before, trace_before):
    assert sys.gettrace() is trace_before
    assert threading.gettrace() is THREAD_TRACE
    assert tools() == tools_before
    if MONITORING:
        assert all(sys.monitoring.get_events(i) == 0
                   for i, name in enumerate(tools_before) if name is None)


# -- which backend -----------------------------------------------------------------

def test_backend_is_monitoring_from_3_12_and_settrace_before(impl):
    seen: dict = {}

    def body():
        impl.spin(2)
        seen["trace"] = sys.gettrace()
        seen["tools"] = tools()
    sched = Scheduler(RandomWalk(SEED), impl.__prodcon_line_files__)
    result = sched.run([body])
    assert result.findings == []
    assert any(step.text.startswith("line ") for step in result.trace.steps)
    if MONITORING:
        assert not ours(seen["trace"]), "settrace is left to debuggers and coverage"
        assert TOOL_NAME in seen["tools"]
        assert sched._lines.backend == "monitoring"
    else:
        assert ours(seen["trace"])
        assert sched._lines.backend == "settrace"


def test_without_line_files_no_backend_starts(impl):
    seen: dict = {}

    def body():
        impl.spin(2)
        seen["trace"], seen["tools"] = sys.gettrace(), tools()
    before = tools()
    sched = Scheduler(RandomWalk(SEED))
    assert sched.run([body]).findings == []
    assert sched._lines.backend is None
    assert seen["tools"] == before
    assert not ours(seen["trace"])


@needs_monitoring
def test_falls_back_to_settrace_when_every_tool_id_is_taken(impl):
    claimed = []
    for tool in range(6):
        if sys.monitoring.get_tool(tool) is None:
            sys.monitoring.use_tool_id(tool, "test: held")
            claimed.append(tool)
    try:
        trace_before = sys.gettrace()
        sched = Scheduler(RandomWalk(SEED), impl.__prodcon_line_files__)
        result = sched.run([lambda: impl.spin(3)])
        assert sched._lines.backend == "settrace"
        assert sum(step.text.startswith("line ") for step in result.trace.steps) > 3
        assert sys.gettrace() is trace_before
    finally:
        for tool in claimed:
            sys.monitoring.free_tool_id(tool)


# -- what each granularity finds ---------------------------------------------------

def test_read_modify_write_race_is_found_with_opcodes_only(impl):
    every_line_schedule = Exhaustive(10)
    assert explore(racy(impl), every_line_schedule, 1000, impl.__prodcon_line_files__,
                   granularity="line") is None
    assert every_line_schedule.exhausted
    failure = explore(racy(impl), RandomWalk(SEED), 200, impl.__prodcon_line_files__,
                      granularity="opcode")
    assert failure is not None
    assert "count is 1 after two increments" in failure.report()
    assert {s.text for s in failure.trace.steps} >= {"line 10", "ends"}
    assert explore(racy(impl), Exhaustive(3), 1000, impl.__prodcon_line_files__,
                   granularity="opcode") is not None


def test_line_switch_points_are_where_settrace_puts_them(impl):
    """The callback sees each line as settrace reports it, loop header included, and
    only in a thread that entered the run."""
    first = impl.spin.__code__.co_firstlineno
    seen: list = []
    switches = LineSwitches(impl.__prodcon_line_files__, False,
                            lambda line: seen.append((threading.get_ident(), line)))
    switches.start()
    try:
        outsider = threading.Thread(target=impl.spin, args=(5,))
        outsider.start()
        outsider.join()
        assert seen == []
        switches.enter_thread()
        try:
            assert impl.spin(2) == 1
        finally:
            switches.leave_thread()
        impl.spin(2)
    finally:
        switches.stop()
    me = threading.get_ident()
    assert seen == [(me, first + n) for n in (1, 2, 3, 2, 3, 2, 4)]


def test_a_thread_gets_its_own_trace_function_back(impl, monkeypatch):
    """settrace backend: the tracer a thread had (coverage's, a debugger's) is back
    when it leaves the run, even when it leaves twice (a task that raised does)."""
    monkeypatch.setattr(lines_module, "MONITORING", False)

    def tracer(frame, event, arg):
        return None
    before = sys.gettrace()
    switches = LineSwitches(impl.__prodcon_line_files__, False, lambda line: None)
    switches.start()
    sys.settrace(tracer)
    try:
        switches.enter_thread()
        assert ours(sys.gettrace())
        switches.leave_thread()
        switches.leave_thread()
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(before)
        switches.stop()


@needs_monitoring
def test_line_granularity_switches_as_settrace_did(impl, monkeypatch):
    """Same switch points, so the same traces: a one-line loop still switches at every
    iteration (a backward jump), a generator expression's line still counts."""
    by_monitoring = traces(loops(impl), impl, "line")
    monkeypatch.setattr(lines_module, "MONITORING", False)
    by_settrace = traces(loops(impl), impl, "line")
    assert by_monitoring == by_settrace
    steps = by_monitoring[0][0].count("line 13")
    assert steps, "the one-line loop is a switch point"


# -- determinism ---------------------------------------------------------------------

@pytest.mark.parametrize("granularity", ["line", "opcode"])
def test_same_seed_same_traces_twice(impl, granularity):
    for make in (racy, loops):
        first = traces(make(impl), impl, granularity)
        second = traces(make(impl), impl, granularity)
        assert first == second
    found = [explore(racy(impl), RandomWalk(SEED), 200, impl.__prodcon_line_files__,
                     granularity=granularity) for _ in range(2)]
    assert (found[0] is None) == (found[1] is None) == (granularity == "line")
    if found[0] is not None:
        assert found[0].report() == found[1].report()


# -- nothing left behind ---------------------------------------------------------------

def test_a_passing_run_leaves_nothing_behind(impl):
    tools_before, trace_before = tools(), sys.gettrace()
    for granularity in ("line", "opcode"):
        assert explore(loops(impl), RandomWalk(SEED), 5, impl.__prodcon_line_files__,
                       granularity=granularity) is None
        assert_nothing_left(tools_before, trace_before)


@pytest.mark.parametrize("ending", ["check", "exception", "step-limit"])
def test_a_run_with_a_finding_leaves_nothing_behind(impl, ending):
    """step-limit parks the thread inside the line callback; it unwinds from there."""
    tools_before, trace_before = tools(), sys.gettrace()

    def raiser():
        impl.spin(2)
        raise ValueError("boom")
    scenario = {
        "check": racy(impl),
        "exception": lambda: ([raiser, lambda: impl.spin(3)], None),
        "step-limit": lambda: ([lambda: impl.spin(50), lambda: impl.spin(50)], None),
    }[ending]
    failure = explore(scenario, RandomWalk(SEED), 200, impl.__prodcon_line_files__,
                      max_steps=30 if ending == "step-limit" else 200_000,
                      granularity="opcode")
    assert failure is not None and failure.findings[0].kind == ending
    assert_nothing_left(tools_before, trace_before)
    assert explore(loops(impl), RandomWalk(SEED), 3, impl.__prodcon_line_files__) is None


def test_a_run_that_raises_frees_its_tool_id(impl):
    """A thread blocked for real: run() gives up with SchedulerError; the blocked thread
    goes on through implementation lines after the run, unswitched."""
    tools_before, trace_before = tools(), sys.gettrace()
    release = threading.Event()
    counter = impl.Counter()

    def stuck():
        counter.increment()
        release.wait(10)
        counter.increment()
    sched = Scheduler(RandomWalk(SEED), impl.__prodcon_line_files__, safety=0.2)
    with pytest.raises(SchedulerError, match="no switch point"):
        sched.run([stuck])
    assert_nothing_left(tools_before, trace_before)
    release.set()
    sched.tasks[0].real.join(5)
    assert not sched.tasks[0].real.is_alive()
    assert counter.count == 2
    assert_nothing_left(tools_before, trace_before)


# -- other threads and other runs ----------------------------------------------------

def test_an_unmanaged_thread_in_the_same_file_is_not_switched(impl):
    """A plain thread runs the implementation's code all through the runs: it is not
    switched, and the runs' traces are those of runs without it."""
    alone = traces(loops(impl), impl, "line", runs=10)
    stop, spins, wrong = threading.Event(), [], []

    def background():
        while not stop.is_set():
            if impl.spin(100) != 4950:
                wrong.append(1)
            spins.append(1)

    def scenario():
        bodies, check = loops(impl)()

        def first():
            seen = len(spins)
            deadline = time.monotonic() + 5  # real time: the test's own module
            while len(spins) < seen + 3 and time.monotonic() < deadline:
                time.sleep(0.001)
            bodies[0]()
        return [first, *bodies[1:]], check
    thread = threading.Thread(target=background, daemon=True)
    thread.start()
    try:
        together = traces(scenario, impl, "line", runs=10)
    finally:
        stop.set()
        thread.join(5)
    assert len(spins) >= 30 and not wrong
    assert together == alone


def test_concurrent_runs_see_only_their_own_lines(impl, tmp_path):
    other_path = tmp_path / "other_impl.py"
    other_path.write_text(IMPL)
    other = load(str(other_path))
    alone = [traces(loops(m), m, g, runs=15) for m, g in ((impl, "line"), (other, "opcode"))]
    results: list = [None, None]

    def runner(i, module, granularity):
        results[i] = traces(loops(module), module, granularity, runs=15)
    threads = [threading.Thread(target=runner, args=(0, impl, "line")),
               threading.Thread(target=runner, args=(1, other, "opcode"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == alone


def test_the_next_run_sees_lines_the_previous_run_ignored(impl, tmp_path):
    """A run drops (DISABLE) every code location outside its files; the next run, on
    other files, must get all of them back."""
    other_path = tmp_path / "other_impl.py"
    other_path.write_text(IMPL)
    other = load(str(other_path))

    def both():
        return [lambda: (impl.spin(3), other.spin(3))], None
    for module in (impl, other, impl):
        result, findings = run_once(both, RandomWalk(SEED), module.__prodcon_line_files__)
        assert findings == []
        first = impl.spin.__code__.co_firstlineno
        assert [s.text for s in result.trace.steps if s.text.startswith("line ")] == [
            f"line {first + n}" for n in (1, 2, 3, 2, 3, 2, 3, 2, 4)]


# -- a package: lines named with their file ------------------------------------------

@pytest.mark.parametrize("backend", ["monitoring", "settrace"])
@pytest.mark.parametrize("opcodes", [False, True])
def test_in_several_files_each_line_comes_with_its_files_name(tmp_path, monkeypatch,
                                                               backend, opcodes):
    """A line number alone would not say which of a package's modules it is in."""
    if backend == "monitoring" and not MONITORING:
        pytest.skip("sys.monitoring is 3.12+")
    monkeypatch.setattr(lines_module, "MONITORING", backend == "monitoring")
    (tmp_path / "pc_front.py").write_text("import pc_back\n\n\ndef f():\n    return pc_back.g()\n")
    (tmp_path / "pc_back.py").write_text("def g():\n    x = 1\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    front = __import__("pc_front")
    seen: list = []
    files = {str(tmp_path / "pc_front.py"), str(tmp_path / "pc_back.py")}
    switches = LineSwitches(files, opcodes, seen.append)
    switches.start()
    try:
        switches.enter_thread()
        try:
            front.f()
        finally:
            switches.leave_thread()
    finally:
        switches.stop()
        for name in ("pc_front", "pc_back"):
            sys.modules.pop(name, None)
    assert ("pc_front.py", 5) in seen and ("pc_back.py", 2) in seen, seen
    assert all(type(w) is tuple and w[0] in ("pc_front.py", "pc_back.py") for w in seen), seen


def test_a_named_line_reads_with_its_file_and_one_file_reads_as_before():
    from prodcon.controlled.lines import file_names
    from prodcon.controlled.trace import _line
    assert _line(12) == "line 12" and _line(None) == "line None"
    assert _line(("core.py", 12)) == "line core.py:12" and _line(("core.py", None)) == \
        "line None"
    import queue

    import pytest as installed

    from prodcon.errors import standard_library_file
    assert standard_library_file(queue.__file__) and not standard_library_file(__file__)
    assert not standard_library_file(installed.__file__)  # site-packages is not it
    assert file_names(["/x/a/core.py", "/x/a/store.py"]) == {"/x/a/core.py": "core.py",
                                                             "/x/a/store.py": "store.py"}
    assert file_names(["/x/c/__init__.py", "/x/d/__init__.py"]) == {
        "/x/c/__init__.py": "c/__init__.py", "/x/d/__init__.py": "d/__init__.py"}
