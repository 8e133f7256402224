"""The sandbox: submission code in a child process, proxies and verdicts in this one.

Each test starts its own child unless it only reads from a correct module; every
wait is bounded, and hostile submissions are written on the spot into tmp_path.
"""

import builtins
import contextlib
import json
import os
import queue
import random
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import prodcon.contract
from conftest import REPO, ZOO, caught_by
from prodcon import contract, reference
from prodcon.bursts import put_then_take
from prodcon.engine import checkers
from prodcon.engine.harness import probe_state
from prodcon.engine.recording import History
from prodcon.engine.scenario import (
    Stop,
    run_join_scenario,
    run_queue_scenario,
    run_worker_scenario,
)
from prodcon.isolation import Foreign, Limits, RemoteError, SandboxDied, confinement, load_isolated
from prodcon.items import (
    PLAIN_VALUES,
    EqualsEverything,
    FalsyItem,
    Item,
    TouchyItem,
    UnhashableItem,
)
from prodcon.settings import PROFILES, Settings, Shape
from prodcon.verdict import Violation

pytestmark = pytest.mark.timeout(60)

SETTINGS = Settings(seed=20261128, profile=PROFILES["quick"])
STDLIB = str(ZOO / "correct" / "stdlib_reexport.py")


@pytest.fixture(scope="module")
def sandboxed_reference():
    impl = load_isolated("reference", REPO)
    yield impl
    impl.sandbox.close()


@pytest.fixture(scope="module", params=["reference", STDLIB], ids=["reference", "stdlib"])
def correct(request):
    impl = load_isolated(request.param, REPO)
    yield impl
    impl.sandbox.close()


@pytest.fixture
def isolate(tmp_path):
    """Load SOURCE, written to tmp_path, in a sandbox that the test's end closes."""
    opened = []

    def load(source, limits=None, name="submission.py"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        impl = load_isolated(str(path), tmp_path, limits or Limits())
        opened.append(impl.sandbox)
        return impl

    yield load
    for sandbox in opened:
        sandbox.close()


def in_thread(fn, *args, name="prodcon-test"):
    """Start fn(*args) in a thread; the dict it returns gets its result or its error."""
    outcome = {}

    def run():
        try:
            outcome["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread, outcome


def session_members(sid):
    """Processes of session `sid` that are still running (zombies are gone already)."""
    members = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry))
    return members


# --- the Implementation ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reference", STDLIB,
                                  str(ZOO / "broken" / "producer_reverses.py")])
def test_roles_are_those_contract_load_finds(name):
    loaded = contract.load(name, REPO)
    impl = load_isolated(name, REPO)
    try:
        assert impl.roles_line() == loaded.roles_line()
        assert (impl.borrowed, impl.version) == (loaded.borrowed, loaded.version)
        # The same module; for `reference` possibly another copy of it (the repository's
        # next to an installed one), so only its last parts are compared.
        assert Path(impl.file).parts[-2:] == Path(loaded.file).parts[-2:]
        assert impl.sentinel is None and impl.Full is queue.Full and impl.Empty is queue.Empty
        assert isinstance(impl, contract.Implementation) and impl.sandbox.died is None
        if "Queue" in impl.borrowed:
            assert impl.Queue is reference.Queue  # reference's parts run here
    finally:
        impl.sandbox.close()


# --- the Queue role: queue.Queue semantics through the proxy -------------------------------


def test_fifo_full_and_empty(correct):
    q = correct.Queue(2)
    a, b, c = Item(0, 0), Item(0, 1), Item(0, 2)
    q.put(a)
    q.put_nowait(b)
    assert (q.qsize(), q.full(), q.empty()) == (2, True, False)
    for attempt in (lambda: q.put_nowait(c), lambda: q.put(c, block=False),
                    lambda: q.put(c, False, 10), lambda: q.put(c, timeout=0)):
        with pytest.raises(queue.Full):
            attempt()
    assert q.get() is a and q.get_nowait() is b
    for attempt in (q.get_nowait, lambda: q.get(block=False), lambda: q.get(False, 10)):
        with pytest.raises(queue.Empty):
            attempt()
    assert q.maxsize == 2 and q.empty()


