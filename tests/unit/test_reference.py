"""Unit tests of the reference implementation and sanity checks of the correct zoo.

Timing is one-sided throughout: a call that must time out is only checked not to
return early; a call that must succeed gets a 10 s ceiling. Every thread started
here is joined with a ceiling, so a broken queue fails a test instead of hanging it.
"""

import importlib.util
import queue
import random
import sys
import threading
import time
from collections import deque
from pathlib import Path

import pytest

from prodcon import reference
from prodcon.reference import SENTINEL, Empty, Full, Queue, ShutDown, run_pipeline

LONG = 10.0  # ceiling for anything that must happen
SHORT = 0.1  # how long a call must stay blocked to count as blocked
EPSILON = 1e-6  # float rounding of monotonic() differences; far below any real bug
ZOO = Path(__file__).parents[1] / "zoo" / "correct"
HAS_STDLIB_SHUTDOWN = sys.version_info >= (3, 13)


class Call(threading.Thread):
    """Run fn(*args) in a daemon thread; outcome() re-raises its exception here."""

    def __init__(self, fn, *args, **kwargs):
        super().__init__(daemon=True)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.result = self.error = None
        self.start()

    def run(self):
        self.started_at = time.monotonic()
        try:
            self.result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:
            self.error = exc
        self.took = time.monotonic() - self.started_at

    def outcome(self, timeout=LONG):
        self.join(timeout)
        assert not self.is_alive(), f"{self.fn.__name__} still blocked after {timeout}s"
        if self.error is not None:
            raise self.error
        return self.result

    def assert_blocked(self):
        self.join(SHORT)
        assert self.is_alive(), f"{self.fn.__name__} returned instead of blocking"


