"""The lockset pass names the field a race is on, and only such a field.

What it claims, precisely: after a controlled schedule failed, its shrunk schedule is
run once more, watched; a field is listed when two threads accessed it, one at least
writing, in some pair of accesses whose held locks have none in common. So a field
every thread touches under one lock is never listed, nor one that threads only read
(set up before they started); an unlocked read of a field other threads write under a
lock *is* listed (Eraser cannot tell a harmless peek from a racy one), but after every
field that two threads wrote, and only in a report that a broken property already
fails: a passing run is never watched.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import asdict

import pytest

from conftest import REPO, ZOO
from prodcon.controlled import load, lockset
from prodcon.controlled.explore import explore, note
from prodcon.controlled.minimize import Guided
from prodcon.controlled.queue_exploration import QueuePlan, explore_queue
from prodcon.controlled.scheduler import Scheduler
from prodcon.controlled.strategies import PCT, RandomWalk
from prodcon.errors import KitError

SEED = 20261128

#: Correct but for task_done(), which decrements outside the lock; with two harmless
#: looks at fields with no lock: maxsize (never written once threads run), and
#: `_waiting` in put() (a hint, checked again under the lock by the Condition's notify).
PEEKS_AND_A_LOST_UPDATE = """\
import threading
from collections import deque
from queue import Empty, Full


class Queue:
    def __init__(self, maxsize=0):
        self.maxsize = maxsize
        self._items = deque()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._all_done = threading.Condition(self._lock)
        self._waiting = 0
        self._unfinished = 0

    def put(self, item, block=True, timeout=None):
        if self.maxsize > 0:  # LINE-MAXSIZE
            raise NotImplementedError("unbounded only")
        with self._lock:
            self._items.append(item)  # LINE-APPEND
            self._unfinished += 1  # LINE-PUT-COUNT
        if self._waiting:  # LINE-PEEK
            with self._lock:
                self._not_empty.notify()

    def get(self, block=True, timeout=None):
        with self._lock:
            while not self._items:
                if not block:
                    raise Empty
                self._waiting += 1  # LINE-WAITING
                self._not_empty.wait()
                self._waiting -= 1
            return self._items.popleft()

    def put_nowait(self, item):
        return self.put(item, block=False)

    def get_nowait(self):
        return self.get(block=False)

    def task_done(self):
        with self._lock:
            if self._unfinished <= 0:
                raise ValueError("task_done() called too many times")
        self._unfinished -= 1  # LINE-BUG
        with self._lock:
            if self._unfinished == 0:
                self._all_done.notify_all()

    def join(self):
        with self._lock:
            while self._unfinished:
                self._all_done.wait()
