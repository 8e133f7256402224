"""Systematic schedules: every shallow race, on every run.

Random walks and PCT find a race with some probability per schedule, so a race that
needs its one preemption at one release is found on some seeds and not others. Here
small plans are searched systematically: every schedule with at most one preemption
(none for two of the plans; one more each in the thorough profile), where two
schedules that differ only in the order of steps that commute count once (dynamic
partial-order reduction: steps commute unless they touch the same lock, condition,
thread, or the same attribute or container, one of them writing). A race within the
bound is found whatever the seed; a queue that passes is reported "complete" for the
bound, or how far the search got when the profile's budget ran out first. A failure
is shrunk and shown as any controlled failure, and replays byte for byte.
"""

import pytest

from prodcon.session.kit import (
    COVERAGE_KEY,
    SYSTEMATIC,
    Violation,
    coverage,
    exploration_failure,
)

pytestmark = pytest.mark.prodcon_role("queue")


@pytest.mark.parametrize("plan", SYSTEMATIC, ids=[plan.id for plan in SYSTEMATIC])
def test_systematic_schedules(prodcon, plan, record_property):
    if prodcon.settings.schedules == 0:
        pytest.skip("--prodcon-explore=0: no controlled schedules")
    bound = plan.preemptions + prodcon.profile.preemptions
    budget = prodcon.profile.systematic_schedules
    found = prodcon.explore_systematic(plan, prodcon.rng.randrange(1, 2**31), bound, budget)
    if found["skipped"]:
        pytest.skip(found["skipped"])
    if found["queue_error"]:
        raise Violation("exceptions", found["queue_error"])
    if found["failed_at"] is None:
        record_property(COVERAGE_KEY, coverage(plan.id, found))
        return
    raise exploration_failure(found, budget, ", the violating step marked (>>)")
