"""Producer and consumer tasks at work on the async queue: every call recorded, the whole
recording judged (conservation, FIFO order, capacity, each QueueFull / QueueEmpty answer
on its own call), with the thread suite's shapes and paces."""

import random

import pytest

from prodcon.session.kit import Kit

pytestmark = pytest.mark.prodcon_role("async-queue")


def pytest_generate_tests(metafunc):
    if "queue_shape" in metafunc.fixturenames:
        shapes = Kit.profile_of(metafunc.config).queue_shapes
        metafunc.parametrize("queue_shape", shapes, ids=[s.id for s in shapes])


def test_async_conservation_order_capacity(prodcon, queue_shape):
    for _ in range(prodcon.profile.repeats):
        prodcon.run_async_queue_scenario(queue_shape, random.Random(prodcon.rng.random()),
                                         prodcon.profile.items_per_producer)