"""


def line_of(source: str, tag: str) -> int:
    return next(i for i, text in enumerate(source.splitlines(), 1) if f"# {tag}" in text)


def imported(tmp_path, monkeypatch, name: str, source: str):
    """`source` as the kit imports an implementation: a module of its own name."""
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def explored(module, plan: QueuePlan, seed: int = SEED, schedules: int = 150) -> dict:
    return json.loads(explore_queue(module, json.dumps(asdict(plan)), seed, schedules))


def section(trace: str) -> str:
    return trace[trace.index(lockset.HEADING):] if lockset.HEADING in trace else ""


def watched(module, bodies, strategy, granularity="opcode"):
    """One run of `bodies(queue)` on a new queue of `module`, watched: the observer."""
    queue = module.Queue()
    observer = lockset.Observer(queue, module.__prodcon_line_files__)
    strategy.begin_run()
    Scheduler(strategy, line_files=module.__prodcon_line_files__, granularity=granularity,
              observer=observer.observe).run(*bodies(queue))
    assert observer.error is None, observer.error
    return observer


def workers(producers: int, consumers: int, items: int = 1, peek=None):
    """Bodies and names: consumers first (they wait), then producers; each consumer
    marks its items done; `peek(q)` is called by each consumer before it gets."""
    def bodies(q):
        def consumer():
            for _ in range(producers * items // consumers):
                if peek is not None:
                    peek(q)
                note("get()")
                q.get()
                q.task_done()

        def producer(p):
            def body():
                for i in range(items):
                    note(f"put({p}, {i})")
                    q.put((p, i))
            return body
        return ([consumer] * consumers + [producer(p) for p in range(producers)],
                [f"c{i}" for i in range(consumers)] + [f"p{p}" for p in range(producers)])
    return bodies


# -- what a line reads and writes ---------------------------------------------------------

def test_a_line_names_its_reads_its_writes_and_the_containers_it_changes():
    table = lockset.line_accesses(
        "def f(self, q, x):\n"
        "    self.a = self.b\n"                     # 2
        "    self.n += 1\n"                         # 3
        "    self._items.append(x)\n"               # 4
        "    self._items[0] = x\n"                  # 5
        "    heapq.heappush(self._heap, x)\n"       # 6
        "    q._ring.head = len(q._ring.slots)\n"   # 7
        "    del self.c\n"                          # 8
        "    self._items.count(x)\n")               # 9
    assert set(table[2]) == {(("self",), "a", True), (("self",), "b", False)}
    assert set(table[3]) == {(("self",), "n", True), (("self",), "n", False)}
    assert (("self",), "_items", True) in table[4]
    assert (("self",), "_items", True) in table[5]
    assert (("self",), "_heap", True) in table[6]
    assert set(table[7]) >= {(("q", "_ring"), "head", True), (("q", "_ring"), "slots", False),
                             (("q",), "_ring", False)}
    assert (("self",), "c", True) in table[8]
    assert (("self",), "_items", True) not in table[9]  # count() changes nothing


# -- correct queues: nothing to name ----------------------------------------------------

@pytest.mark.parametrize("path", [REPO / "reference" / "bounded_queue.py",
                                  ZOO / "correct" / "two_conditions.py",
                                  ZOO / "correct" / "semaphore_deque.py",
                                  ZOO / "correct" / "polling.py"],
                         ids=lambda p: p.stem)
def test_a_correct_queue_has_no_field_without_a_common_lock(path):
    module = load(str(path))
    for seed in range(SEED, SEED + 5):
        observer = watched(module, workers(2, 2, items=2), RandomWalk(seed))
        fields = {access.field for access in observer.accesses if access.write}
        assert len({a.thread for a in observer.accesses}) == 4  # every thread was watched
        assert fields, "the run wrote fields: the observer saw them"
        assert observer.conflicts() == [], [str(c) for c in observer.conflicts()]


def test_the_references_waiter_check_holds_the_lock():
    """The reference checks for waiters (`if self._getters:`) with its lock held: each
    thread reads and writes that line of waiters under Lock#1."""
    module = load(str(REPO / "reference" / "bounded_queue.py"))
    observer = watched(module, workers(2, 2), Guided({}))
    getters = [a for a in observer.accesses if a.field == "self._getters"]
    # consumers join the line (`line.append(me)`, through a name), producers wake them
    assert {a.thread for a in getters if a.write} == {"c0", "c1", "p0", "p1"}, getters
    # a waiter also holds its own lock (`me`) while it joins the line
    assert all(a.locks[0] == "Lock#1" for a in getters), getters


# -- a broken queue: the racy field, first; the harmless reads -----------------------------

def test_an_unlocked_read_of_a_locked_field_is_listed_after_the_lost_update(tmp_path):
    """One run, the default schedule: both consumers wait, then the producers put. The
    lost update's field comes first (two threads wrote it with no lock in common);
    the unlocked peek at `_waiting` is listed after it, as a read against a write under
    Lock#1; maxsize (read with no lock, never written) and the items (always under
    Lock#1) are not listed."""
    module = load(str(_write(tmp_path, "peeks", PEEKS_AND_A_LOST_UPDATE)))
    observer = watched(module, workers(2, 2, peek=lambda q: q._waiting), Guided({}))
    found = observer.conflicts()
    fields = [c.field for c in found]
    assert fields[0] == "self._unfinished" and found[0].both_write, fields
    assert "self.maxsize" not in fields and "self._items" not in fields
    assert {a.thread for a in observer.accesses if a.field == "self.maxsize"} == {"p0", "p1"}
    peek = found[fields.index("self._waiting")]
    assert not peek.both_write
    reads = [a for a in (peek.first, peek.second) if not a.write]
    writes = [a for a in (peek.first, peek.second) if a.write]
    assert reads[0].locks == () and writes[0].locks == ("Lock#1",)
    assert reads[0].line == line_of(PEEKS_AND_A_LOST_UPDATE, "LINE-PEEK")
    assert writes[0].line == line_of(PEEKS_AND_A_LOST_UPDATE, "LINE-WAITING")


