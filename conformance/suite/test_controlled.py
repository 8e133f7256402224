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

from prodcon.session.kit import PLANS, Violation

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
    props = tuple(found["props"])
    raise Violation(props[0], _report(found, schedules), props)


def _report(found: dict, schedules: int) -> str:
    if found["found_again"]:
        smaller = (f"the same failure on the smaller plan {found['plan']}, "
                   f"{found['found_again']}")
    else:
        smaller = f"plan {found['plan']}: no smaller plan failed the same way"
    return "\n".join([
        f"controlled schedule {found['failed_at']} of {schedules} failed "
        f"(strategy {found['strategy']}).",
        "",
        found["message"],
        "",
        f"The failing schedule, one column per thread, the violating step marked (>>), "
        f"shrunk to {found['calls']} queue calls from {found['calls_before']} ({smaller}) "
        f"and to {found['switches']} forced thread switches from that schedule's "
        f"{found['switches_before']}; {found['steps']} switch points:",
        found["trace"],
        "",
        "Only one thread ran at a time and the kit chose which, so the same seed runs the "
        "same schedules and shows this trace again, byte for byte.",
    ])
