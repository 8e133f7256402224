"""The async worker role: `async def producer(q, items)` and `async def consumer(q,
handle)` as tasks, coordinated as the asyncio documentation's worker example: every item
handled once, in order per producer, join() after every handle, and the consumers stopped
the module's way (STOP: one sentinel each, or cancellation), with no coroutine of the
queue left unawaited."""

import random

import pytest

from prodcon.session.kit import Kit

pytestmark = pytest.mark.prodcon_role("async-workers")


def pytest_generate_tests(metafunc):
    if "worker_shape" in metafunc.fixturenames:
        shapes = Kit.profile_of(metafunc.config).worker_shapes
        metafunc.parametrize("worker_shape", shapes, ids=[s.id for s in shapes])


def test_async_pipeline(prodcon, worker_shape):
    for _ in range(prodcon.profile.repeats):
        prodcon.run_async_worker_scenario(worker_shape, random.Random(prodcon.rng.random()),
                                          prodcon.profile.items_per_producer)