def test_a_failing_schedule_names_the_racy_field_and_blames_no_harmless_read(
        tmp_path, monkeypatch):
    module = imported(tmp_path, monkeypatch, "peeks_and_a_lost_update",
                      PEEKS_AND_A_LOST_UPDATE)
    found = explored(module, QueuePlan(2, 2, 0, 1, "blocking"))
    assert found["failed_at"] is not None, found
    text = section(found["trace"])
    bug = line_of(PEEKS_AND_A_LOST_UPDATE, "LINE-BUG")
    assert text.splitlines()[1].startswith("  `self._unfinished`: written by "), text
    assert f"at line {bug} holding no lock" in text.splitlines()[1]
    assert f"peeks_and_a_lost_update.py:{bug}  self._unfinished -= 1" in text
    assert "self.maxsize" not in text and "self._items" not in text
    # the same seed, the same section, byte for byte
    assert explored(module, QueuePlan(2, 2, 0, 1, "blocking"))["trace"] == found["trace"]


@pytest.mark.parametrize(("name", "field", "written"), [
    ("races/counter_outside_lock", "self._unfinished", "self._unfinished += 1"),
    ("races/pop_after_release", "self._items", "item = self._items.popleft()"),
    ("broken/unlocked_done_counter", "self._done", "self._done = done + 1"),
])
def test_a_zoo_race_is_shown_with_its_field_and_both_lines(tmp_path, monkeypatch, name, field,
                                                          written):
    path = ZOO / f"{name}.py"
    module = imported(tmp_path, monkeypatch, f"zoo_{path.stem}", path.read_text())
    found = explored(module, QueuePlan(2, 2, 1, 2, "blocking"))
    assert found["failed_at"] is not None, found
    text = section(found["trace"])
    first = text.splitlines()[1]
    assert first.startswith(f"  `{field}`: "), text
    assert first.count(" at line ") == 2 and "holding no lock" in first, text
    assert written in text


@pytest.mark.parametrize("name", ["if_not_while", "shared_condition_notify"])
def test_a_failure_in_a_correctly_locked_queue_lists_no_field(tmp_path, monkeypatch, name):
    path = ZOO / "broken" / f"{name}.py"
    module = imported(tmp_path, monkeypatch, f"zoo_{name}", path.read_text())
    found = explored(module, QueuePlan(2, 2, 1, 2, "blocking"))
    assert found["failed_at"] is not None, found
    assert lockset.HEADING not in found["trace"]