@pytest.mark.parametrize("op", ["get", "put"])
def test_timeout_fires_no_earlier_than_due(correct, op):
    q = correct.Queue(1)
    if op == "put":
        q.put(Item(0, 0))
    start = time.monotonic()
    with pytest.raises(queue.Empty if op == "get" else queue.Full):
        q.get(timeout=0.2) if op == "get" else q.put(Item(0, 1), timeout=0.2)
    assert time.monotonic() - start >= 0.2 - 0.001


def test_value_errors_and_join(correct):
    q = correct.Queue(3)
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    with pytest.raises(ValueError):
        q.task_done()
    item = Item(0, 0)
    q.put(item)
    assert q.get() is item
    joiner, outcome = in_thread(q.join)
    joiner.join(0.2)
    assert joiner.is_alive(), "join() returned with a task unfinished"
    q.task_done()
    joiner.join(10)
    assert outcome == {"value": None}
    with pytest.raises(ValueError):
        q.task_done()


def test_shutdown_only_where_the_class_has_it(correct):
    has_it = correct.name == "reference" or hasattr(queue.Queue, "shutdown")
    assert hasattr(correct.Queue, "shutdown") == has_it
    if has_it:
        q = correct.Queue(1)
        q.shutdown()
        with pytest.raises(correct.ShutDown):
            q.put(Item(0, 0))


def test_what_the_kit_reads_for_its_reports(sandboxed_reference):
    q = sandboxed_reference.Queue(4)
    q.put(Item(0, 0))
    assert (q.unfinished_tasks, q.maxsize) == (1, 4)
    assert getattr(q, "no_such_attribute", "absent") == "absent"
    assert probe_state(SETTINGS, q) == "qsize()=1, unfinished_tasks=1, maxsize=4"


# --- items keep their identity ------------------------------------------------------------


class LiesAboutEquality:
    def __eq__(self, other):
        return True

    def __hash__(self):
        raise TypeError("no hashing")


def test_every_kind_of_item_comes_back_as_itself(sandboxed_reference):
    values = [*PLAIN_VALUES, float("nan"), 10**30, "text", [], {}, object(), LiesAboutEquality(),
              Stop(0), *(cls(0, seq) for seq, cls in enumerate(
                  (Item, FalsyItem, EqualsEverything, UnhashableItem, TouchyItem)))]
    q = sandboxed_reference.Queue(0)
    for value in values:
        q.put(value)
    for value in values:
        assert q.get_nowait() is value
    for value in values:  # and again, once the child knows them
        q.put(value)
        assert q.get() is value


COPIES = """
    import copy
    from queue import Queue as _Base

    class Queue(_Base):
        def get(self, *args, **kwargs):
            item = super().get(*args, **kwargs)
            return copy.copy(item) if self.qsize() else object()
"""


def test_copies_and_made_up_objects_are_foreign(isolate):
    q = isolate(COPIES).Queue(0)
    history = History()
    view = history.view(q, "c0")
    batch = [FalsyItem(0, 0), Item(0, 1)]
    for item in batch:
        view.put(item)
    copied, made_up = view.get(), view.get()
    assert isinstance(copied, Foreign) and "FalsyItem" in repr(copied) and "p0#0" in repr(copied)
    assert isinstance(made_up, Foreign) and "object" in repr(made_up)
    [lost, invented] = checkers.conservation(history.calls(), [batch])
    assert "never taken: p0#0 (falsy), p0#1" in lost.message
    assert "2 object(s) that no producer put: <FalsyItem made by the submission" \
        in invented.message


# --- exceptions -------------------------------------------------------------------------


