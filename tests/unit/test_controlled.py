"""The controlled scheduler finds the races a stress test under the GIL misses.

Every buggy queue below is written without a sleep in its race window: under
free-running threads each passes almost always. Under controlled schedules each
is caught within a fixed number of schedules of a fixed seed, and the same seed
gives the same trace, byte for byte.
"""

from __future__ import annotations

import os
import queue
import threading
import time

import pytest

from prodcon.controlled import (
    PCT,
    Exhaustive,
    RandomWalk,
    Replay,
    Scheduler,
    explore,
    load,
    managed_queue,
    note,
    replay,
    run_once,
)

SEED = 20261128

HEADER = """\
import os
import queue
import threading
from collections import deque
"""

CORRECT = HEADER + """
class Queue:
    def __init__(self, maxsize=0):
        self.items = deque()
        self.maxsize = maxsize
        self.lock = threading.Lock()
        self.not_empty = threading.Condition(self.lock)
        self.not_full = threading.Condition(self.lock)
        self.all_done = threading.Condition(self.lock)
        self.unfinished = 0

    def put(self, item):
        with self.lock:
            while self.maxsize and len(self.items) >= self.maxsize:
                self.not_full.wait()
            self.items.append(item)
            self.unfinished += 1
            self.not_empty.notify()

    def get(self, timeout=None):
        with self.lock:
            if not self.not_empty.wait_for(lambda: self.items, timeout):
                raise queue.Empty
            item = self.items.popleft()
            self.not_full.notify()
            return item

    def task_done(self):
        with self.lock:
            self.unfinished -= 1
            if self.unfinished == 0:
                self.all_done.notify_all()

    def join(self):
        with self.lock:
            while self.unfinished:
                self.all_done.wait()
"""

# each bug: (name, text to replace in CORRECT, its replacement)
BUGS = {
    "counter outside the lock": ("""\
        with self.lock:
            while self.maxsize and len(self.items) >= self.maxsize:
                self.not_full.wait()
            self.items.append(item)
            self.unfinished += 1
""", """\
        self.unfinished += 1
        with self.lock:
            while self.maxsize and len(self.items) >= self.maxsize:
                self.not_full.wait()
            self.items.append(item)
"""),
    "popleft after release": ("""\
            item = self.items.popleft()
            self.not_full.notify()
            return item
""", """\
            self.not_full.notify()
        return self.items.popleft()
"""),
    "one condition, notify()": ("""\
        self.not_empty = threading.Condition(self.lock)
        self.not_full = threading.Condition(self.lock)
""", """\
        self.not_empty = self.not_full = threading.Condition(self.lock)
"""),
    "if instead of while": ("""\
            if not self.not_empty.wait_for(lambda: self.items, timeout):
                raise queue.Empty
""", """\
            if not self.items:
                self.not_empty.wait(timeout)
"""),
    "timed get waits once": ("""\
            if not self.not_empty.wait_for(lambda: self.items, timeout):
                raise queue.Empty
""", """\
            if not self.items:
                self.not_empty.wait(timeout)
                if not self.items:
                    raise queue.Empty
"""),
}


def write(tmp_path, name: str, source: str):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return load(str(path))


def buggy(tmp_path, bug: str):
    old, new = BUGS[bug]
    assert old in CORRECT
    return write(tmp_path, "impl_" + bug.replace(" ", "_").replace(",", "").replace("()", ""),
                 CORRECT.replace(old, new))


# -- scenarios: factories of (thread bodies, final check) -----------------------------

def counter_scenario(module):
    def scenario():
        q = module.Queue()

        def producer(i):
            def body():
                note(f"put({i})")
                q.put(i)
            return body

        def consumer():
            for _ in range(2):
                note("get()")
                q.get()
                note("task_done()")
                q.task_done()
            note("join()")
            q.join()

        def check():
            assert q.unfinished == 0, f"unfinished is {q.unfinished} after 2 put/task_done"
        return [producer(0), producer(1), consumer], check
    return scenario