def load_zoo(name):
    """Import tests/zoo/correct/NAME.py by path, as the kit loads a student file (its
    folder on sys.path, so that an adapter finds the library beside it)."""
    path = ZOO / f"{name}.py"
    if str(ZOO) not in sys.path:
        sys.path.append(str(ZOO))
    spec = importlib.util.spec_from_file_location(f"prodcon_zoo_correct_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def elapsed_since(start):
    return time.monotonic() - start


class Odd:
    """An item whose comparison, hashing and truth value all raise."""

    def __eq__(self, other):
        raise AssertionError("an item was compared")

    __ne__ = __lt__ = __eq__

    def __hash__(self):
        raise AssertionError("an item was hashed")

    def __bool__(self):
        raise AssertionError("an item was truth-tested")

    def __len__(self):
        raise AssertionError("an item's length was taken")


class EqualsAll:
    """An item equal to everything, the sentinel None included."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


# ---------------------------------------------------------------- the Queue class


def test_exceptions_are_the_stdlib_ones():
    assert Full is queue.Full and Empty is queue.Empty
    assert issubclass(ShutDown, Exception)
    if HAS_STDLIB_SHUTDOWN:
        assert ShutDown is queue.ShutDown


def test_package_exports():
    assert reference.__version__ == "0.1.0"
    assert set(reference.__all__) == {
        "Queue",
        "Full",
        "Empty",
        "ShutDown",
        "SENTINEL",
        "producer",
        "consumer",
        "run_pipeline",
    }
    assert all(hasattr(reference, name) for name in reference.__all__)
    assert reference.SENTINEL is None


def test_fifo():
    q = Queue()
    for i in range(100):
        q.put(i)
    assert q.qsize() == 100
    assert [q.get() for _ in range(100)] == list(range(100))
    assert q.empty()


def test_any_object_is_a_valid_item():
    items = [None, 0, "", [], {}, set(), False, float("nan"), Odd(), EqualsAll()]
    q = Queue(maxsize=len(items))
    for item in items:
        q.put(item)
    assert q.full()
    got = [q.get() for _ in items]
    assert all(a is b for a, b in zip(got, items, strict=True))


@pytest.mark.parametrize("maxsize", [0, -1, -5])
def test_maxsize_not_positive_means_unbounded(maxsize):
    q = Queue(maxsize)
    for i in range(1000):
        q.put_nowait(i)
    assert q.qsize() == 1000 and not q.full()


def test_bounded_capacity():
    q = Queue(maxsize=2)
    assert q.empty() and not q.full()
    q.put(1)
    assert not q.empty() and not q.full() and q.qsize() == 1
    q.put(2)
    assert q.full() and q.qsize() == 2
    with pytest.raises(Full):
        q.put_nowait(3)
    with pytest.raises(Full):
        q.put(3, block=False)
    with pytest.raises(Full):
        q.put(3, block=False, timeout=-1)  # timeout is ignored when not blocking
    with pytest.raises(Full):
        q.put(3, timeout=0)
    assert q.qsize() == 2 and q.unfinished_tasks == 2
    assert q.get() == 1
    q.put_nowait(3)
    assert [q.get(), q.get()] == [2, 3]


def test_empty():
    q = Queue()
    with pytest.raises(Empty):
        q.get_nowait()
    with pytest.raises(Empty):
        q.get(block=False)
    with pytest.raises(Empty):
        q.get(block=False, timeout=-1)  # timeout is ignored when not blocking
    with pytest.raises(Empty):
        q.get(timeout=0)


def test_negative_timeout_is_a_value_error():
    message = "'timeout' must be a non-negative number"
    q = Queue(maxsize=1)
    with pytest.raises(ValueError, match=message):
        q.get(timeout=-1)
    with pytest.raises(ValueError, match=message):
        q.put(1, timeout=-0.5)  # even with room: the argument is checked first
    q.put(1)
    with pytest.raises(ValueError, match=message):
        q.get(timeout=-1)  # even with an item
    # As queue.Queue: an unbounded put never waits, so never looks at the timeout.
    Queue().put(1, timeout=-1)


@pytest.mark.parametrize("timeout", [0.05, 0.2])
def test_timeouts_never_fire_early(timeout):
    q = Queue(maxsize=1)
    start = time.monotonic()
    with pytest.raises(Empty):
        q.get(timeout=timeout)
    assert elapsed_since(start) >= timeout - EPSILON
    q.put(1)
    start = time.monotonic()
    with pytest.raises(Full):
        q.put(2, timeout=timeout)
    assert elapsed_since(start) >= timeout - EPSILON


def test_blocking_get_waits_for_a_put():
    q = Queue()
    for kwargs in ({}, {"timeout": LONG}):
        getter = Call(q.get, **kwargs)
        getter.assert_blocked()
        q.put("x")
        assert getter.outcome() == "x"


def test_blocking_put_waits_for_a_get():
    q = Queue(maxsize=1)
    q.put(0)
    for i, kwargs in enumerate(({}, {"timeout": LONG}), start=1):
        putter = Call(q.put, i, **kwargs)
        putter.assert_blocked()
        assert q.get() == i - 1
        putter.outcome()
    assert q.get() == 2


def wake_all(q, line):
    """A wake-up that does not help: nothing changed, the waiters must wait again.

    `line` is one of the queue's lines of waiters (`_getters`, `_putters`).
    """
    with q.mutex:
        while line:
            line.popleft().release()


@pytest.mark.parametrize("timeout", [None, LONG])
def test_waits_survive_wakeups_that_do_not_help(timeout):
    empty = Queue()
    getters = [Call(empty.get, timeout=timeout) for _ in range(2)]
    full = Queue(maxsize=1)
    full.put(0)
    putters = [Call(full.put, i, timeout=timeout) for i in (1, 2)]
    for call in getters + putters:
        call.assert_blocked()
    wake_all(empty, empty._getters)
    wake_all(full, full._putters)
    for call in getters + putters:
        call.assert_blocked()
    # One slot freed: exactly one putter may go, the capacity is never exceeded.
    assert full.get() == 0
    deadline = time.monotonic() + LONG
    while all(call.is_alive() for call in putters) and time.monotonic() < deadline:
        time.sleep(0.001)
    (still_blocked,) = [call for call in putters if call.is_alive()]
    still_blocked.assert_blocked()
    assert full.qsize() == 1
    assert sorted([full.get(), full.get()]) == [1, 2]
    for call in putters:
        call.outcome()
    empty.put("x")
    empty.put("y")
    assert sorted(call.outcome() for call in getters) == ["x", "y"]


def test_timed_waits_recompute_what_is_left():
    """Frequent useless wake-ups must neither end a timed wait early nor extend it."""
    timeout = 0.3
    empty, full = Queue(), Queue(maxsize=1)
    full.put(0)
    stop = threading.Event()

    def poke():
        while not stop.wait(0.005):
            wake_all(empty, empty._getters)
            wake_all(full, full._putters)

    poker = Call(poke)
    try:
        getter = Call(empty.get, timeout=timeout)
        putter = Call(full.put, 1, timeout=timeout)
        with pytest.raises(Empty):
            getter.outcome()  # within LONG: a wait restarted at each wake-up never ends
        with pytest.raises(Full):
            putter.outcome()
        assert getter.took >= timeout - EPSILON and putter.took >= timeout - EPSILON
    finally:
        stop.set()
    poker.outcome()


def test_task_done_and_join():
    q = Queue()
    q.join()  # nothing put: returns at once
    for i in range(3):
        q.put(i)
    assert q.unfinished_tasks == 3
    joiner = Call(q.join)
    for _ in range(3):
        q.get()
    joiner.assert_blocked()  # taken is not done
    q.task_done()
    q.task_done()
    joiner.assert_blocked()
    assert q.unfinished_tasks == 1
    q.task_done()
    joiner.outcome()
    assert q.unfinished_tasks == 0
    with pytest.raises(ValueError, match="task_done"):
        q.task_done()
    assert q.unfinished_tasks == 0


def test_many_joiners_all_released():
    q = Queue()
    q.put(1)
    joiners = [Call(q.join) for _ in range(5)]
    q.get()
    q.task_done()
    for joiner in joiners:
        joiner.outcome()


def test_generic_alias_like_stdlib():
    assert Queue[int] is not None


# ---------------------------------------------------------------- shutdown


def test_shutdown_refuses_puts_and_drains_gets():
    q = Queue(maxsize=3)
    q.put(1)
    q.put(2)
    q.shutdown()
    with pytest.raises(ShutDown):
        q.put(3)  # even with room
    with pytest.raises(ShutDown):
        q.put_nowait(3)
    assert q.get() == 1
    assert q.get_nowait() == 2
    with pytest.raises(ShutDown):
        q.get()  # not Empty, and does not block
    with pytest.raises(ShutDown):
        q.get_nowait()
    with pytest.raises(ShutDown):
        q.get(timeout=-1)  # ShutDown is checked before the timeout argument
    assert q.unfinished_tasks == 2
    joiner = Call(q.join)  # join() is unchanged by shutdown: it waits for task_done
    joiner.assert_blocked()
    q.task_done()
    q.task_done()
    joiner.outcome()
    q.shutdown()  # a second shutdown is harmless


def test_shutdown_wakes_blocked_getters_and_putters():
    empty = Queue()
    getters = [Call(empty.get) for _ in range(3)] + [Call(empty.get, timeout=LONG)]
    full = Queue(maxsize=1)
    full.put("kept")
    putters = [Call(full.put, i) for i in range(3)] + [Call(full.put, 9, timeout=LONG)]
    for call in getters + putters:
        call.assert_blocked()
    empty.shutdown()
    full.shutdown()
    for call in getters + putters:
        with pytest.raises(ShutDown):
            call.outcome()
    assert full.get() == "kept"


def test_shutdown_immediate_discards_items_and_releases_join():
    q = Queue()
    for i in range(4):
        q.put(i)
    joiner = Call(q.join)
    assert q.get() == 0
    q.task_done()
    joiner.assert_blocked()
    q.shutdown(immediate=True)
    joiner.outcome()
    assert q.qsize() == 0 and q.unfinished_tasks == 0
    with pytest.raises(ShutDown):
        q.get_nowait()


def test_shutdown_immediate_does_not_release_join_for_items_still_in_hand():
    q = Queue()
    q.put("in hand")
    q.put("queued")
    assert q.get() == "in hand"  # taken, not yet task_done()
    joiner = Call(q.join)
    q.shutdown(immediate=True)
    joiner.assert_blocked()
    assert q.unfinished_tasks == 1
    q.task_done()
    joiner.outcome()


NEEDS_313 = pytest.mark.skipif(
    not HAS_STDLIB_SHUTDOWN, reason="queue.Queue.shutdown() is new in Python 3.13"
)
# Queue classes with shutdown(): 3.13's queue.Queue is the yardstick; below 3.13 an
# independently written zoo queue stands in, so our shutdown is still cross-checked.
SHUTDOWN_QUEUES = [
    pytest.param(Queue, id="reference"),
    pytest.param(load_zoo("two_conditions").Queue, id="two_conditions"),
    pytest.param(queue.Queue, id="stdlib", marks=NEEDS_313),
]


def outcome_of(fn, *args, **kwargs):
    """What a call did, comparable across implementations (exceptions by name)."""
    try:
        return ("returned", fn(*args, **kwargs))
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))


def random_history(q, rng, length=40):
    """Apply a seeded random sequence of non-blocking operations; return outcomes.

    Blocking forms appear only where they cannot block, or with timeout 0 or a tiny
    one, so nothing can hang.
    """
    operations = [
        # An untimed put only where it cannot block: single-threaded, it would hang.
        lambda: outcome_of(q.put if not q.full() else q.put_nowait, rng.randrange(100)),
        lambda: outcome_of(q.put, rng.randrange(100), timeout=0),
        lambda: outcome_of(q.put, rng.randrange(100), timeout=-1),
        lambda: outcome_of(q.put_nowait, rng.randrange(100)),
        lambda: outcome_of(q.get, timeout=0),
        lambda: outcome_of(q.get, timeout=0.001),
        lambda: outcome_of(q.get, timeout=-1),
        lambda: outcome_of(q.get_nowait),
        lambda: outcome_of(q.get, block=False, timeout=-1),
        lambda: outcome_of(q.task_done),
        lambda: outcome_of(q.shutdown),
        lambda: outcome_of(q.shutdown, immediate=True),
    ]
    # shutdown is drawn rarely, so that most histories have a long life before it.
    weights = [6, 2, 1, 4, 4, 1, 1, 4, 1, 4, 1, 1]
    history = []
    for _ in range(length):
        if q.maxsize > 0 and q.full() and rng.random() < 0.5:
            op = operations[4]  # keep a bounded queue moving
        else:
            op = rng.choices(operations, weights)[0]
        history.append(op())
        history.append((q.qsize(), q.empty(), q.full(), q.unfinished_tasks))
    return history


@pytest.mark.parametrize("maxsize", [-1, 0, 1, 3])
@pytest.mark.parametrize("other", SHUTDOWN_QUEUES[1:])
def test_shutdown_histories_agree_with_reference(other, maxsize):
    """Seeded random single-thread histories give identical outcomes and states."""
    for seed in range(150):
        ours = random_history(Queue(maxsize), random.Random(seed))
        theirs = random_history(other(maxsize), random.Random(seed))
        assert ours == theirs, f"seed {seed}, maxsize {maxsize}: {other.__module__}"


@pytest.mark.parametrize("cls", SHUTDOWN_QUEUES)
def test_threaded_shutdown_like_python_313(cls):
    """The same blocked-thread scenario ends the same way for every implementation."""
    q = cls(maxsize=2)
    q.put("a")
    q.put("b")
    putter = Call(q.put, "c")
    putter.assert_blocked()
    q.shutdown()
    with pytest.raises(Exception) as raised:
        putter.outcome()
    assert type(raised.value).__name__ == "ShutDown"
    assert [q.get(), q.get()] == ["a", "b"]
    getter = Call(q.get)
    with pytest.raises(Exception) as raised:
        getter.outcome()
    assert type(raised.value).__name__ == "ShutDown"
    assert q.unfinished_tasks == 2
    joiner = Call(q.join)
    joiner.assert_blocked()
    q.task_done()
    q.shutdown(immediate=True)  # nothing left to drop: join still waits for "b"
    joiner.assert_blocked()
    q.task_done()
    joiner.outcome()


# ---------------------------------------------------------------- workers


def test_producer_puts_in_order_and_no_sentinel():
    q = Queue()
    reference.producer(q, iter([3, 0, "", EqualsAll()]))
    assert q.qsize() == 4 and q.unfinished_tasks == 4
    assert [q.get() for _ in range(3)] == [3, 0, ""]


def test_consumer_stops_at_the_sentinel_only():
    q = Queue()
    items = (0, "", [], Odd(), EqualsAll())
    for item in items + (SENTINEL, "after"):
        q.put(item)
    handled = []

    def handle(item):
        # Not done yet while being handled: task_done() comes after handle().
        assert q.unfinished_tasks >= 3
        handled.append(item)

    Call(reference.consumer, q, handle).outcome()
    assert len(handled) == 5 and all(h is i for h, i in zip(handled, items, strict=True))
    assert q.get_nowait() == "after"  # nothing past the sentinel was taken
    assert q.unfinished_tasks == 1  # task_done() for every item and for the sentinel


def test_consumer_leaves_task_undone_when_handle_raises():
    q = Queue()
    q.put(1)

    def handle(item):
        raise KeyError(item)

    with pytest.raises(KeyError):
        Call(reference.consumer, q, handle).outcome()
    assert q.unfinished_tasks == 1  # the work was not done, join() must not return


# ---------------------------------------------------------------- run_pipeline


class RecordingDeque(deque):
    """A deque that logs what popleft() returns; called under the queue's lock."""

    def __init__(self):
        super().__init__()
        self.taken = []

    def popleft(self):
        item = super().popleft()
        self.taken.append(item)
        return item


def recording_queue(log):
    def factory(maxsize):
        q = Queue(maxsize)
        q.queue = RecordingDeque()
        log.append(q.queue)
        return q

    return factory


def assert_exactly_once_in_order(batches, handled, taken):
    expected = sorted(item for batch in batches for item in batch)
    assert sorted(handled) == expected  # nothing lost, duplicated or invented
    for p in range(len(batches)):
        sequence = [seq for producer_id, seq in taken if producer_id == p]
        assert sequence == sorted(sequence), f"producer {p} reordered"


@pytest.mark.parametrize("maxsize", [0, 1, 3])
def test_pipeline_three_producers_four_consumers(maxsize):
    batches = [[(p, i) for i in range(200)] for p in range(3)]
    log = []
    handled = run_pipeline(
        batches,
        consumers=4,
        maxsize=maxsize,
        queue_factory=recording_queue(log),
        timeout=LONG,
    )
    assert len(handled) == 600
    (recorded,) = log
    taken = [item for item in recorded.taken if item is not SENTINEL]
    assert len(recorded.taken) - len(taken) == 4  # one sentinel per consumer
    assert_exactly_once_in_order(batches, handled, taken)


def test_pipeline_single_consumer_handles_in_queue_order():
    batches = [[(p, i) for i in range(50)] for p in range(3)]
    handled = run_pipeline(batches, consumers=1, maxsize=2, timeout=LONG)
    assert_exactly_once_in_order(batches, handled, handled)


def test_pipeline_calls_handle_and_leaves_no_thread_behind():
    seen = []
    before = set(threading.enumerate())
    handled = run_pipeline([[0, "", []], [False]], consumers=2, handle=seen.append, timeout=LONG)
    assert sorted(map(repr, handled)) == sorted(map(repr, seen))
    assert len(handled) == 4
    assert set(threading.enumerate()) <= before


def test_pipeline_with_custom_sentinel_workers():
    students = load_zoo("student_workers")
    batches = [[None, 0], [None, 1]]
    handled = run_pipeline(
        batches,
        consumers=3,
        producer=students.producer,
        consumer=students.consumer,
        sentinel=students.SENTINEL,
        timeout=LONG,
    )
    assert sorted(handled, key=repr) == [0, 1, None, None]


def test_pipeline_timeout_names_the_stuck_threads():
    release = threading.Event()
    try:
        # The stage is q.join() unless this machine is very slow: match only the names.
        with pytest.raises(TimeoutError, match=r"did not finish.*still running: .*consumer-0"):
            run_pipeline([[1]], consumers=1, handle=lambda item: release.wait(LONG), timeout=0.3)
    finally:
        release.set()


def test_pipeline_reports_a_crashed_worker():
    def handle(item):
        if item == 3:
            raise KeyError("boom")

    with pytest.raises(RuntimeError, match="consumer-0 raised KeyError") as raised:
        run_pipeline([range(5)], consumers=1, handle=handle, timeout=LONG)
    assert isinstance(raised.value.__cause__, KeyError)


# ---------------------------------------------------------------- the correct zoo

ZOO_MODULES = sorted(path.stem for path in ZOO.glob("*.py"))


def test_zoo_is_where_expected():
    assert {
        "stdlib_reexport",
        "polling",
        "two_conditions",
        "student_workers",
        "workers_and_queue",
    } <= set(ZOO_MODULES)


@pytest.mark.parametrize("name", ZOO_MODULES)
def test_zoo_module_is_documented(name):
    module = load_zoo(name)
    assert module.__doc__ and module.__doc__.strip().splitlines()[0].endswith(".")


@pytest.mark.parametrize("name", ZOO_MODULES)
def test_zoo_queue_sanity(name):
    module = load_zoo(name)
    if not hasattr(module, "Queue"):
        pytest.skip("worker role only")
    full_exc = getattr(module, "Full", queue.Full)
    empty_exc = getattr(module, "Empty", queue.Empty)
    q = module.Queue(maxsize=2)
    assert q.empty() and not q.full() and q.qsize() == 0
    odd = Odd()
    q.put(odd)
    q.put_nowait(None)
    assert q.full() and q.qsize() == 2
    with pytest.raises(full_exc):
        q.put_nowait(3)
    start = time.monotonic()
    with pytest.raises(full_exc):
        q.put(3, timeout=0.05)
    assert elapsed_since(start) >= 0.05 - EPSILON
    assert q.get() is odd and q.get_nowait() is None
    with pytest.raises(empty_exc):
        q.get_nowait()
    start = time.monotonic()
    with pytest.raises(empty_exc):
        q.get(timeout=0.05)
    assert elapsed_since(start) >= 0.05 - EPSILON
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    getter = Call(q.get, timeout=LONG)
    getter.assert_blocked()
    q.put("late")
    assert getter.outcome() == "late"
    joiner = Call(q.join)
    for _ in range(2):
        q.task_done()
    joiner.assert_blocked()
    q.task_done()
    joiner.outcome()
    with pytest.raises(ValueError):
        q.task_done()
    unbounded = module.Queue()
    for i in range(500):
        unbounded.put_nowait(i)
    assert [unbounded.get() for _ in range(500)] == list(range(500))


def plain_history(q, rng, length=60):
    """A seeded single-thread history without shutdown (optional in the zoo)."""
    operations = [
        lambda: outcome_of(q.put if not q.full() else q.put_nowait, rng.randrange(9)),
        lambda: outcome_of(q.put, rng.randrange(9), timeout=0),
        lambda: outcome_of(q.put_nowait, rng.randrange(9)),
        lambda: outcome_of(q.put, rng.randrange(9), block=False, timeout=-1),
        lambda: outcome_of(q.get, timeout=0),
        lambda: outcome_of(q.get, timeout=-1),
        lambda: outcome_of(q.get_nowait),
        lambda: outcome_of(q.get, block=False, timeout=-1),
        lambda: outcome_of(q.task_done),
    ]
    if q.maxsize > 0:
        # Not on an unbounded queue: queue.Queue ignores the timeout there, while the
        # contract lets an implementation reject it, as most of the zoo does.
        operations.append(lambda: outcome_of(q.put, 0, timeout=-1))
    history = []
    for _ in range(length):
        history.append(rng.choice(operations)())
        history.append((q.qsize(), q.empty(), q.full()))
    return history


@pytest.mark.parametrize("name", ZOO_MODULES)
def test_zoo_queue_matches_stdlib_single_threaded(name):
    module = load_zoo(name)
    if not hasattr(module, "Queue"):
        pytest.skip("worker role only")
    for seed in range(100):
        for maxsize in (-1, 0, 1, 3):
            expected = plain_history(queue.Queue(maxsize), random.Random(seed))
            got = plain_history(module.Queue(maxsize), random.Random(seed))
            assert got == expected, f"seed {seed}, maxsize {maxsize}"


@pytest.mark.parametrize("name", ZOO_MODULES)
def test_zoo_module_runs_the_pipeline(name):
    module = load_zoo(name)
    batches = [[(p, i) for i in range(100)] for p in range(3)]
    handled = run_pipeline(
        batches,
        consumers=4,
        maxsize=2,
        queue_factory=getattr(module, "Queue", Queue),
        producer=getattr(module, "producer", reference.producer),
        consumer=getattr(module, "consumer", reference.consumer),
        sentinel=getattr(module, "SENTINEL", None),
        timeout=LONG * 3,
    )
    assert sorted(handled) == sorted(item for batch in batches for item in batch)
