"""Controlled schedules against free-running stress, on the async zoo's schedule bugs.

For each broken async queue whose bug needs an order of tasks, a timer or a
cancellation to land at one moment (none that blocks the loop's thread: the controlled
loop leaves those to the free-running tests):
- controlled: the quick profile's async plans (aio_exploration.ASYNC_PLANS), in order,
  --schedules each, on --seeds seeds: the seeds that found it, the schedules they took
  (median, max), the wall time until found and shrunk, or given up (median).
- stress: the quick profile's free-running async scenarios (aio.scenario, its queue
  shapes in turn, a fresh seed and a fresh event loop each round) for the wall time the
  controlled search took on the same seed (at least one round; a round begun goes to
  its end, and a stuck one lasts its stall bound, 5 s): the seeds on which a round
  caught it, the rounds that caught it of those run, the time stress took (median per
  seed).
Stress gets the controlled search's whole time, shrinking included: the more generous
budget of the two.
A benchmark, not a test: it prints figures (docs/performance.md keeps them).

    python benchmarks/async_controlled_vs_stress.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from prodcon import contract  # noqa: E402
from prodcon.aio.loop import EventLoop  # noqa: E402
from prodcon.aio.scenario import run_async_queue_scenario  # noqa: E402
from prodcon.controlled.aio_exploration import ASYNC_PLANS, explore_async_queue  # noqa: E402
from prodcon.session.kit import ASYNC_SCENARIO_BOUND  # noqa: E402
from prodcon.settings import PROFILES  # noqa: E402
from prodcon.verdict import Stuck, Violation  # noqa: E402

ZOO = REPO / "tests" / "zoo" / "async" / "broken"
BUGS = [ZOO / f"{name}.py" for name in (
    "cancelled_waiter_keeps_wake_up", "hands_item_to_cancelled_getter",
    "shielded_get_runs_on", "get_ignores_cancellation", "hand_off_puts_back_at_front",
    "hand_off_lets_get_nowait_overtake", "if_not_while", "put_nowait_wakes_nobody")]


def controlled(impl, seed: int, schedules: int) -> tuple[int | None, float, str]:
    """(schedules until caught or None, seconds, property) over the async plans. An
    exploration the kit could not run is an error here, never a miss."""
    start = time.perf_counter()
    spent = 0
    for plan in ASYNC_PLANS:
        explored = json.loads(explore_async_queue(
            impl.module, json.dumps(asdict(plan)), seed, plan.schedules(schedules)))
        if explored["kit_error"] or explored["queue_error"] or explored["skipped"]:
            raise RuntimeError(f"{impl.name}, {plan.id}, seed {seed}: not explored: "
                               f"{explored['kit_error'] or explored['queue_error']}"
                               f"{explored['skipped']}")
        if explored["failed_at"] is not None:
            return (spent + explored["failed_at"], time.perf_counter() - start,
                    explored["props"][0])
        spent += explored["schedules"]
    return None, time.perf_counter() - start, ""


def stress(impl, seed: int, budget: float) -> tuple[int, int, set[str], float]:
    """(rounds that caught the bug, rounds run, the properties, seconds) within `budget`
    seconds: a round begun goes to its end, and a stuck one ends at its stall bound.
    Each round on an event loop of its own, as each test of the suite has."""
    profile = PROFILES["quick"]
    rng = random.Random(seed)
    caught = rounds = 0
    props: set[str] = set()
    start = time.perf_counter()
    while rounds == 0 or time.perf_counter() < start + budget:
        shape = profile.queue_shapes[rounds % len(profile.queue_shapes)]
        rounds += 1
        loop = EventLoop("bench")
        try:
            loop.run(run_async_queue_scenario(impl, shape, random.Random(rng.random()),
                                              profile.items_per_producer),
                     ASYNC_SCENARIO_BOUND, f"round {rounds}")
        except (Violation, Stuck) as failure:
            caught += 1
            props.update(failure.props)
        finally:
            loop.close(2.0)
    return caught, rounds, props, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--schedules", type=int, default=PROFILES["quick"].schedules)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}; controlled: "
          f"{len(ASYNC_PLANS)} plans x {args.schedules} schedules, {args.seeds} seeds; "
          "stress: the quick profile's async scenarios for the same time, seed for seed")
    print(f"{'bug':34} | {'controlled: seeds':>17} {'schedules (med, max)':>20} "
          f"{'time':>7} | {'stress: seeds':>13} {'rounds caught/run':>17} {'time':>7} "
          "| found as")
    for path in BUGS:
        impl = contract.load(str(path), REPO, model="asyncio")
        seeds_found, took, counts = 0, [], []
        controlled_props: set[str] = set()
        stress_props: set[str] = set()
        seeds_caught, caught, ran, stressed = 0, 0, 0, []
        for seed in range(1, args.seeds + 1):
            schedules, spent, prop = controlled(impl, seed, args.schedules)
            took.append(spent)
            if schedules is not None:
                seeds_found += 1
                counts.append(schedules)
                controlled_props.add(prop)
            hits, rounds, props, seconds = stress(impl, seed, spent)
            seeds_caught += hits > 0
            caught += hits
            ran += rounds
            stressed.append(seconds)
            stress_props |= props
        shown = f"{statistics.median(counts):g}, {max(counts)}" if counts else "-"
        print(f"{path.stem:34} | {seeds_found:>9}/{args.seeds} seeds {shown:>20} "
              f"{statistics.median(took):>6.2f}s | {seeds_caught:>6}/{args.seeds} seeds "
              f"{caught:>8} / {ran:<6} {statistics.median(stressed):>6.2f}s | "
              f"controlled: {', '.join(sorted(controlled_props)) or '-'}; "
              f"stress: {', '.join(sorted(stress_props)) or '-'}", flush=True)


if __name__ == "__main__":
    main()
