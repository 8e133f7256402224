"""The worker role under controlled schedules: workers that give up, leave or reorder.

The kit's coordinator, the user's producer and consumer, and the reference queue run
one thread at a time, the interleaving chosen by strategies drawn from the run's
seed, in virtual time. Each handle() call takes virtual time, from nothing to
seconds, so the queue stays full (or empty) far longer than in a free-running run:
a producer that drops an item when a timed put() raises Full, a consumer that
returns when a timed get() raises Empty, and a consumer that reorders or drops
items once it falls behind, are found. The failure is looked for again with fewer
calls, its schedule shrunk, and shown one column per thread; the replay command
shows the same trace again.
"""

import pytest

from prodcon.session.kit import WORKER_PLANS, exploration_failure

pytestmark = pytest.mark.prodcon_role("workers")


@pytest.mark.parametrize("plan", WORKER_PLANS, ids=[plan.id for plan in WORKER_PLANS])
def test_workers_under_controlled_schedules(prodcon, plan):
    schedules = prodcon.settings.schedules
    if schedules == 0:
        pytest.skip("--prodcon-explore=0: no controlled schedules")
    found = prodcon.explore_workers(plan, prodcon.rng.randrange(1, 2**31), schedules)
    if found["skipped"]:
        pytest.skip(found["skipped"])
    if found["failed_at"] is None:
        return
    raise exploration_failure(
        found, schedules, " (main is the kit's coordinator; >> marks the step where the run "
        "stopped, if it stopped early)", ". Each handle(item) took the virtual seconds shown "
        "beside it, and 'times out at t=...' marks a timed wait that ran out")