ODD_EXCEPTIONS = """
    import queue, sys

    class Full(Exception):
        pass

    class Empty(Exception):
        pass

    class Queue:
        def __init__(self, maxsize=0):
            self.items = []
        def put(self, item, block=True, timeout=None):
            raise Full("own Full")
        def get(self, block=True, timeout=None):
            raise Empty("own Empty")
        def get_nowait(self):
            return [].pop()
        def qsize(self):
            raise SystemExit(3)
        def empty(self):
            raise KeyboardInterrupt
        def full(self):
            return False
"""


def test_exceptions_cross_by_meaning_or_by_name(isolate, tmp_path):
    impl = isolate(ODD_EXCEPTIONS)
    q = impl.Queue()
    with pytest.raises(queue.Full, match="own Full"):
        q.put(1)
    with pytest.raises(queue.Empty, match="own Empty"):
        q.get()
    with pytest.raises(RemoteError) as raised:
        q.get_nowait()
    assert type(raised.value).__name__ == "IndexError"
    assert str(raised.value) == "pop from empty list"
    line = textwrap.dedent(ODD_EXCEPTIONS).splitlines().index("        return [].pop()") + 1
    assert f"{tmp_path / 'submission.py'}\", line {line}, in get_nowait" in \
        raised.value.remote_traceback
    for method, name in ((q.qsize, "SystemExit"), (q.empty, "KeyboardInterrupt")):
        with pytest.raises(RemoteError) as raised:
            method()
        assert type(raised.value).__name__ == name
    assert q.full() is False, "the child's server outlives SystemExit and KeyboardInterrupt"


@pytest.mark.parametrize("module, waits_out", [("reference", True),
                                               (str(ZOO / "broken" / "timed_get_waits_once.py"),
                                                False)], ids=["reference", "waits_once"])
def test_calls_that_must_follow_each_other_at_once_run_in_the_child(module, waits_out):
    """The suite's stolen wake-up: a waiter woken for an item that is gone again at once.

    Each waiter times its own get(): a correct queue waits out the whole timeout (a
    timeout never fires early), a queue that waits once gives up long before it.
    """
    timeout = 2.0
    impl = load_isolated(module, REPO)

    def timed_get(q):
        began = time.monotonic()
        try:
            q.get(timeout=timeout)
        finally:
            waited.append(time.monotonic() - began)

    waited = []
    try:
        queues = [impl.Queue(0) for _ in range(3)]
        waiters = [in_thread(timed_get, q) for q in queues]
        time.sleep(0.1)
        bait = [Item(0, seq) for seq in range(3)]
        stolen = []
        for q, item in zip(queues, bait, strict=True):
            with contextlib.suppress(queue.Empty):  # the waiter took it: round not counted
                stolen.append(impl.sandbox.run_in_child(put_then_take, q, item) is item)
        for thread, _ in waiters:
            thread.join(5 * timeout)
    finally:
        impl.sandbox.close()
    assert any(stolen)
    assert all(isinstance(outcome.get("error"), queue.Empty) for _, outcome in waiters)
    assert len(waited) == 3
    # 10 ms of slack for clock granularity; the broken queue returns within ~0.1 s.
    assert (min(waited) >= timeout - 0.01) == waits_out, waited


# --- the worker role: calls back on the very thread that called --------------------------


def test_worker_calls_run_on_the_kit_thread_that_called(sandboxed_reference):
    impl = sandboxed_reference
    q = reference.Queue(2)
    history = History()
    items = [cls(0, seq) for seq, cls in enumerate([Item, FalsyItem, TouchyItem] * 5)]
    handled = []
    producer, produced = in_thread(impl.producer, history.view(q, "p0"), items,
                                   name="prodcon-p0")
    consumer, consumed = in_thread(
        impl.consumer, history.view(q, "c0"),
        lambda item: handled.append((item, threading.get_ident())), name="prodcon-c0")
    producer.join(10)
    assert produced == {"value": None}
    deadline = time.monotonic() + 10
    while "item = q.get()" not in (stacks := impl.sandbox.stacks()) or len(handled) < len(items):
        assert time.monotonic() < deadline, stacks
        time.sleep(0.02)  # until the consumer is back in q.get(), waiting for its sentinel
    assert "prodcon-c0:\n" in stacks and "workers.py" in stacks
    history.view(q, "main").put(impl.sentinel)
    consumer.join(10)
    assert consumed == {"value": None}
    assert all(c.ident == producer.ident for c in history.calls("p0"))
    assert all(c.ident == consumer.ident for c in history.calls("c0"))
    assert [item for item, _ in handled] == items
    assert {ident for _, ident in handled} == {consumer.ident}


