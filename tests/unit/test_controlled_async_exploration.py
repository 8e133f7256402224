"""controlled.aio_exploration: the async queue plans under controlled schedules. The
cancellation bugs are found, each with a short shrunk trace that replays the same;
asyncio.Queue, the reference and the correct zoo pass every plan."""

import importlib.util
import json
from dataclasses import asdict

import pytest

from conftest import ZOO
from prodcon.controlled.aio_exploration import ASYNC_PLANS, explore_async_queue
from prodcon.reference import aio

SCHEDULES = 150  # the quick profile's


def _impl(relative):
    """A zoo module, as the kit hands the explorer a submission's module."""
    path = ZOO / "async" / f"{relative}.py"
    spec = importlib.util.spec_from_file_location(f"explored_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _explored(module, plan, seed=7, schedules=SCHEDULES):
    return json.loads(explore_async_queue(module, json.dumps(asdict(plan)), seed, schedules))


CORRECT = {"asyncio.Queue": lambda: _impl("correct/stdlib_reexport"),
           "reference": lambda: aio,
           "condition_queue": lambda: _impl("correct/condition_queue"),
           "broadcast_futures": lambda: _impl("correct/broadcast_futures")}


@pytest.mark.parametrize("design", CORRECT)
def test_correct_async_queues_pass_every_plan(design):
    impl = CORRECT[design]()
    for plan in ASYNC_PLANS:  # one seed each here; 1,500 schedules x 2 seeds by hand
        found = _explored(impl, plan, seed=1)
        assert not found["kit_error"] and not found["skipped"], found
        assert found["props"] == [], (plan.id, found["message"], found["trace"])


#: Each cancellation bug of the zoo (python/cpython#108042, python/asyncio#201 and #256,
#: python/asyncio#343, a get that swallows its cancellation), the plan that finds it,
#: and what it is found as.
CANCELLATION_BUGS = [
    ("cancelled_waiter_keeps_wake_up", 2, "deadlock"),
    ("hands_item_to_cancelled_getter", 2, "conservation"),
    ("shielded_get_runs_on", 2, "conservation"),
    ("get_ignores_cancellation", 2, "cancellation"),
]


@pytest.mark.parametrize(("module", "plan", "prop"), CANCELLATION_BUGS,
                         ids=[bug[0] for bug in CANCELLATION_BUGS])
def test_a_cancellation_bug_is_found_shrunk_and_replays_the_same(module, plan, prop):
    impl = _impl(f"broken/{module}")
    found = _explored(impl, ASYNC_PLANS[plan])
    assert found["props"] == [prop], (found["message"], found["trace"])
    assert found["calls"] <= 10, found["trace"]
    assert "task.cancel()" in found["trace"]  # the kit's cancellation, in its task's column
    assert ">>" in found["trace"]  # the step where it went wrong, marked
    again = _explored(_impl(f"broken/{module}"), ASYNC_PLANS[plan])
    assert json.dumps(again) == json.dumps(found)  # byte for byte


def test_a_queue_that_blocks_the_loop_is_left_to_the_free_running_tests(monkeypatch):
    """On one thread a blocking call never ends: time.sleep() is refused before it
    blocks, a `with threading_lock:` (which no profile function sees) is given up once
    the loop took no step for STEP_BOUND; either way the plan is skipped with where."""
    from prodcon.controlled import aio_exploration

    slept = _explored(_impl("broken/time_sleep_in_get"), ASYNC_PLANS[0])
    assert slept["props"] == [] and "time.sleep() at" in slept["skipped"], slept
    monkeypatch.setattr(aio_exploration, "STEP_BOUND", 0.3)
    locked = _explored(_impl("broken/threading_lock_across_await"), ASYNC_PLANS[0])
    assert locked["props"] == [] and "held in one step" in locked["skipped"], locked
    assert "threading_lock_across_await.py" in locked["skipped"]


def test_a_task_that_died_is_reported_as_a_task_with_asyncios_exceptions():
    from prodcon.controlled import queue_exploration
    from prodcon.controlled.aio_exploration import _AsyncRun
    from prodcon.controlled.scheduler import Finding

    run = object.__new__(_AsyncRun)  # only what the verdict reads of a run that ended so
    run.violations = []
    props, message = queue_exploration._verdict(  # noqa: SLF001
        [Finding("exception", "c0", "RuntimeError: boom")], run)
    assert props == ("exceptions",)
    assert message.startswith("a task died: RuntimeError: boom\n"), message
    assert "QueueEmpty and QueueFull (from get_nowait() and put_nowait())" in message
