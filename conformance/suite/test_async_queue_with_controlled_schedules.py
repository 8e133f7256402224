"""Controlled schedules of the event loop: orders of the tasks' steps, moments for a
timeout to fire and for a task to be cancelled, that a free-running loop never tries.

The standard event loop runs its ready callbacks first in, first out, and its timers
when the clock says: one order among the many that other timings would give. Here
each plan runs on a loop of the kit's whose every step a strategy drawn from the run's
seed chooses (a random walk and PCT, in turn): which task goes on, whether time passes
to the next timer first, and in the cancellation plans whether a task waiting in get()
or put() is cancelled there and then, as a timeout or a `task.cancel()` would. Time is
virtual, so a `wait_for(q.get(), 5)` costs nothing and is judged from both sides:
never early, never late. The first failure is looked for again with fewer calls, its
schedule shrunk to the fewest forced choices, and shown one column per task; the
replay command runs the same schedules again and shows the same trace.
"""

import pytest

from prodcon.session.kit import ASYNC_PLANS, Violation, exploration_failure

pytestmark = pytest.mark.prodcon_role("async-queue")


@pytest.mark.parametrize("plan", ASYNC_PLANS, ids=[plan.id for plan in ASYNC_PLANS])
def test_async_controlled_schedules(prodcon, plan):
    schedules = prodcon.settings.schedules
    if schedules == 0:
        pytest.skip("--prodcon-explore=0: no controlled schedules")
    found = prodcon.explore_async(plan, prodcon.rng.randrange(1, 2**31), schedules)
    if found["skipped"]:
        pytest.skip(found["skipped"])
    if found["queue_error"]:
        raise Violation("exceptions", found["queue_error"])
    if found["failed_at"] is None:
        return
    raise exploration_failure(found, schedules, ", the violating step marked (>>)",
                              lane="task")
