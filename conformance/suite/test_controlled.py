"""Controlled schedules: races that free-running threads under the GIL almost never hit.

Each scenario runs under many schedules, one thread at a time, the interleaving
chosen at every lock, condition, sleep and bytecode of the implementation by
strategies drawn from the run's seed (a random walk and PCT, in turn), in
virtual time. The first failure is looked for again with fewer calls (fewer
items, producers, consumers), its schedule shrunk to the fewest forced switches,
and shown one column per thread; the replay command runs the same schedules
again and shows the same trace.
"""

import json
from dataclasses import asdict

import pytest

from prodcon.controlled.queue_exploration import PLANS, explore_queue
from prodcon.errors import KitError
from prodcon.verdict import Violation

pytestmark = pytest.mark.prodcon_role("queue")

#: Real seconds allowed per schedule before the kit calls the whole exploration
#: stuck (scaled by --prodcon-timeout-factor). A run takes 3-10 ms on a loaded
#: 2-core machine; a livelocked one runs to its step limit in about 2 s.
SECONDS_PER_SCHEDULE = 0.5
#: Plus this much for shrinking a failure: at most 550,000 switch points in all
#: (queue_exploration.FEWER_CALLS_STEPS + MINIMIZE_STEPS), about 55 s if every attempt
#: livelocks; twice that, for a slow machine.
SECONDS_TO_SHRINK = 120


@pytest.mark.parametrize("plan", PLANS, ids=[plan.id for plan in PLANS])
def test_controlled_schedules(prodcon, plan):
    schedules = prodcon.settings.schedules
    if schedules == 0:
        pytest.skip("--prodcon-explore=0: no controlled schedules")
    seed = prodcon.rng.randrange(1, 2**31)
    bound = SECONDS_TO_SHRINK + SECONDS_PER_SCHEDULE * schedules
    # the module, not a queue: each run builds its own, as the module's Queue role does
    args = (prodcon.impl.module, json.dumps(asdict(plan)), seed, schedules,
            prodcon.settings.strict)
    what = f"exploring {schedules} controlled schedules of {plan.id}"
    sandbox = getattr(prodcon.impl, "sandbox", None)
    if sandbox is not None:
        found = prodcon.call(sandbox.run_in_child, explore_queue, *args, bound=bound, what=what)
    else:
        found = prodcon.call(explore_queue, *args, bound=bound, what=what)
    found = json.loads(found)
    if found["kit_error"]:
        raise KitError(f"{what}: {found['kit_doing']}", found["kit_error"])
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
