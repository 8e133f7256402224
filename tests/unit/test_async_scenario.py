"""aio.scenario: correct async queues of four designs pass 20 seeds; broken ones are
caught by the history's judgement, for the right property."""

import asyncio
import importlib.util
import random
import re

import pytest

from conftest import ZOO
from prodcon import contract
from prodcon.aio.loop import EventLoop
from prodcon.aio.scenario import run_async_queue_scenario
from prodcon.reference import aio
from prodcon.settings import Shape
from prodcon.verdict import Stuck, Violation

SHAPES = [Shape(4, 4, 1), Shape(2, 8, 2, "slow-producers"), Shape(8, 2, 3, "slow-consumers")]


def _impl(path):
    spec = importlib.util.spec_from_file_location(f"async_zoo_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return contract.resolve(path.stem, module)


CORRECT = {
    "reference": contract.resolve("reference", aio),
    "asyncio.Queue": _impl(ZOO / "async" / "correct" / "stdlib_reexport.py"),
    "conditions": _impl(ZOO / "async" / "correct" / "condition_queue.py"),
    "broadcast futures": _impl(ZOO / "async" / "correct" / "broadcast_futures.py"),
}


@pytest.fixture(scope="module")
def loop():
    ev = EventLoop("unit-scenario")
    yield ev
    ev.close(2.0)


def run(loop, impl, shape, seed, items=40):
    loop.run(run_async_queue_scenario(impl, shape, random.Random(seed), items), 30,
             f"seed {seed}")


@pytest.mark.parametrize("design", CORRECT)
def test_correct_designs_pass_twenty_seeds(loop, design):
    """Under the load of the test run itself (CI: six pytest-xdist workers on two cores);
    a burner process of its own cost every CI environment 15 s of a core."""
    for seed in range(1, 21):
        for shape in SHAPES:
            run(loop, CORRECT[design], shape, seed)


@pytest.mark.parametrize("module, prop", [("lifo", "order"),
                                          ("capacity_off_by_one", "capacity")])
def test_a_broken_queue_is_caught_by_the_history(loop, module, prop):
    impl = _impl(ZOO / "async" / "broken" / f"{module}.py")
    with pytest.raises(Violation) as caught:
        for seed in range(1, 6):
            for shape in SHAPES:
                run(loop, impl, shape, seed)
    assert prop in caught.value.props, caught.value.message


def test_a_task_the_queue_killed_is_named_before_the_hang_it_caused(loop):
    impl = _impl(ZOO / "async" / "broken" / "if_not_while.py")
    with pytest.raises((Violation, Stuck)) as caught:
        for seed in range(1, 11):
            run(loop, impl, Shape(4, 4, 1), seed)
    assert caught.value.prop == "exceptions"
    assert re.search(r"task [cp]\d+ died with QueueEmpty", caught.value.message)


def test_a_deadlock_names_the_waiting_tasks_and_the_queue(loop):
    class Queue(asyncio.Queue):  # a put_nowait() that never wakes a waiting getter
        def put_nowait(self, item):
            self._put(item)
            self._unfinished_tasks += 1

    impl = contract.resolve("stuck", type("m", (), {"Queue": Queue})())
    with pytest.raises(Stuck) as caught:
        loop.run(run_async_queue_scenario(impl, Shape(1, 2, 0), random.Random(3), 5,
                                          factor=0.2), 30, "the scenario")
    assert caught.value.prop == "deadlock"
    assert "the tasks still waiting" in caught.value.message
    assert "the queue then: qsize()=" in caught.value.message


def test_async_workers_pass_and_a_dropped_put_is_named_with_its_line(loop):
    from prodcon.aio.workers import run_async_worker_scenario

    reference = contract.resolve("reference", aio)
    for seed in range(1, 6):
        loop.run(run_async_worker_scenario(reference, Shape(3, 2, 1), random.Random(seed), 20),
                 30, f"seed {seed}")
    forgetful = _impl(ZOO / "async" / "workers" / "producer_forgets_await.py")
    with pytest.raises(Violation) as caught:
        loop.run(run_async_worker_scenario(forgetful, Shape(1, 1, 0), random.Random(1), 3),
                 30, "the scenario")
    assert "awaited" in caught.value.props
    assert "p0 called put(p0#0" in caught.value.message
    assert "producer_forgets_await.py:12" in caught.value.message
