"""Everyday payloads: the values people put in queues come out, each as often as it was
put, in each producer's order. Small and large ints (negative too), bools, floats (nan,
-0.0), str, bytes, tuples, dicts, lists, None, and repeats of equal values: a queue that
loses, doubles or reorders one kind of value is caught, the value named.

Small ints, interned strings and None are one object however often they are put, so
these runs are judged by value: the multiset of values taken against the multiset put,
and each producer's values in the order it put them. Every put and get form is drawn,
seeded, in each run.
"""

import random

import pytest

from prodcon.session.kit import Shape

pytestmark = pytest.mark.prodcon_role("queue")

#: One producer and one consumer (bounded and not), and several of each (the queue
#: full, or empty, most of the time).
SHAPES = (
    Shape(1, 1, 0),
    Shape(1, 1, 2, "slow-consumers"),
    Shape(3, 2, 1, "slow-consumers"),
    Shape(4, 4, 0, "slow-producers"),
)


@pytest.mark.parametrize("shape", SHAPES, ids=[s.id for s in SHAPES])
def test_everyday_values_conserved_in_order(prodcon, shape):
    items = max(40, prodcon.profile.items_per_producer // 2)
    for _ in range(prodcon.profile.repeats):
        prodcon.run_payload_scenario(shape, random.Random(prodcon.rng.random()), items)
