"""Timed calls judged from both sides in virtual time (controlled/deadlines.py).

The account of one timed call, move by move of the virtual clock: time the
scheduler let pass while a thread could run moves the deadline on; time nothing
else could use counts; a polling implementation may overshoot by the one poll it
was in. Then whole explorations: every correct design of timed waits passes the
contests for a slot or an item, and each late-timeout bug of the zoo is caught.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import asdict
from pathlib import Path

import pytest

from conftest import REPO, ZOO, caught_by
from prodcon import contract
from prodcon.controlled import Scheduler, primitives
from prodcon.controlled.deadlines import Deadlines, TimedCall
from prodcon.controlled.queue_exploration import PLANS, explore_queue
from prodcon.controlled.scheduler import current
from prodcon.controlled.strategies import PCT, RandomWalk

DESIGNS = Path(__file__).parent / "timed_designs"
SEED = 20261128
CONTESTS = [plan for plan in PLANS if plan.forms.startswith("steal-")]
TIMED_PLANS = [plan for plan in PLANS if plan.forms == "timed"] + CONTESTS
LATE = [ZOO / "broken" / f"{name}.py" for name in (
    "timed_get_waits_tenfold", "timed_get_retries_with_full_timeout",
    "timed_get_polls_three_timeouts", "timed_put_restarts_timeout",
    "timed_put_untimed_after_wakeup")]


def _task(state="blocked", verb="wait on", deadline=None, since=0.0):
    return types.SimpleNamespace(name="c0", state=state, verb=verb, deadline=deadline,
                                 waiting_since=since, blocked_on=None)


def _call(task, timeout=0.05, start=0.0) -> TimedCall:
    return TimedCall("get(timeout=0.05)", "c0", task, timeout, start)


def _move(call, old, new, fired=None, forced=True):
    call.moved(old, new, fired, forced, lambda obj: "")


def test_a_wait_that_ends_at_the_deadline_is_on_time():
    task = _task(deadline=0.05, since=0.0)
    call = _call(task)
    _move(call, 0.0, 0.02)  # another thread's sleep, nothing else could run
    _move(call, 0.02, 0.05, fired=task)
    assert not call.late() and call.due_by == pytest.approx(0.05)


def test_time_let_pass_while_a_thread_could_run_moves_the_deadline_on():
    task = _task(state="runnable")
    call = _call(task)
    _move(call, 0.0, 0.5, fired=object(), forced=False)  # preempted: the scheduler's doing
    task.state, task.deadline, task.waiting_since = "blocked", 0.55, 0.5
    _move(call, 0.5, 0.55, fired=task, forced=False)  # its own timeout: counts
    assert not call.late() and call.let_pass == pytest.approx(0.5)
    assert call.due_by == pytest.approx(0.55)


def test_restarting_the_whole_timeout_after_a_wake_up_is_late():
    task = _task(deadline=0.05, since=0.0)
    call = _call(task)
    _move(call, 0.0, 0.03)  # forced: another thread's pause; then woken, slot taken
    task.deadline, task.waiting_since = 0.08, 0.03  # waits its whole timeout again
    _move(call, 0.03, 0.08, fired=task)
    assert call.late() and call.over.at == pytest.approx(0.05)
    call.end, call.raised = 0.08, "Full"
    text = call.message("Full")
    assert "began at t=0.000 and raised Full at t=0.080 virtual" in text
    assert "give up by t=0.050" in text and "its whole timeout again" in text


def test_a_polling_call_may_overshoot_by_the_one_poll_it_was_in():
    task = _task(verb="sleep", deadline=0.02, since=0.0)
    call = _call(task)
    for start in (0.0, 0.02, 0.04):  # a fixed tick of 0.02: the last ends at 0.06
        task.deadline, task.waiting_since = start + 0.02, start
        _move(call, start, start + 0.02, fired=task)
    assert not call.late() and call.poll == pytest.approx(0.01)
    task.deadline, task.waiting_since = 0.08, 0.06  # a second poll past the deadline
    _move(call, 0.06, 0.08, fired=task)
    assert call.late()


def test_a_wait_as_long_as_the_timeout_is_no_poll():
    task = _task(deadline=0.03 + 0.05, since=0.03)
    call = _call(task)
    call.counted = 0.03  # waited 0.03 already, then began the whole timeout again
    _move(call, 0.03, 0.08, fired=task)
    assert call.late() and call.poll == 0


def test_waiting_untimed_when_nothing_is_due_is_late_but_a_lock_is_the_deadlocks():
    waiting = _call(_task(verb="wait on"))
    waiting.nothing_due(lambda obj: "")
    assert waiting.late() and "no timeout was pending" in waiting.message("Empty")
    locking = _call(_task(verb="acquire"))
    locking.nothing_due(lambda obj: "")
    assert not locking.late()


def test_the_scheduler_tells_forced_moves_from_moves_it_let_pass():
    moves = []

    def sleeper():
        primitives.sleep(1.0)

    def spinner():
        for _ in range(50):
            primitives.sleep(0)  # a switch point: it could run all along

    for strategy, expect in ((PCT(1, 1, 100), {True}), (RandomWalk(3), {False})):
        moves.clear()
        sched = Scheduler(strategy)
        sched.listen_to_clock(lambda old, new, fired, forced: moves.append(forced))
        strategy.begin_run()
        sched.run([sleeper, spinner])
        assert set(moves) == expect  # RandomWalk fires the sleep while the spinner runs


def test_deadlines_listen_to_the_scheduler_of_the_calling_thread():
    deadlines = Deadlines()
    calls = []

    def body():
        sched, task = current()
        call = deadlines.begin(sched, task, "get(timeout=1)", 1.0)
        primitives.sleep(3.0)  # a timed call that sleeps past its deadline
        Deadlines.end(call, primitives.monotonic())
        calls.append(call)

    strategy = RandomWalk(1)
    strategy.begin_run()
    Scheduler(strategy).run([body])
    assert calls[0].late() and calls[0].end == 3.0


@pytest.fixture
def imported():
    path, modules = list(sys.path), set(sys.modules)
    yield lambda target: contract.load(str(target), REPO).module
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


def _explore(module, plan, seed, schedules):
    return json.loads(explore_queue(module, json.dumps(asdict(plan)), seed, schedules))


@pytest.mark.parametrize("design", ["reference", ZOO / "correct" / "stdlib_reexport.py",
                                    ZOO / "correct" / "polling.py",
                                    ZOO / "correct" / "semaphore_deque.py",
                                    *sorted(DESIGNS.glob("*.py"))],
                         ids=lambda d: Path(str(d)).stem)
def test_every_design_of_timed_waits_passes_the_timed_plans(imported, design):
    module = imported(design)
    for plan in TIMED_PLANS:
        found = _explore(module, plan, SEED, 30)
        assert found["failed_at"] is None, (plan.id, found["message"])
        # a busy poll runs out of switch points in a contest's pauses: skipped, not failed
        fine = Path(str(design)).stem == "fine_tick_poller" and plan.pauses
        assert bool(found["skipped"]) == bool(fine), (plan.id, found["skipped"])


@pytest.mark.parametrize("module", LATE, ids=lambda p: p.stem)
def test_each_late_timeout_is_caught_in_a_contest(imported, module):
    assert caught_by(module) == "timeout"
    loaded = imported(module)
    messages = []
    for plan in CONTESTS:
        found = _explore(loaded, plan, SEED, 40)
        if found["failed_at"] is not None:
            assert found["props"][0] == "timeout", found["message"]
            messages.append(found["message"])
    assert messages, "caught by neither contest"
    assert any("must return or give up by t=" in m for m in messages), messages