@pytest.mark.parametrize("sentinel", ["object()", "'stop'", "10**20"])
def test_the_modules_own_sentinel_is_recognised(isolate, sentinel):
    impl = isolate("from prodcon.reference.workers import producer, consumer\n"
                   f"SENTINEL = {sentinel}\n"
                   "import prodcon.reference.workers as w\nw.SENTINEL = SENTINEL\n")
    assert impl.sentinel is not None and impl.provides_workers
    run_worker_scenario(SETTINGS, impl, Shape(2, 3, 1), random.Random(1), 20)


STUDENT_WORKERS = """
    import queue, threading

    def producer(q, items):
        def put_all():
            for index in range(len(items)):
                q.put(items[index])
        helper = threading.Thread(target=put_all, name="helper")
        helper.start()
        helper.join()

    def consumer(q, handle):
        assert q.maxsize >= 0
        while True:
            try:
                item = q.get(timeout=0.01)
            except queue.Empty:
                continue
            if item is None:
                q.task_done()
                return
            handle(item)
            q.task_done()
"""


class Recorder:
    """A queue that notes which thread put what."""

    maxsize = 0

    def __init__(self):
        self.puts = []

    def put(self, item):
        self.puts.append((item, threading.current_thread().name))


def test_threads_the_submission_starts_call_back_on_threads_of_their_own(isolate):
    impl = isolate(STUDENT_WORKERS)
    recorder = Recorder()
    items = [Item(0, seq) for seq in range(5)]
    thread, outcome = in_thread(impl.producer, recorder, items, name="prodcon-p0")
    thread.join(10)
    assert outcome == {"value": None}
    assert recorder.puts == [(item, "helper") for item in items]
    run_worker_scenario(SETTINGS, impl, Shape(2, 2, 1, "slow-producers"), random.Random(2), 20)
    assert "helper" not in {t.name for t in threading.enumerate()}


# --- the real scenarios -------------------------------------------------------------------


@pytest.mark.parametrize("run, shape", [
    (run_queue_scenario, Shape(3, 2, 2, "slow-consumers")),
    (run_queue_scenario, Shape(2, 3, -1, "slow-producers")),
    (run_worker_scenario, Shape(3, 2, 1, "slow-producers")),
    (run_worker_scenario, Shape(4, 4, 0)),
    (run_join_scenario, Shape(2, 2, 2, "slow-consumers")),
], ids=lambda v: getattr(v, "__name__", None) or v.id)
def test_scenarios_pass_on_a_sandboxed_reference(sandboxed_reference, run, shape):
    run(SETTINGS, sandboxed_reference, shape, random.Random(7), 40)


@pytest.mark.parametrize("module, run, shape", [
    ("lifo", run_queue_scenario, Shape(2, 2, 3)),
    ("loses_items", run_queue_scenario, Shape(2, 2, 0)),
    ("producer_skips_last", run_worker_scenario, Shape(2, 2, 1)),
    ("consumer_batches_reversed", run_worker_scenario, Shape(1, 2, 0)),
])
def test_scenarios_catch_a_sandboxed_broken_module(module, run, shape):
    path = ZOO / "broken" / f"{module}.py"
    impl = load_isolated(str(path), REPO)
    try:
        with pytest.raises(Violation) as raised:
            run(SETTINGS, impl, shape, random.Random(7), 60)
    finally:
        impl.sandbox.close()
    assert caught_by(path) in raised.value.props


