"""The harness: bounded calls, stuck reports, and what happens to threads left behind."""

import threading
import time

import pytest

from prodcon.engine import harness
from prodcon.engine.harness import Crew, Pending, call
from prodcon.engine.recording import History
from prodcon.settings import PROFILES, Settings
from prodcon.verdict import Stuck

FAST = Settings(seed=1, profile=PROFILES["quick"], timeout_factor=0.1)


def test_call_returns_and_reraises():
    assert call(FAST, lambda a, b=0: a + b, 1, b=2) == 3
    with pytest.raises(ZeroDivisionError):
        call(FAST, lambda: 1 / 0)


def test_stuck_call_names_the_line_it_waits_on():
    lock = threading.Lock()
    lock.acquire()

    def wait_forever():
        lock.acquire()  # the line the report must show

    with pytest.raises(Stuck) as caught:
        call(FAST, wait_forever, prop="blocking", what="wait_forever()",
             state=lambda: "qsize()=3")
    stuck = caught.value
    assert stuck.prop == "blocking"
    assert "wait_forever() had not returned after" in stuck.message
    assert "in wait_forever: lock.acquire()  # the line the report must show" in stuck.message
    assert "queue state: qsize()=3" in stuck.message
    lock.release()


def test_crew_waits_while_progress_is_made():
    history = History()
    import queue

    q = queue.Queue()
    view = history.view(q, "slow")
    crew = Crew(FAST, history.progress)

    def slow_producer():
        for i in range(12):  # 12 x 0.05 s: longer than the 0.5 s stall bound, never stalling
            time.sleep(0.05)
            view.put(i)

    worker = crew.start("slow", slow_producer)
    crew.wait([worker], "a slow but steady producer")
    assert q.qsize() == 12


def test_crew_reports_every_stuck_thread():
    history = History()
    event = threading.Event()
    crew = Crew(FAST, history.progress, state=lambda: "nothing moves",
                doing=lambda name: f"{name} is waiting")
    workers = [crew.start(f"t{i}", event.wait) for i in range(2)]
    with pytest.raises(Stuck) as caught:
        crew.wait(workers, "two threads that never finish")
    text = caught.value.message
    assert "no progress for 0.5 s while two threads that never finish" in text
    assert "t0: t0 is waiting" in text and "t1: t1 is waiting" in text
    assert "queue state: nothing moves" in text
    event.set()


@pytest.mark.skipif(harness._spins_when_traced(),
                    reason="on 3.11 under a tracer the kit interrupts no thread")
def test_interrupt_stops_a_spinning_thread():
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            pass

    pending = Pending(spin)
    time.sleep(0.05)
    harness.interrupt(pending.worker.thread)
    assert pending.wait(2.0), "the spinning thread should have been stopped"
    assert pending.worker.error is None  # _Abandoned is swallowed, not reported
    stop.set()


def test_probe_state_survives_a_held_lock():
    import queue

    q = queue.Queue(3)
    q.put(1)
    assert harness.probe_state(FAST, q) == "qsize()=1, unfinished_tasks=1, maxsize=3"
    q.mutex.acquire()
    try:
        assert "qsize() did not answer" in harness.probe_state(FAST, q)
    finally:
        q.mutex.release()


# -- the pool of caller threads behind call() ------------------------------------------

def test_a_call_runs_on_a_thread_named_for_it_and_the_thread_is_used_again():
    def whoami():
        return threading.current_thread()

    first = call(FAST, whoami)
    assert first.name == "prodcon-whoami" and first is not threading.current_thread()
    assert call(FAST, whoami) is first  # idle again: handed the next call


def test_calls_made_at_once_each_get_a_thread():
    """One caller for two calls at once would serialize them: a get waiting for a put
    made by the other call would hang."""
    ready = threading.Event()
    seen = []

    def waits():
        seen.append(threading.current_thread())
        return ready.wait(5)

    def sets():
        seen.append(threading.current_thread())
        ready.set()

    other = threading.Thread(target=lambda: call(FAST, waits, bound=50))
    other.start()
    time.sleep(0.05)
    call(FAST, sets)
    other.join(5)
    assert ready.is_set() and len(set(seen)) == 2


def test_a_caller_judged_stuck_is_never_handed_another_call():
    """Even when its call comes back while the report is written: an interrupt may be
    pending in it, and a sandbox lane may still be busy with the call."""
    release = threading.Event()
    threads = []

    def late():
        threads.append(threading.current_thread())
        release.wait(5)

    def state():
        release.set()  # the call returns while the stuck report is being written
        time.sleep(0.05)
        return "qsize()=0"

    with pytest.raises(Stuck):
        call(FAST, late, bound=1.0, state=state)
    stuck_thread = threads[0]

    def whoami():
        return threading.current_thread()

    for _ in range(5):
        assert call(FAST, whoami) is not stuck_thread
    assert call(FAST, lambda: 42) == 42


def test_a_wait_counts_only_the_time_the_process_was_given(monkeypatch):
    """harness.Watch: on a starved machine a poll comes back seconds late; that time is
    no evidence of a hang (a correct queue under CI's load must never be called stuck),
    so it counts as one poll and its slack. The wait still ends, within _STARVED times
    its bound, however starved."""
    now = [100.0]
    monkeypatch.setattr(harness.time, "monotonic", lambda: now[0])
    watch = harness.Watch(5.0)
    for _ in range(10):  # ten polls each 1.5 s late: 15 s of wall time, 1.1 s counted
        now[0] += 1.5
        assert not watch.tick()
    assert watch.counted == pytest.approx(10 * (harness.POLL + harness.LATE))
    now[0] += 5.0 + 0.5  # past _STARVED times the bound in wall time: over
    assert watch.tick()

    idle = harness.Watch(1.0)  # polls on time count in full: a hang is timed as before
    for _ in range(99):
        now[0] += harness.POLL
        assert not idle.tick()
    now[0] += 2 * harness.POLL
    assert idle.tick()


def test_a_call_run_elsewhere_and_no_longer_running_there_gets_its_bound_again():
    """A sandboxed call whose answer is late while the child is not in the call (it
    returned, and the machine kept the answer from arriving) is not stuck: it gets its
    bound once more. One still in the submission's code, or with no one to ask, is."""
    settings = Settings(1, PROFILES["quick"], timeout_factor=0.1)  # bound 0.2 s

    def late():
        time.sleep(0.3)
        return "late"

    assert call(settings, late, running=lambda thread: False) == "late"
    for running in (lambda thread: True, lambda thread: None, None):
        with pytest.raises(Stuck):
            call(settings, late, running=running)
