"""Many producers and consumers at once: no item lost, duplicated or invented; FIFO per
producer; capacity never exceeded. The shapes come from the profile (quick/thorough);
items, pauses and the mix of put/get forms from the run's seed.
"""

import random

import pytest

from prodcon.session.kit import (
    PLAIN_VALUES,
    EqualsEverything,
    FalsyItem,
    Kit,
    TouchyItem,
    UnhashableItem,
    Violation,
    describe,
)

pytestmark = pytest.mark.prodcon_role("queue")


def pytest_generate_tests(metafunc):
    profile = Kit.profile_of(metafunc.config)
    for name, shapes in (("queue_shape", profile.queue_shapes),
                         ("stress_shape", profile.stress_shapes)):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, shapes, ids=[s.id for s in shapes])


@pytest.mark.prodcon_stress
def test_conservation_order_capacity(prodcon, queue_shape):
    for _ in range(prodcon.profile.repeats):
        prodcon.run_queue_scenario(queue_shape, random.Random(prodcon.rng.random()),
                                   prodcon.profile.items_per_producer)


@pytest.mark.prodcon_stress
def test_unpaced_stress(prodcon, stress_shape):
    """Every thread calls the queue back to back, consumers acknowledge at once, then join().

    Under the GIL this mostly confirms the paced scenarios; without it (a
    free-threaded build) it is where a read-modify-write outside the lock, or a
    pop after the lock was released, really collides, so there it runs more rounds.
    """
    per_producer = max(1, prodcon.stress_items // stress_shape.producers)
    for _ in range(prodcon.profile.repeats * prodcon.stress_rounds):
        prodcon.run_join_scenario(stress_shape, random.Random(prodcon.rng.random()),
                                  per_producer)


@pytest.mark.parametrize("maxsize", [1, 0])
def test_odd_items_pass_through_in_order(prodcon, maxsize):
    """One producer, one consumer: the exact objects come out, in order, however odd."""
    values = []
    for seq in range(60):
        kind = seq % 5
        values.append(PLAIN_VALUES[seq % len(PLAIN_VALUES)] if kind == 0 else
                      (FalsyItem, EqualsEverything, UnhashableItem, TouchyItem)[kind - 1](0, seq))
    q = prodcon.queue(maxsize)
    taken = prodcon.pass_through(q, values)
    for index, (sent, got) in enumerate(zip(values, taken, strict=False)):
        if sent is not got:
            raise Violation("any-item", f"item #{index} put was {describe(sent)} but get() "
                            f"returned {describe(got)}; the very objects put, in the order "
                            "put, were due")