def test_a_passing_exploration_is_never_watched(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a passing run was watched")
    monkeypatch.setattr(lockset, "Observer", refuse)
    from prodcon.reference import bounded_queue
    found = explored(bounded_queue, QueuePlan(2, 2, 1, 2, "blocking"), schedules=20)
    assert found["failed_at"] is None and not found["kit_error"], found


# -- what "held" means --------------------------------------------------------------------

GUARDED = """\
import threading
from collections import deque


class Item:
    def __init__(self):
        self.count = 0


class Queue:
    def __init__(self, maxsize=0):
        self._guard = threading.GUARD
        self._items = deque()
        self._stats = Item()

    def put(self, item):
        with self._guard:
            with self._guard if REENTER else NOTHING:
                self._items.append(item)
            self._stats.count += 1

    def get(self):
        while True:
            with self._guard:
                if self._items:
                    return self._items.popleft()
            threading.Event().wait(0.01)

    def task_done(self):
        pass
"""


def _write(tmp_path, name: str, source: str):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


@pytest.mark.parametrize(("guard", "reenter", "guarded"), [
    ("Lock()", False, True),
    ("RLock()", True, True),
    ("Semaphore(1)", False, True),  # a binary semaphore, used as a mutex
    ("BoundedSemaphore(1)", False, True),
    ("Semaphore(2)", False, False),  # lets two threads in: guards nothing
])
def test_locks_rlocks_and_binary_semaphores_guard_counting_semaphores_do_not(
        tmp_path, guard, reenter, guarded):
    source = (GUARDED.replace("GUARD", guard).replace("REENTER", str(reenter))
              .replace("NOTHING", "__import__('contextlib').nullcontext()"))
    module = load(str(_write(tmp_path, "guarded", source)))
    observer = watched(module, workers(2, 2), RandomWalk(SEED))
    found = {c.field: c for c in observer.conflicts()}
    if guarded:
        assert found == {}, found
        held = {a.locks for a in observer.accesses if a.field == "self._stats.count"}
        assert len(held) == 1 and len(next(iter(held))) == 1, held
        if "Semaphore" in guard:
            assert next(iter(held))[0] == "Semaphore#1"
    else:
        # the helper object's field is the queue's too: named through the queue
        assert set(found) >= {"self._items", "self._stats.count"}, found


def test_the_threads_that_run_on_after_the_failure_are_watched_and_say_so():
    """One put, one get and task_done(), the counter raised outside the lock: a
    schedule fails when task_done() finds nothing to mark done, before the producer
    counted its item. The write that read raced with comes after the failure, in the
    run the observed replay lets go on, and is shown as such."""
    module = load(str(ZOO / "races" / "counter_outside_lock.py"))
    files = module.__prodcon_line_files__

    def make():
        q = module.Queue()
        return q, [lambda: q.put(1), lambda: (q.get(), q.task_done())]
    # PCT: the consumer must run its whole get() and task_done() in the producer's window.
    # Lines, not opcodes: a line's accesses are noted as it starts, and with opcodes the
    # producer may start the line before the failure and write after it.
    failure = explore(lambda: (make()[1], None), PCT(SEED, depth=2, steps_estimate=40), 500,
                      files, granularity="line")
    assert failure is not None and "ValueError" in failure.report()
    queue, bodies = make()
    found = lockset.observe_replay(queue, bodies, ["p0", "c0"], failure.schedule, files,
                                   1_000, "line")
    assert [c.field for c in found] == ["self._unfinished"], found
    read, write = sorted((found[0].first, found[0].second), key=lambda a: a.write)
    assert (read.thread, read.locks, read.after) == ("c0", ("Lock#1",), False)
    assert (write.thread, write.locks, write.after) == ("p0", (), True)
    assert write.describe().endswith(
        "holding no lock (after the failure, as the other threads ran on)")


def test_an_observer_that_fails_is_the_kits_error_never_the_implementations(monkeypatch):
    def broken(self, *args):
        raise LookupError("the observer's own bug")
    monkeypatch.setattr(lockset.Observer, "_observe", broken)
    module = load(str(ZOO / "races" / "counter_outside_lock.py"))
    queue = module.Queue()
    with pytest.raises(KitError, match="lockset pass") as caught:
        lockset.observe_replay(queue, [lambda: queue.put(1)], ["p0"], [],
                               module.__prodcon_line_files__, 100, "line")
    assert "LookupError: the observer's own bug" in caught.value.trace
    assert queue._unfinished == 1, "the implementation ran on, untouched"


def test_a_field_pass_that_fails_leaves_the_verdict_as_it_was(tmp_path, monkeypatch):
    path = ZOO / "races" / "counter_outside_lock.py"
    module = imported(tmp_path, monkeypatch, "zoo_counter_outside_lock", path.read_text())
    plan = QueuePlan(2, 2, 1, 2, "blocking")
    found = explored(module, plan)

    def broken(*args, **kwargs):
        raise KitError("watching the shown schedule (the lockset pass)", "a trace")
    monkeypatch.setattr(lockset, "observe_replay", broken)
    again = explored(module, plan)
    assert again["props"] == found["props"] and again["message"] == found["message"]
    assert not again["kit_error"], again
    assert "not shown: the kit failed while watching" in section(again["trace"])


def test_the_section_shows_a_handful_with_their_lines_and_unambiguous_files(tmp_path):
    files = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "queue.py"
        path.write_text("x = 1\nself.n += 1\n")
        files.append(str(path))

    def access(thread, write, file, locks=()):
        return lockset.Access("self.n", thread, write, file, 2, locks)
    found = [lockset.Conflict(f"self.f{i}", access("p0", True, files[0]),
                              access("c0", False, files[1], ("Lock#1",)))
             for i in range(7)]
    text = lockset.section(found, files)
    lines = text.splitlines()
    assert lines[:3] == ["", "", f"{lockset.HEADING}:"]
    assert lines[3] == ("  `self.f0`: written by p0 at line 2 holding no lock, "
                        "read by c0 at line 2 holding Lock#1")
    assert lines[4:6] == ["      a/queue.py:2  self.n += 1", "      b/queue.py:2  self.n += 1"]
    assert sum(line.startswith("  `") for line in lines) == lockset.SHOWN
    assert "  ... and 2 more fields" in lines
    assert lockset.section([], files) == ""