def test_the_child_has_the_bursts_before_any_call_is_timed(isolate):
    """Kit.at_once's functions run in the child under a call's bound: imported there on
    the first call, they once took longer than the bound on a loaded machine."""
    impl = isolate("""
        import queue, sys
        LOADED = "prodcon.bursts" in sys.modules

        class Queue(queue.Queue):
            def qsize(self):
                return int(LOADED)
    """)
    assert impl.Queue(0).qsize() == 1


# --- hostile submissions ------------------------------------------------------------------


def test_endless_import_is_cut_at_its_bound(isolate, tmp_path):
    tmp_path.chmod(0o777)  # a child started by root writes as a user of its own
    start = time.monotonic()
    with pytest.raises(contract.ContractError, match="did not finish within 1 s"):
        isolate(f"import os\nopen({str(tmp_path / 'pid')!r}, 'w').write(str(os.getpid()))\n"
                "while True:\n    pass\n", Limits(import_bound=1.0))
    assert time.monotonic() - start < 6
    assert session_members(int((tmp_path / "pid").read_text())) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the child leaves root only when it has it")
def test_a_child_started_by_root_may_not_touch_the_kit(isolate, tmp_path):
    """It reads files (the interpreter may live in /root), but writes only its own folder,
    and cannot read the kit's environment or signal it."""
    kit_file = tmp_path / "grades.csv"
    kit_file.write_text("real\n")
    impl = isolate(f"""
        import os, queue
        attempts = []
        for attempt in (lambda: open({str(kit_file)!r}, "w").write("forged"),
                        lambda: open(f"/proc/{{os.getppid()}}/environ").read(),
                        lambda: os.kill(os.getppid(), 0),
                        lambda: open("here.txt", "w").write("mine")):
            try:
                attempt()
                attempts.append(1)
            except OSError:
                attempts.append(0)

        class Queue(queue.Queue):
            def qsize(self):
                return int("".join(map(str, attempts)) + str(int(os.geteuid() == 0)), 2)
    """)
    assert impl.Queue().qsize() == 0b00010
    assert kit_file.read_text() == "real\n"


def test_exit_at_import_is_a_contract_error(isolate):
    with pytest.raises(contract.ContractError, match="ended the process it was imported in: "
                       "it exited with code 0"):
        isolate("import os, sys\nprint('bye', file=sys.stderr, flush=True)\nos._exit(0)\n")


@pytest.mark.parametrize("name, message", [
    ("missing.py", "no such file or package folder: "),
    ("missing_module", "no module named 'missing_module' importable from "),
    ("os", "os provides neither role of the contract"),
])
def test_a_name_that_is_no_submission_is_a_contract_error(tmp_path, name, message):
    with pytest.raises(contract.ContractError, match=message) as raised:
        load_isolated(name, tmp_path)
    assert "prodcon-sandbox" not in str(raised.value)


def test_import_error_names_the_submissions_own_line(isolate, tmp_path):
    with pytest.raises(contract.ContractError) as raised:
        isolate("import queue\n\nx = 1 / 0\n")
    assert str(raised.value) == (f"importing {str(tmp_path / 'submission.py')!r} raised "
                                 f"ZeroDivisionError: division by zero (at "
                                 f"{tmp_path / 'submission.py'}:3: x = 1 / 0)")


EXITS_IN_PUT = """
    import os, threading

    class Queue:
        def __init__(self, maxsize=0):
            self.never = threading.Event()
        def get(self, block=True, timeout=None):
            self.never.wait()
        def put(self, item, block=True, timeout=None):
            os._exit(7)
"""


def test_exit_during_calls_ends_every_waiting_call(isolate):
    impl = isolate(EXITS_IN_PUT)
    q = impl.Queue()
    getters = [in_thread(q.get, name=f"prodcon-c{i}") for i in range(3)]
    time.sleep(0.2)
    start = time.monotonic()
    with pytest.raises(SandboxDied, match="exited with code 7"):
        q.put(Item(0, 0))
    for thread, outcome in getters:
        thread.join(2)
        assert isinstance(outcome.get("error"), SandboxDied), outcome
    assert time.monotonic() - start < 2
    with pytest.raises(SandboxDied, match="exited with code 7"):
        q.qsize()
    assert impl.sandbox.stacks().startswith("unavailable")


