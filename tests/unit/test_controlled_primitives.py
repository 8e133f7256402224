"""Managed Barrier and Timer keep CPython's contract under every schedule.

Each scenario runs under a seeded random walk and then under every schedule
with at most two preemptions. A timed wait may end at any point after its
deadline and a woken thread may run later than it was woken, so virtual times
are asserted as lower bounds. No scenario polls with sleep: under Exhaustive a
sleeping poller is a fresh timeout at every turn and the search never ends.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from prodcon.controlled import Exhaustive, RandomWalk, explore, load, run_once
from prodcon.controlled import primitives as p
from prodcon.controlled.loader import threading_facade

SEED = 20261128
BrokenBarrierError = threading.BrokenBarrierError


def every_schedule(scenario, runs: int = 30) -> None:
    failure = explore(scenario, RandomWalk(SEED), runs)
    assert failure is None, failure.report()
    strategy = Exhaustive(2)
    failure = explore(scenario, strategy, 5000)
    assert failure is None, failure.report()
    assert strategy.exhausted


# -- Barrier -------------------------------------------------------------------------

@pytest.mark.parametrize("parties, rounds", [(3, 1), (2, 2)])
def test_barrier_releases_all_parties_together_and_runs_the_action_once(parties, rounds):
    """(2, 2): the second round must wait until the first has drained."""
    def scenario():
        arrived = [0] * rounds
        actions: list = []
        indices: list = [[] for _ in range(rounds)]
        barrier = p.Barrier(parties, action=lambda: actions.append(arrived[len(actions)]))

        def party():
            for round_ in range(rounds):
                arrived[round_] += 1
                index = barrier.wait()
                assert arrived[round_] == parties, f"round {round_} released early"
                assert len(actions) == round_ + 1, f"round {round_}: actions ran {actions}"
                indices[round_].append(index)

        def check():
            assert all(sorted(i) == list(range(parties)) for i in indices), indices
            assert actions == [parties] * rounds, f"the action saw {actions} arrivals"
            assert not barrier.broken and barrier.n_waiting == 0
        return [party] * parties, check
    every_schedule(scenario)


@pytest.mark.parametrize("via", ["argument", "default"])
def test_barrier_timeout_breaks_it_for_every_waiter(via):
    """With `default`, the patient party times out too and may break it first."""
    def scenario():
        barrier = p.Barrier(3, timeout=5 if via == "default" else None)
        spans: dict = {}

        def party(name, timeout):
            def body():
                start = p.monotonic()
                with pytest.raises(BrokenBarrierError):
                    barrier.wait(timeout)
                spans[name] = (start, p.monotonic())
            return body

        def check():
            timed_start, first_break = spans["timed"][0], min(end for _, end in spans.values())
            if via == "argument":  # only its own timeout can break the barrier
                assert first_break >= timed_start + 5, f"broken at {first_break:g}: {spans}"
            else:
                assert first_break >= min(start for start, _ in spans.values()) + 5, spans
            assert barrier.broken and barrier.n_waiting == 0
        return [party("timed", 5 if via == "argument" else None),
                party("patient", None)], check
    every_schedule(scenario)


def test_abort_breaks_waiters_and_later_arrivals():
    waiting_at_abort: list = []
    late_arrivals: list = []

    def scenario():
        barrier = p.Barrier(3)
        broke: list = []

        def waiter():
            late_arrivals.append(barrier.broken)
            with pytest.raises(BrokenBarrierError):
                barrier.wait()
            broke.append(1)

        def aborter():
            # nobody leaves an unfilled barrier: at least this many were waiting at abort
            waiting_at_abort.append(barrier.n_waiting)
            barrier.abort()

        def check():
            assert len(broke) == 2 and barrier.broken
        return [waiter, waiter, aborter], check
    every_schedule(scenario)
    assert 2 in waiting_at_abort and True in late_arrivals, "a case was never scheduled"


def test_reset_breaks_the_waiter_and_makes_the_barrier_usable_again():
    seen: list = []

    def scenario():
        barrier = p.Barrier(2)
        indices: list = []
        broken: list = []

        def first():
            while True:
                try:
                    indices.append(barrier.wait())
                    return
                except BrokenBarrierError:
                    broken.append(1)

        def resetter():
            waiting = barrier.n_waiting  # first cannot leave alone: it is there at reset
            barrier.reset()
            indices.append(barrier.wait())
            seen.append(waiting)

        def check():
            assert sorted(indices) == [0, 1], f"indices {indices}"
            assert not barrier.broken and barrier.n_waiting == 0
            if seen[-1]:
                assert broken == [1], "reset did not break the waiting party"
        return [first, resetter], check
    every_schedule(scenario)
    assert set(seen) == {0, 1}, "reset never met a waiting party, or always did"


def test_a_raising_action_breaks_the_barrier():
    def scenario():
        def action():
            raise ValueError("action failed")
        barrier = p.Barrier(2, action=action)
        outcomes: list = []

        def party():
            try:
                barrier.wait()
            except BrokenBarrierError:
                outcomes.append("broken")
            except ValueError:
                outcomes.append("action raised")

        def check():
            assert sorted(outcomes) == ["action raised", "broken"], outcomes
            assert barrier.broken
        return [party, party], check
    every_schedule(scenario)


def test_a_barrier_that_cannot_fill_is_a_deadlock_in_every_schedule():
    def scenario():
        barrier = p.Barrier(3)
        return [barrier.wait, barrier.wait], None
    strategy = Exhaustive(2)
    schedules = 0
    while not strategy.exhausted:
        _, findings = run_once(scenario, strategy)
        schedules += 1
        assert [f.kind for f in findings] == ["deadlock"], findings
        text = findings[0].text
        assert "T0 blocked in wait on Condition#1" in text, text
        assert "T1 blocked in wait on Condition#1" in text, text
    assert schedules > 1
    failure = explore(scenario, RandomWalk(SEED), 1)
    assert failure is not None and "deadlock" in failure.report()


def test_barrier_outside_a_run_and_misuse_match_cpython():
    real, managed = threading.Barrier(1), p.Barrier(1)
    assert real.wait() == managed.wait() == 0
    for barrier in (real, managed):
        barrier.abort()
        assert barrier.broken and barrier.n_waiting == 0
        with pytest.raises(BrokenBarrierError):
            barrier.wait()
        barrier.reset()
        assert not barrier.broken and barrier.wait() == 0 and barrier.parties == 1
    lonely = p.Barrier(2)
    with pytest.raises(RuntimeError, match="outside a controlled run"):
        lonely.wait()
    assert lonely.n_waiting == 0 and not lonely.broken
    try:
        threading.Barrier(0)
    except ValueError as exc:  # 3.13+
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            p.Barrier(0)
    else:
        assert p.Barrier(0).parties == 0


# -- Timer ---------------------------------------------------------------------------

def test_timer_fires_after_its_interval_of_virtual_time():
    def scenario():
        fired: list = []

        def starter():
            start = p.monotonic()
            timer = p.Timer(5, lambda *args, **kwargs: fired.append(
                (p.monotonic() - start, args, kwargs)), args=(1,), kwargs={"k": 2})
            timer.start()
            timer.join()
            assert timer.finished.is_set() and not timer.is_alive()

        def check():
            assert len(fired) == 1, fired
            elapsed, args, kwargs = fired[0]
            assert elapsed >= 5 and args == (1,) and kwargs == {"k": 2}, fired
        return [starter], check
    every_schedule(scenario)


def test_a_long_timer_costs_no_real_time():
    fired: list = []

    def scenario():
        def starter():
            timer = p.Timer(100, lambda: fired.append(p.monotonic()))
            timer.start()
            timer.join()
        return [starter], None
    real = time.perf_counter()
    result, findings = run_once(scenario, RandomWalk(SEED))
    assert findings == []
    assert fired and fired[0] >= 100 and result.clock >= 100
    assert time.perf_counter() - real < 1.0


def test_cancel_before_the_timer_fires_prevents_the_call():
    cancelled_early: list = []

    def scenario():
        fired: list = []
        cancelled_at: list = []

        def starter():
            unstarted = p.Timer(1, lambda: fired.append("unstarted"))
            unstarted.cancel()
            unstarted.start()
            timer = p.Timer(10, lambda: fired.append("started"))
            timer.start()
            timer.cancel()
            cancelled_at.append(p.monotonic())  # its timeout cannot fire any later
            unstarted.join()
            timer.join()
            assert timer.finished.is_set() and unstarted.finished.is_set()

        def check():
            assert "unstarted" not in fired
            if cancelled_at[0] < 10:  # so its timeout never fired
                assert fired == [], f"fired though cancelled by t={cancelled_at[0]:g}"
                cancelled_early.append(True)
        return [starter], check
    every_schedule(scenario)
    assert cancelled_early


# -- the loader ----------------------------------------------------------------------

IMPLEMENTATION = """\
import threading
from threading import Barrier, BrokenBarrierError, Timer


class Meeting:
    def __init__(self):
        self.barrier = threading.Barrier(2)
        self.rang = []

    def ring_later(self, delay):
        timer = threading.Timer(delay, self.rang.append, args=("ring",))
        timer.start()
        return timer
"""


def test_a_loaded_implementation_gets_the_managed_barrier_and_timer(tmp_path):
    path = tmp_path / "meeting.py"
    path.write_text(IMPLEMENTATION)
    module = load(str(path))
    assert module.threading.Barrier is module.Barrier is p.Barrier
    assert module.threading.Timer is module.Timer is p.Timer
    assert module.BrokenBarrierError is threading.BrokenBarrierError
    with pytest.raises(AttributeError, match="not managed"):
        threading_facade()._thread  # noqa: B018 - the access is the test

    def scenario():
        meeting = module.Meeting()
        indices: list = []

        def host():
            meeting.ring_later(3).join()
            indices.append(meeting.barrier.wait())

        def guest():
            indices.append(meeting.barrier.wait())

        def check():
            assert sorted(indices) == [0, 1] and meeting.rang == ["ring"]
        return [host, guest], check
    failure = explore(scenario, RandomWalk(SEED), 50, module.__prodcon_line_files__)
    assert failure is None, failure.report()
