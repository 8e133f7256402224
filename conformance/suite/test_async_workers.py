"""The async worker role: `async def producer(q, items)` and `async def consumer(q,
handle)` as tasks, coordinated as the asyncio documentation's worker example: every item
handled once, in order per producer, join() after every handle, and the consumers stopped
the module's way (STOP: one sentinel each, or cancellation), with no coroutine of the
queue left unawaited."""

import random

import pytest

from prodcon.session.kit import Kit, Shape

pytestmark = pytest.mark.prodcon_role("async-workers")


def pytest_generate_tests(metafunc):
    if "worker_shape" in metafunc.fixturenames:
        shapes = Kit.profile_of(metafunc.config).worker_shapes
        metafunc.parametrize("worker_shape", shapes, ids=[s.id for s in shapes])


def test_async_pipeline(prodcon, worker_shape):
    for _ in range(prodcon.profile.repeats):
        prodcon.run_async_worker_scenario(worker_shape, random.Random(prodcon.rng.random()),
                                          prodcon.profile.items_per_producer)


@pytest.mark.parametrize("shape", [Shape(1, 3, 2), Shape(3, 2, 1, "slow-consumers")],
                         ids=lambda s: s.id)
def test_async_pipeline_with_failing_handles(prodcon, shape):
    """handle() raises for some items (fewer than the consumers): each such item is still
    marked done, or join() never returns; the other consumers take the rest."""
    prodcon.run_async_worker_scenario(shape, random.Random(prodcon.rng.random()), 20,
                                      failing=shape.consumers - 1)