BOMB = """
    class Queue:
        def __init__(self, maxsize=0):
            pass
        def put(self, item, block=True, timeout=None):
            hog = []
            while True:
                hog.append(bytearray({size}))
"""


@pytest.mark.parametrize("size, limits, reason", [
    (1 << 20, Limits(memory=256 << 20), "ran out of memory (limit 256 MiB)"),
    (0, Limits(cpu=1), "used more than 1 s of CPU (its limit)"),
], ids=["memory", "cpu"])
def test_running_out_of_a_limit_is_death_with_its_reason(isolate, size, limits, reason):
    impl = isolate(BOMB.format(size=size), limits)
    with pytest.raises(SandboxDied) as raised:
        impl.Queue().put(1)
    assert str(raised.value).startswith(f"the submission's process {reason}")


NOISY = """
    import os, sys
    from queue import Queue as _Base

    class Queue(_Base):
        def put(self, item, *args, **kwargs):
            print("a print in put()")
            sys.stdout.flush()
            os.write(1, b'["ret", 1, 1, null]\\n\\xff\\x00 garbage')
            os.write(2, b'garbage on stderr\\n')
            os.close(1)
            return super().put(item, *args, **kwargs)
"""


def test_output_of_any_kind_leaves_the_protocol_alone(isolate):
    impl = isolate(NOISY)
    q = impl.Queue()
    item = Item(0, 0)
    q.put(item)
    assert q.get() is item
    assert impl.sandbox.stderr_tail().endswith("garbage on stderr")


MONKEYPATCHER = """
    import builtins, os, sys
    import prodcon.contract, pytest
    from queue import Queue as _Base

    def patch():
        sys.exit = os._exit = builtins.print = builtins.open = pytest.fail = None
        prodcon.contract.load = None

    patch()

    class Queue(_Base):
        def put(self, item, *args, **kwargs):
            patch()
            return super().put(item, *args, **kwargs)
"""


def test_monkeypatching_in_the_child_leaves_this_process_alone(isolate):
    before = (sys.exit, os._exit, builtins.print, builtins.open, pytest.fail,
              prodcon.contract.load)
    impl = isolate(MONKEYPATCHER)
    q = impl.Queue()
    q.put(1000)
    assert q.get() == 1000
    assert (sys.exit, os._exit, builtins.print, builtins.open, pytest.fail,
            prodcon.contract.load) == before


ENVIRONMENT = """
    import json, os
    from queue import Queue as _Base

    class Queue(_Base):
        def qsize(self):
            return json.dumps({"env": dict(os.environ), "cwd": os.getcwd()})
"""


def test_the_child_sees_none_of_the_parents_environment(isolate, monkeypatch, tmp_path):
    monkeypatch.setenv("PRODCON_FAKE_SECRET", "hunter2")
    seen = json.loads(isolate(ENVIRONMENT).Queue().qsize())
    env = seen["env"]
    allowed = {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "PYTHONHASHSEED", "PYTHONPATH",
               "PYTHONDONTWRITEBYTECODE", "MALLOC_ARENA_MAX", "LC_CTYPE"}  # LC_CTYPE: PEP 538
    assert {k for k in env if not k.startswith("COVERAGE_")} <= allowed
    assert "hunter2" not in json.dumps(env)
    assert env["HOME"] == env["TMPDIR"] == seen["cwd"] != str(tmp_path)
    assert env["PYTHONHASHSEED"] == "0"


@pytest.mark.parametrize("garbage", [
    b"not json\n", b"{}\n", b'["ret", 1]\n', b'["ret", 1, 1, ["y", 999999]]\n',
    b'["ret", 1, 1, {"a": 1}]\n', b'["err", 1, 1, ["a"]]\n', b'["ret", 1, 1, ["m", 99999, "x"]]\n',
    b'["surprise"]\n', b"[" * (2 << 20),
], ids=["json", "not-a-list", "short", "unknown-token", "object", "error", "spec", "kind",
        "oversized"])
