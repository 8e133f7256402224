"""Controlled schedules against free-running stress, on the five classic races.

For each race (none with a sleep in its window) and each of --seeds seeds:
controlled mode explores the kit's controlled plans in order, the quick
profile's 150 schedules each, and records how many schedules and how much
wall time it took to find the race. Then the kit's free-running stress
scenarios (the quick profile's paced shapes and unpaced shapes, in turn, fresh
seeds each round) run against the same race for the same wall time (at least one
round), and again for --long seconds, and the rounds that caught it are counted.
A benchmark, not a test: it prints figures.

    python benchmarks/controlled_vs_stress.py [--seeds 10] [--long 10]
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
from prodcon.controlled.queue_exploration import PLANS, explore_queue  # noqa: E402
from prodcon.engine.scenario import run_join_scenario, run_queue_scenario  # noqa: E402
from prodcon.settings import PROFILES, Settings  # noqa: E402
from prodcon.verdict import Stuck, Violation  # noqa: E402

ZOO = REPO / "tests" / "zoo"
RACES = [ZOO / "races" / "counter_outside_lock.py", ZOO / "races" / "pop_after_release.py",
         ZOO / "broken" / "shared_condition_notify.py", ZOO / "broken" / "if_not_while.py",
         ZOO / "broken" / "timed_get_waits_once.py"]


def controlled(impl, seed: int, schedules: int) -> tuple[int | None, float, str]:
    """(schedules until caught or None, seconds, property) over the plans in order."""
    start = time.perf_counter()
    spent = 0
    for plan in PLANS:
        found = json.loads(explore_queue(impl.module, json.dumps(asdict(plan)), seed,
                                         schedules))
        if found["failed_at"] is not None:
            return spent + found["failed_at"], time.perf_counter() - start, found["props"][0]
        spent += found["schedules"]
    return None, time.perf_counter() - start, ""


def stress(impl, seed: int, budget: float) -> tuple[int, int]:
    """(rounds that caught the race, rounds run) within `budget` seconds."""
    profile = PROFILES["quick"]
    settings = Settings(seed=seed, profile=profile)
    rng = random.Random(seed)
    caught = rounds = 0
    end = time.perf_counter() + budget
    shapes = [("paced", s) for s in profile.queue_shapes] + \
             [("unpaced", s) for s in profile.stress_shapes]
    while rounds == 0 or time.perf_counter() < end:
        kind, shape = shapes[rounds % len(shapes)]
        rounds += 1
        try:
            if kind == "paced":
                run_queue_scenario(settings, impl, shape, random.Random(rng.random()),
                                   profile.items_per_producer)
            else:
                run_join_scenario(settings, impl, shape, random.Random(rng.random()),
                                  max(1, profile.stress_items // shape.producers))
        except (Violation, Stuck):
            caught += 1
    return caught, rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--schedules", type=int, default=PROFILES["quick"].schedules)
    parser.add_argument("--long", type=float, default=10.0,
                        help="the second, longer stress budget per seed (seconds)")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, "
          f"{args.seeds} seeds, {args.schedules} schedules per controlled plan")
    print(f"{'race':26} {'controlled: found':>18} {'schedules (median, max)':>24} "
          f"{'time to find (median)':>22} {'stress, same time: caught/run':>30} "
          f"{f'stress, {args.long:g} s: caught/run':>26}")
    for path in RACES:
        impl = contract.load(str(path), REPO)
        found, took, props, counts = 0, [], set(), []
        same, long = [0, 0], [0, 0]
        for seed in range(1, args.seeds + 1):
            schedules, seconds, prop = controlled(impl, seed, args.schedules)
            took.append(seconds)
            if schedules is not None:
                found += 1
                counts.append(schedules)
                props.add(prop)
            for tally, budget in ((same, seconds), (long, args.long)):
                hit, ran = stress(impl, seed, budget)
                tally[0] += hit
                tally[1] += ran
        shown = f"{statistics.median(counts):g}, {max(counts)}" if counts else "-"
        print(f"{path.stem:26} {found:>8}/{args.seeds} seeds {shown:>24} "
              f"{statistics.median(took):>20.2f} s {same[0]:>20} / {same[1]:<8}"
              f"{long[0]:>16} / {long[1]:<8}"
              f"   ({', '.join(sorted(props))})", flush=True)


if __name__ == "__main__":
    main()