def producers_consumers(module, producers=1, items_each=2, consumers=2, maxsize=0):
    """Producer p puts items_each numbers from p * items_each; the consumers share
    the gets evenly. Every number must be got once."""
    total = producers * items_each

    def scenario():
        q = module.Queue(maxsize)
        got: list = []

        def producer(p):
            def body():
                for i in range(p * items_each, (p + 1) * items_each):
                    note(f"put({i})")
                    q.put(i)
            return body

        def consumer():
            for _ in range(total // consumers):
                note("get()")
                got.append(q.get())

        def check():
            assert sorted(got) == list(range(total)), f"consumers got {got}"
        return [producer(p) for p in range(producers)] + [consumer] * consumers, check
    return scenario


def two_consumers(module):
    """One producer, two consumers, an unbounded queue."""
    return producers_consumers(module)


def shared_condition(module):
    """Two producers and two consumers on a queue of one slot: a notify() that wakes
    a waiter of the wrong kind leaves them all waiting."""
    return producers_consumers(module, producers=2, consumers=2, maxsize=1)


def one_to_one(module):
    def scenario():
        q = module.Queue()
        got: list = []

        def consumer():
            got.append(q.get())

        def check():
            assert got == [1], f"the consumer got {got}"
        return [lambda: q.put(1), consumer], check
    return scenario


def timed_getters(module):
    """Two getters with get(timeout=5), items put at t=0 and t=1 or later.

    A timeout may fire at any point after its deadline (real time can pass during
    any step), so a getter may rightly end empty-handed; what no schedule allows is
    Empty before the getter's five seconds are over.
    """
    def scenario():
        q = module.Queue()
        got: list = []

        def producer():
            note("put(1)")
            q.put(1)
            module.threading.Event().wait(1)  # one virtual second later, at least
            note("put(2)")
            q.put(2)

        def getter():
            start = module.time_now()
            note("get(timeout=5)")
            try:
                got.append(q.get(timeout=5))
            except queue.Empty:
                waited = module.time_now() - start
                if waited < 5:
                    raise AssertionError(f"Empty after {waited:g} virtual seconds of a "
                                         "5 s timeout") from None

        def check():
            assert len(got) == len(set(got)) and set(got) <= {1, 2}, f"getters got {got}"
        return [producer, getter, getter], check
    return scenario


def with_clock(module):
    module.time_now = load_time_facade(module)
    return module


def load_time_facade(module):
    return module.__prodcon_facades__.get("time").monotonic


def find(scenario, module, runs=200, strategy=None, granularity="line"):
    strategy = strategy or RandomWalk(SEED)
    return explore(scenario, strategy, runs, module.__prodcon_line_files__,
                   granularity=granularity)


# -- the five bugs -------------------------------------------------------------------

CASES = {
    "counter outside the lock": (counter_scenario, "opcode"),
    "popleft after release": (two_consumers, "line"),
    "one condition, notify()": (shared_condition, "line"),
    "if instead of while": (two_consumers, "line"),
    "timed get waits once": (timed_getters, "line"),
}


@pytest.mark.parametrize("bug", list(CASES))
def test_bug_is_found_and_replayed_exactly(tmp_path, bug):
    make, granularity = CASES[bug]
    module = with_clock(buggy(tmp_path, bug))
    first = find(make(module), module, granularity=granularity)
    assert first is not None, f"{bug}: not found in 200 schedules"
    again = find(make(module), module, granularity=granularity)
    assert again is not None and again.report() == first.report()
    replayed = replay(make(module), first.schedule, module.__prodcon_line_files__,
                      granularity=granularity)
    assert replayed is not None
    assert replayed.trace.format() == first.trace.format()
    print(f"{bug}: found in schedule {first.run + 1}\n{first.report()}")


def test_shared_condition_is_reported_as_a_deadlock(tmp_path):
    module = buggy(tmp_path, "one condition, notify()")
    failure = find(shared_condition(module), module)
    assert failure is not None
    kinds = {f.kind for f in failure.findings}
    assert kinds == {"deadlock"}, failure.report()
    text = failure.report()
    assert "blocked in wait on Condition#1" in text
    assert failure.trace.steps[-1].mark, "the step that completed the deadlock is marked"


def test_pct_finds_popleft_after_release_and_states_its_bound(tmp_path):
    module = buggy(tmp_path, "popleft after release")
    strategy = PCT(SEED, depth=3, steps_estimate=32)  # a run of this scenario: 32 steps
    failure = find(two_consumers(module), module, runs=300, strategy=strategy)
    assert failure is not None
    assert "probability >= 1/(3*32^2)" in strategy.describe()
    assert failure.strategy.startswith("PCT(seed=20261128, depth=3, k=32)")


# -- correct queues pass -------------------------------------------------------------

@pytest.fixture(scope="module")
def stdlib_queue():
    return managed_queue()


def correct_modules(tmp_path, stdlib_queue):
    ours = with_clock(write(tmp_path, "correct", CORRECT))
    stdlib_queue.__prodcon_line_files__ = frozenset()
    stdlib_queue.__prodcon_facades__ = ours.__prodcon_facades__
    stdlib_queue.time_now = ours.time_now
    return {"queue.Queue": stdlib_queue, "two conditions": ours}


@pytest.mark.parametrize("which", ["queue.Queue", "two conditions"])
def test_correct_queues_pass_every_schedule(tmp_path, stdlib_queue, which):
    module = correct_modules(tmp_path, stdlib_queue)[which]
    for make, granularity in CASES.values():
        if make is counter_scenario and which == "queue.Queue":
            continue  # queue.Queue has no `unfinished`: its own join() is tested below
        failure = find(make(module), module, runs=60, granularity=granularity)
        assert failure is None, failure.report()
    assert find(producers_consumers(module, items_each=4, maxsize=1), module, runs=60) is None
    # every schedule with <= 2 preemptions between synchronization calls ...
    strategy = Exhaustive(2)
    assert explore(two_consumers(module), strategy, runs=5000) is None
    assert strategy.exhausted
    # ... and with <= 3 preemptions between lines, for one put and one get
    strategy = Exhaustive(3)
    assert find(one_to_one(module), module, runs=5000, strategy=strategy) is None
    assert strategy.exhausted


def test_stdlib_join_waits_for_task_done(stdlib_queue):
    def scenario():
        q = stdlib_queue.Queue()
        done: list = []

        def worker():
            for _ in range(2):
                q.get()
                done.append(1)
                q.task_done()

        def joiner():
            for i in range(2):
                q.put(i)
            q.join()
            assert len(done) == 2, "join returned before both task_done calls"
        return [worker, joiner], None
    assert explore(scenario, RandomWalk(SEED), 300) is None
    assert explore(scenario, Exhaustive(3), 5000) is None


# -- virtual time --------------------------------------------------------------------

def test_timed_get_on_empty_queue_costs_virtual_time_only(stdlib_queue):
    clock = stdlib_queue.time  # queue.py's `from time import monotonic as time`
    seen: dict = {}

    def scenario():
        q = stdlib_queue.Queue()

        def getter():
            start = clock()
            with pytest.raises(queue.Empty):
                q.get(timeout=10)
            seen["elapsed"] = clock() - start
        return [getter], None
    real = time.perf_counter()
    result, findings = run_once(scenario, RandomWalk(SEED))
    assert findings == []
    assert seen["elapsed"] == 10.0
    assert result.clock == 10.0
    assert time.perf_counter() - real < 1.0


@pytest.mark.parametrize("seed", range(20))
def test_sleeps_and_timeouts_last_exactly_their_time(seed):
    """A sleep or a timed wait lasts at least its time (the strategy may run others
    first once it is over, as an OS may), and a lock that stays held fails a timed
    acquire."""
    from prodcon.controlled import primitives as p

    log: list = []

    def sleeper(seconds):
        def body():
            start = p.monotonic()
            p.sleep(seconds)
            log.append((seconds, p.monotonic() - start))
        return body

    def locker():
        lock = p.Lock()
        lock.acquire()
        start = p.monotonic()
        log.append(("timed acquire", lock.acquire(timeout=2.5), p.monotonic() - start))
        log.append(("non-blocking", lock.acquire(blocking=False)))
    result = Scheduler(RandomWalk(seed)).run([sleeper(3), sleeper(1), locker])
    assert result.findings == []
    waited = {entry[0]: entry[1:] for entry in log}
    assert waited["non-blocking"] == (False,)
    assert waited["timed acquire"][0] is False and waited["timed acquire"][1] >= 2.5
    assert waited[1][0] >= 1 and waited[3][0] >= 3
    assert result.clock >= 3.0


# -- exact semantics of the managed primitives ---------------------------------------

def test_notify_one_wakes_exactly_one_waiter_in_fifo_order():
    from prodcon.controlled import primitives as p

    def scenario():
        cond = p.Condition(p.Lock())
        entered: list = []
        woke: list = []

        def waiter(i):
            def body():
                with cond:
                    entered.append(i)
                    cond.wait()
                    woke.append(i)
            return body

        def notifier():
            while True:
                with cond:
                    if len(entered) == 3:
                        break
                p.sleep(0.1)
            for n in range(1, 4):
                with cond:
                    cond.notify(1)
                    assert len(cond._waiters) == 3 - n, "notify(1) woke more than one"
                while len(woke) < n:
                    p.sleep(0.1)
                assert woke == entered[:n], f"after {n} notify(1): woke {woke} of {entered}"
        return [waiter(0), waiter(1), waiter(2), notifier], None
    assert explore(scenario, RandomWalk(SEED), 100) is None


def test_rlock_counts_and_belongs_to_its_owner():
    from prodcon.controlled import primitives as p

    log: list = []

    def scenario():
        lock = p.RLock()
        held = p.Event()

        def owner():
            lock.acquire()
            lock.acquire()
            lock.release()
            log.append(("still owned", lock._is_owned()))
            held.set()
            p.sleep(1)
            lock.release()

        def other():
            held.wait()
            with pytest.raises(RuntimeError, match="un-acquired"):
                lock.release()
            log.append(("other acquires at", lock.acquire() and p.monotonic()))
            lock.release()
        return [owner, other], None
    assert explore(scenario, RandomWalk(SEED), 20) is None
    assert log[-2][0] == "still owned" and log[-2][1] is True
    assert log[-1][0] == "other acquires at" and log[-1][1] >= 1.0


def test_misuse_raises_what_cpython_raises():
    from prodcon.controlled import primitives as p

    with pytest.raises(RuntimeError, match="release unlocked lock"):
        p.Lock().release()
    with pytest.raises(RuntimeError, match="un-acquired"):
        p.Condition().wait()
    with pytest.raises(RuntimeError, match="un-acquired"):
        p.Condition(p.Lock()).notify()
    with pytest.raises(ValueError):
        p.Lock().acquire(False, 1)
    with pytest.raises(ValueError, match="too many"):
        p.BoundedSemaphore(1).release()
    for real, managed in ((threading.Lock(), p.Lock()), (threading.RLock(), p.RLock())):
        assert real.acquire(False) is managed.acquire(False) is True
        real.release()
        managed.release()


def test_semaphore_and_event():
    from prodcon.controlled import primitives as p

    def scenario():
        sem = p.Semaphore(1)
        event = p.Event()
        inside: list = []

        def user():
            with sem:
                inside.append(1)
                assert len(inside) == 1, "two threads inside a Semaphore(1)"
                inside.pop()
            event.wait()

        def setter():
            assert not event.wait(timeout=2)
            event.set()
        return [user, user, setter], None
    assert explore(scenario, RandomWalk(SEED), 100) is None


# -- deadlocks -----------------------------------------------------------------------

def test_deadlock_is_reported_and_leaves_no_thread_behind():
    from prodcon.controlled import primitives as p

    before = threading.active_count()

    def scenario():
        a, b = p.Lock(), p.Lock()

        def forward():
            with a, b:
                pass

        def backward():
            with b, a:
                pass
        return [forward, backward], None
    failure = explore(scenario, RandomWalk(SEED), 200)
    assert failure is not None
    text = failure.report()
    assert "deadlock" in text
    assert "T0 blocked in acquire Lock#" in text and "T1 blocked in acquire Lock#" in text
    assert "held by T0" in text and "held by T1" in text
    assert threading.active_count() == before
    assert explore(scenario, Exhaustive(1), 100) is not None
    assert threading.active_count() == before


def test_replay_of_a_passing_schedule_is_exact():
    from prodcon.controlled import primitives as p

    def scenario():
        lock = p.Lock()

        def body():
            for _ in range(3):
                with lock:
                    note("inside")
        return [body, body, body], None
    first = Scheduler(RandomWalk(7))
    first.strategy.begin_run()
    one = first.run(scenario()[0])
    two = Scheduler(Replay(one.schedule))
    two.strategy.begin_run()
    assert two.run(scenario()[0]).trace.format() == one.trace.format()


def test_managed_thread_start_join_and_current_thread():
    from prodcon.controlled import primitives as p

    log: list = []

    def scenario():
        def child():
            log.append(p.current_thread().name)
            p.sleep(3)

        def parent():
            worker = p.Thread(target=child, name="child")
            worker.start()
            worker.join(timeout=1)
            log.append((worker.is_alive(), p.monotonic()))
            worker.join()
            log.append((worker.is_alive(), p.monotonic(), p.current_thread().name))
        return [parent], None
    assert explore(scenario, RandomWalk(SEED), 10) is None
    child, first, second = log[-3:]
    assert child == "child"
    assert first[1] >= 1.0, "join(timeout=1) returned early"
    assert second[0] is False and second[1] >= 3.0 and second[2] == "T0"


def test_a_run_without_threads_is_a_usage_error():
    with pytest.raises(ValueError, match="at least one thread"):
        Scheduler(RandomWalk(1)).run([])


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="pinning needs Linux and two cores")
def test_a_runs_threads_share_one_core_and_its_starter_keeps_them_all():
    """one_core.py: every thread of a run, those it starts included, on one core (the
    turns are cheaper there); the thread that ran it, and so the free-running tests
    after it, still on every core it had."""
    from prodcon.controlled import primitives as p

    cores: list = []
    before = os.sched_getaffinity(0)

    def scenario():
        def child():
            cores.append(os.sched_getaffinity(0))

        def parent():
            cores.append(os.sched_getaffinity(0))
            worker = p.Thread(target=child)
            worker.start()
            worker.join()
        return [parent, parent], None
    assert explore(scenario, RandomWalk(SEED), 3) is None
    assert len(cores) == 12 and all(len(seen) == 1 for seen in cores), cores
    assert os.sched_getaffinity(0) == before