def test_anything_but_the_protocol_on_its_connection_is_death(isolate, garbage):
    impl = isolate(f"""
        import os, sys
        from queue import Queue as _Base

        class Queue(_Base):
            def put(self, item, *args, **kwargs):
                os.write(int(sys.argv[1]), {garbage!r})
                return super().put(item, *args, **kwargs)
    """)
    with pytest.raises(SandboxDied, match="broke the protocol"):
        impl.Queue().put(Item(0, 0))
    assert impl.sandbox.died.startswith("broke the protocol")


def test_forged_call_on_an_object_not_offered_is_death(isolate):
    impl = isolate("""
        import json, os, sys
        from queue import Queue as _Base

        class Queue(_Base):
            def put(self, item, *args, **kwargs):
                forged = ["call", -1000, "x", 1, ["y", 1], "getattr", ["__class__"], {}]
                os.write(int(sys.argv[1]), json.dumps(forged).encode() + b"\\n")
                return super().put(item, *args, **kwargs)
    """)
    with pytest.raises(SandboxDied, match="broke the protocol"):
        impl.Queue().put(Item(0, 0))


def test_writing_past_the_file_size_limit_is_death(isolate):
    impl = isolate("""
        import sys
        from queue import Queue as _Base

        class Queue(_Base):
            def put(self, item, *args, **kwargs):
                print("x" * (2 << 20), flush=True)
    """, Limits(file_size=1 << 20))
    with pytest.raises(SandboxDied, match=r"wrote more than 1 MiB to a file \(its limit"):
        impl.Queue().put(1)


def test_forty_threads_fit_in_the_default_limits(isolate):
    impl = isolate("""
        import threading
        from queue import Queue
        release = threading.Event()
        threads = [threading.Thread(target=release.wait, daemon=True) for _ in range(40)]
        for thread in threads:
            thread.start()
    """)
    q = impl.Queue()
    q.put(1)
    assert q.get() == 1


def test_close_ends_every_process_the_submission_forked(isolate, tmp_path):
    impl = isolate("""
        import os, time
        from queue import Queue
        for _ in range(20):
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
    """)
    sid = impl.sandbox.pid
    assert len(session_members(sid)) == 21
    start = time.monotonic()
    impl.sandbox.close()
    assert time.monotonic() - start < 3
    assert session_members(sid) == []
    impl.sandbox.close()  # again: nothing to do
    with pytest.raises(SandboxDied, match="was closed by the kit"):
        impl.Queue()


def _forks_are_bounded() -> bool:
    group = confinement.pids_cgroup(1)
    confinement.end_cgroup(group, 0)
    return group is not None or os.geteuid() != 0


@pytest.mark.skipif(not _forks_are_bounded(), reason="root without a pids cgroup: no bound")
def test_a_fork_loop_stops_at_the_process_limit_and_close_ends_it_all():
    """The zoo's fork loop: each fork moves to a session of its own, and close() still
    finds every one."""
    impl = load_isolated(str(ZOO / "hostile" / "fork_loop.py"), REPO, Limits(processes=24))
    try:
        children = [int(pid) for pid in os.listdir("/proc") if pid.isdigit()
                    and _parent_of(int(pid)) == impl.sandbox.pid]
        assert 0 < len(children) < 24
    finally:
        impl.sandbox.close()
    time.sleep(0.1)
    assert [pid for pid in children if _alive(pid)] == []


def _parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError):
        return None


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


# --- cost ---------------------------------------------------------------------------------


def test_a_call_costs_well_under_a_millisecond(sandboxed_reference):
    q = sandboxed_reference.Queue(0)
    rounds = 300
    start = time.perf_counter()
    for seq in range(rounds):
        q.put(seq + 1000)
        q.get()
    per_call = (time.perf_counter() - start) / (2 * rounds)
    assert per_call < 0.005, f"{per_call * 1e6:.0f} µs per call"
