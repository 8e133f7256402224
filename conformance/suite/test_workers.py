"""The worker role: producer(q, items) and consumer(q, handle) under the N-sentinel protocol.

The kit is the coordinator: it starts N consumers and M producers on a known-good
queue, waits for the producers, calls q.join(), puts N sentinels and waits for the
consumers. Everything the user's functions do to the queue is recorded and judged.
"""

import random

import pytest

from prodcon.session.kit import Kit, Shape

pytestmark = pytest.mark.prodcon_role("workers")


def pytest_generate_tests(metafunc):
    if "worker_shape" in metafunc.fixturenames:
        shapes = Kit.profile_of(metafunc.config).worker_shapes
        metafunc.parametrize("worker_shape", shapes, ids=[s.id for s in shapes])


def _run(prodcon, shape, items, **extra):
    for _ in range(prodcon.profile.repeats):
        prodcon.run_worker_scenario(shape, random.Random(prodcon.rng.random()), items, **extra)


def test_pipeline(prodcon, worker_shape):
    """Every item handled once, in order per producer; every consumer stops on its sentinel."""
    _run(prodcon, worker_shape, prodcon.profile.items_per_producer // 2)


def test_consumers_outlast_a_quiet_queue(prodcon):
    """Producers are slow to start: consumers must wait, not take an empty queue for the end."""
    _run(prodcon, Shape(2, 3, 0), 20, quiet=0.2)


def test_only_falsy_and_odd_items(prodcon):
    """Items that are falsy or equal to everything (even to None) are still items."""
    _run(prodcon, Shape(2, 2, 1), 30, odd_share=1.0)


def test_no_items_at_all(prodcon):
    """With nothing to do, every consumer still returns on its sentinel."""
    _run(prodcon, Shape(2, 4, 2), 0)
