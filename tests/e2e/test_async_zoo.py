"""The async zoo: every broken async queue fails for the right reason, every correct one
passes, each in a real `pytest --prodcon-impl=FILE` of its own. The model is detected
(their Queue.get is a coroutine function): no option but the implementation."""

import re

import pytest

from conftest import ZOO, caught_by, zoo_modules

BROKEN = zoo_modules(ZOO / "async" / "broken")
CORRECT = zoo_modules(ZOO / "async" / "correct")
WORKERS = zoo_modules(ZOO / "async" / "workers")


@pytest.mark.parametrize("module", BROKEN, ids=lambda p: p.stem)
def test_broken_async_queue_is_caught(run_kit, module):
    expected = caught_by(module)
    result = run_kit(module, stop_on=expected)
    assert result.ret == 1, result
    assert expected in result.violated, (
        f"{module.stem} should be caught by {expected!r}; the kit reported "
        f"{sorted(result.violated)}\n{result}")


@pytest.mark.parametrize("module", CORRECT, ids=lambda p: p.stem)
def test_correct_async_queue_passes(run_kit, module):
    result = run_kit(module)
    assert result.ret == 0 and result.violated == set(), result
    assert "prodcon model: asyncio (Queue.get is a coroutine function)" in result.output
    ran = [name for name, outcome in result.outcomes.items() if outcome == "passed"]
    assert ran and all(name.startswith("test_async") for name in ran), result.outcomes


def test_the_bundled_reference_s_async_roles_pass_and_replay_with_the_model(run_kit):
    result = run_kit("reference", "--prodcon-model=asyncio")
    assert result.ret == 0 and result.violated == set(), result
    assert "prodcon model: asyncio (--prodcon-model)" in result.output
    assert "--prodcon-model=asyncio" in result.output.split("prodcon replay:")[-1]


def test_an_async_queue_under_isolation_is_judged_as_in_process(run_kit):
    """--prodcon-isolate: the queue's loop runs in the sandbox's child, taking turns with
    the kit's; a cancellation bug whose window is one turn of the loop is still caught
    (a correct design passing isolated, and grading: test_grade)."""
    result = run_kit(ZOO / "async" / "broken" / "cancelled_waiter_keeps_wake_up.py",
                     "--prodcon-isolate", "-k", "test_async_cancelled or test_async_a_")
    assert result.ret == 1 and "cancellation" in result.violated, result


def test_a_plain_call_that_blocks_the_loop_is_caught_under_isolation(run_kit):
    """A put_nowait() that sleeps holds the loop in-process; in the sandbox's child it
    holds the child's loop, and the child watches a plain call as it watches a task's
    step (it let them through before), naming the user's file, not the sandbox's copy."""
    module = ZOO / "async" / "broken" / "put_nowait_sleeps_when_full.py"
    result = run_kit(module, "--prodcon-isolate", stop_on="event-loop")
    assert result.ret == 1 and "event-loop" in result.violated, result
    assert re.search(rf"time\.sleep\(\) at {re.escape(str(module))}:\d+ in put_nowait",
                     result.output), result.output[-3000:]
    assert "/prodcon-sandbox-" not in result.output, result.output[-3000:]


def test_a_plain_call_that_ends_the_run_is_judged_with_it_under_isolation(run_kit, pytester):
    """Its finding reaches the kit with the child's next tick: a run made of plain calls
    alone (the sizes test) ends before one, unless the kit asks for it (`then_settled`).
    In-process and isolated, the same verdict and the same count."""
    pytester.makepyfile(sleepy_qsize="""
        import asyncio, time

        QueueFull, QueueEmpty = asyncio.QueueFull, asyncio.QueueEmpty

        class Queue(asyncio.Queue):
            def qsize(self):
                time.sleep(0.001)
                return super().qsize()
    """)
    reports = []
    for isolate in ((), ("--prodcon-isolate",)):
        result = run_kit("sleepy_qsize.py", *isolate, "-k", "test_async_sizes")
        assert result.ret == 1 and result.violated == {"event-loop"}, result
        reports.append(re.search(r"time\.sleep\(\) at \S+ in qsize[^.;]*", result.output)[0])
    assert reports[0] == reports[1], reports


@pytest.mark.parametrize("module", ["docs_worker_cancelled", "producer_forgets_await",
                                    "consumer_task_done_before_handle"])
def test_async_workers_under_isolation_are_judged_as_in_process(run_kit, module):
    """--prodcon-isolate: the workers run as tasks of the child's loop, calling the kit's
    queue (and handle) back; a call never awaited there is still caught (`awaited`), a
    task_done() before the handle's end still shows (`join`), the docs' worker passes."""
    path = ZOO / "async" / "workers" / f"{module}.py"
    expected = caught_by(path) if "CAUGHT_BY" in path.read_text() else None
    result = run_kit(path, "--prodcon-isolate", stop_on=expected)
    if expected is None:
        assert result.ret == 0 and result.violated == set(), result
        assert any(name.startswith("test_async_pipeline") for name in result.outcomes)
    else:
        assert result.ret == 1 and expected in result.violated, (module, result)


@pytest.mark.parametrize("module", WORKERS, ids=lambda p: p.stem)
def test_async_workers_are_judged(run_kit, module):
    """Each broken pair of async workers is caught for its property; the asyncio
    documentation's worker, stopped by cancellation, passes. The model is detected from
    the consumer (a coroutine function), the queue is the reference's."""
    expected = caught_by(module) if "CAUGHT_BY" in module.read_text() else None
    result = run_kit(module)
    assert "prodcon model: asyncio (consumer is a coroutine function)" in result.output
    if expected is None:
        assert result.ret == 0 and result.violated == set(), result
        assert any(name.startswith("test_async_pipeline") for name in result.outcomes)
    else:
        assert result.ret == 1 and expected in result.violated, (module.stem, result)
