"""Controlled schedules: races that free-running threads under the GIL almost never hit.

Each scenario runs under many schedules, one thread at a time, the interleaving
chosen at every lock, condition, sleep and bytecode of the implementation by
strategies drawn from the run's seed (a random walk and PCT, in turn), in
virtual time. The first failure is looked for again with fewer calls (fewer
items, producers, consumers), its schedule shrunk to the fewest forced switches,
and shown one column per thread; the replay command runs the same schedules
again and shows the same trace.

Time is virtual and free of load here, so a timed call is judged from both sides:
it must not give up before its timeout, nor go on waiting past its deadline plus
the time the scheduler itself let pass (and the one poll a polling call was in).
Two contests wake a timed put or get for a slot or an item that another thread
then takes first: where a call that starts its whole timeout again shows.
"""

import pytest

from prodcon.session.kit import PLANS, Violation, exploration_failure

pytestmark = pytest.mark.prodcon_role("queue")


@pytest.mark.parametrize("plan", PLANS, ids=[plan.id for plan in PLANS])
def test_controlled_schedules(prodcon, plan):
    schedules = plan.schedules(prodcon.settings.schedules)
    if schedules == 0:
        pytest.skip("--prodcon-explore=0: no controlled schedules")
    found = prodcon.explore(plan, prodcon.rng.randrange(1, 2**31), schedules)
    if found["skipped"]:
        pytest.skip(found["skipped"])
    if found["queue_error"]:
        raise Violation("exceptions", found["queue_error"])
    if found["failed_at"] is None:
        return
    raise exploration_failure(found, schedules, ", the violating step marked (>>)")
