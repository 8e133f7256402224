"""controlled.aio_loop: an event loop whose order of steps a strategy chooses, with
virtual time, exact deadlocks and replayable schedules."""

import asyncio
import importlib.util

import pytest

from conftest import ZOO
from prodcon.controlled.aio_loop import LoopScheduler
from prodcon.controlled.strategies import PCT, Exhaustive, RandomWalk, Replay


def _zoo_queue(name):
    path = ZOO / "async" / "broken" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"loop_zoo_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Queue


def _run(main, strategy, max_steps=20_000):
    strategy.begin_run()
    try:
        return LoopScheduler(strategy, max_steps).run(main)
    finally:
        strategy.end_run()


def _pipeline(queue_class, out, timed=False):
    """Two producers, two consumers, maxsize 1, one None each to stop the consumers;
    `out` gets (consumer, item) as each consumer takes an item."""

    async def main():
        q = queue_class(1)

        async def produce(p):
            for i in range(3):
                await q.put((p, i))

        async def consume(c):
            while True:
                if timed:
                    try:
                        item = await asyncio.wait_for(q.get(), 0.5)
                    except asyncio.TimeoutError:
                        continue
                else:
                    item = await q.get()
                if item is None:
                    return
                out.append((c, item))

        producers = [asyncio.create_task(produce(p), name=f"p{p}") for p in range(2)]
        consumers = [asyncio.create_task(consume(c), name=f"c{c}") for c in range(2)]
        await asyncio.gather(*producers)
        for _ in consumers:
            await q.put(None)
        await asyncio.gather(*consumers)

    return main


def _strategy(seed):
    return RandomWalk(seed) if seed % 2 else PCT(seed, depth=3, steps_estimate=100)


@pytest.mark.parametrize("timed", [False, True], ids=["blocking", "timed"])
def test_asyncio_queue_passes_every_schedule_tried(timed):
    """asyncio.Queue under 200 schedules of random walk and PCT: every item out once,
    in order per producer, whatever order of steps and whenever the timeouts fire."""
    orders = set()
    for seed in range(200):
        out = []
        result = _run(_pipeline(asyncio.Queue, out, timed), _strategy(seed))
        assert result.findings == [], (seed, [str(f) for f in result.findings])
        assert sorted(item for _, item in out) == [(p, i) for p in range(2)
                                                   for i in range(3)], (seed, out)
        for c in range(2):  # FIFO: no consumer takes a producer's items out of order
            for p in range(2):
                taken = [i for d, (q, i) in out if (d, q) == (c, p)]
                assert taken == sorted(taken), (seed, out)
        orders.add(tuple(out))
    assert len(orders) > 5  # the schedules differ: not the standard loop's one order


def test_time_is_virtual_exact_and_costs_nothing():
    """A sleep of an hour and a wait_for that must time out end at their deadlines in
    virtual time, exactly, never before."""
    seen = {}

    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.sleep(3600)
        seen["slept"] = loop.time()
        try:
            await asyncio.wait_for(asyncio.Queue().get(), 5)
        except asyncio.TimeoutError:
            seen["timed out"] = loop.time()

    for seed in range(20):
        result = _run(main, _strategy(seed))
        assert result.findings == []
        assert seen == {"slept": 3600.0, "timed out": 3605.0}
        assert result.clock == 3605.0


def test_a_lost_wake_up_is_an_exact_deadlock_naming_the_waiting_task():
    """put_nowait() that wakes nobody: the getter waits with nothing ready and no timer
    pending, found at once (no bound to wait out), with its line."""
    queue_class = _zoo_queue("put_nowait_wakes_nobody")

    async def main():
        q = queue_class()
        getter = asyncio.create_task(q.get(), name="c0")
        await asyncio.sleep(0)
        q.put_nowait(1)
        await getter

    result = _run(main, RandomWalk(1))
    assert [f.kind for f in result.findings] == ["deadlock"]
    assert "c0: at " in result.findings[0].text
    assert "put_nowait_wakes_nobody.py" in result.findings[0].text


def test_a_livelock_ends_at_the_step_limit():
    async def main():
        while True:
            await asyncio.sleep(0)

    result = _run(main, RandomWalk(1), max_steps=500)
    assert [f.kind for f in result.findings] == ["step-limit"]


def test_a_schedule_replays_to_the_same_run():
    """The decisions a run recorded lead, played back, to the same order of items, the
    same trace and the same virtual time."""
    for seed in (3, 4, 5):
        first = []
        original = _run(_pipeline(asyncio.Queue, first, timed=True), _strategy(seed))
        again = []
        replayed = _run(_pipeline(asyncio.Queue, again, timed=True),
                        Replay(original.schedule))
        assert again == first
        assert replayed.schedule == original.schedule
        assert replayed.clock == original.clock
        assert replayed.trace.format() == original.trace.format()


def test_no_preemption_is_the_standard_loop_s_order():
    """The lane at the head of the ready queue is the current one: with no preemption
    allowed, the exhaustive strategy has exactly one schedule, and it is the order the
    standard event loop runs."""
    standard = []
    asyncio.run(_pipeline(asyncio.Queue, standard)())
    strategy = Exhaustive(preemption_bound=0)
    runs = []
    while not strategy.exhausted:
        out = []
        result = _run(_pipeline(asyncio.Queue, out), strategy)
        assert result.findings == []
        runs.append(out)
    assert runs == [standard]
