"""Many producers and consumers at once: no item lost, duplicated or invented; FIFO per
producer; capacity never exceeded. The shapes come from the profile (quick/thorough);
items, pauses and the mix of put/get forms from the run's seed.
"""

import random

import pytest

from prodcon.engine.harness import Crew
from prodcon.engine.recording import History
from prodcon.engine.scenario import run_join_scenario, run_queue_scenario
from prodcon.items import (
    PLAIN_VALUES,
    EqualsEverything,
    FalsyItem,
    TouchyItem,
    UnhashableItem,
    describe,
)
from prodcon.session.twin import gil_disabled
from prodcon.settings import FREE_THREADED_STRESS_ROUNDS
from prodcon.verdict import Violation, judge

pytestmark = pytest.mark.prodcon_role("queue")


def pytest_generate_tests(metafunc):
    profile = metafunc.config.stash[_kit_key()].settings.profile
    for name, shapes in (("queue_shape", profile.queue_shapes),
                         ("stress_shape", profile.stress_shapes)):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, shapes, ids=[s.id for s in shapes])


def _kit_key():
    from prodcon.session.run import KIT

    return KIT


@pytest.mark.prodcon_stress
def test_conservation_order_capacity(prodcon, queue_shape):
    for _ in range(prodcon.profile.repeats):
        run_queue_scenario(prodcon.settings, prodcon.impl, queue_shape,
                           random.Random(prodcon.rng.random()),
                           prodcon.profile.items_per_producer)


@pytest.mark.prodcon_stress
def test_unpaced_stress(prodcon, stress_shape):
    """Every thread calls the queue back to back, consumers acknowledge at once, then join().

    Under the GIL this mostly confirms the paced scenarios; without it (a
    free-threaded build) it is where a read-modify-write outside the lock, or a
    pop after the lock was released, really collides, so there it runs more rounds.
    """
    per_producer = max(1, prodcon.profile.stress_items // stress_shape.producers)
    rounds = FREE_THREADED_STRESS_ROUNDS if gil_disabled() else 1
    for _ in range(prodcon.profile.repeats * rounds):
        run_join_scenario(prodcon.settings, prodcon.impl, stress_shape,
                          random.Random(prodcon.rng.random()), per_producer)


@pytest.mark.parametrize("maxsize", [1, 0])
def test_odd_items_pass_through_in_order(prodcon, maxsize):
    """One producer, one consumer: the exact objects come out, in order, however odd."""
    values = []
    for seq in range(60):
        kind = seq % 5
        values.append(PLAIN_VALUES[seq % len(PLAIN_VALUES)] if kind == 0 else
                      (FalsyItem, EqualsEverything, UnhashableItem, TouchyItem)[kind - 1](0, seq))
    q = prodcon.queue(maxsize)
    history = History()
    crew = Crew(prodcon.settings, history.progress)
    producer_view = history.view(q, "p0")
    consumer_view = history.view(q, "c0")
    taken = []
    producer = crew.start("p0", lambda: [producer_view.put(v) for v in values])
    consumer = crew.start("c0", lambda: [taken.append(consumer_view.get()) for _ in values])
    crew.wait([producer, consumer], "passing odd items through the queue", prop="any-item")
    judge([Violation("any-item", f"thread {w.name} died with {type(w.error).__name__}: "
                     f"{w.error}\n    {w.error_trace}") for w in (producer, consumer) if w.error])
    for index, (sent, got) in enumerate(zip(values, taken, strict=False)):
        if sent is not got:
            raise Violation("any-item", f"item #{index} put was {describe(sent)} but get() "
                            f"returned {describe(got)}; the very objects put, in the order "
                            "put, were due")
