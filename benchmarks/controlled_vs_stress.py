"""Systematic search, random walk and PCT, and free-running stress, on the zoo's races.

For each race (none with a sleep in its window):
- systematic: the quick profile's systematic plans (queue_exploration.SYSTEMATIC), in
  order, each searched up to its bound; the search does not depend on the seed, so it
  runs once: found or not, the schedules it took in all, its wall time.
- random walk and PCT: the quick profile's controlled plans (queue_exploration.PLANS),
  in order, --schedules each, on --seeds seeds: the seeds that found it, the schedules
  they took (median, max), the wall time (median).
- stress: the quick profile's free-running scenarios (paced shapes and unpaced
  shapes, in turn, fresh seeds each round) for the wall time the systematic search
  took (at least one round), on each seed: the rounds that caught it.
A benchmark, not a test: it prints figures (docs/performance.md keeps them).

    python benchmarks/controlled_vs_stress.py [--seeds 10]
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
from prodcon.controlled.queue_exploration import (  # noqa: E402
    PLANS,
    SYSTEMATIC,
    explore_queue,
    explore_systematic,
)
from prodcon.engine.scenario import run_join_scenario, run_queue_scenario  # noqa: E402
from prodcon.settings import PROFILES, Settings  # noqa: E402
from prodcon.verdict import Stuck, Violation  # noqa: E402

ZOO = REPO / "tests" / "zoo"
RACES = [ZOO / "races" / f"{name}.py" for name in (
    "counter_outside_lock", "pop_after_release", "put_check_then_act", "get_check_then_act",
    "put_wakes_on_first_item", "get_wakes_on_full_only")] + [
    ZOO / "broken" / f"{name}.py" for name in (
        "shared_condition_notify", "if_not_while", "timed_get_waits_once",
        "unlocked_done_counter", "lost_wakeup")]


def systematic(impl) -> tuple[int | None, float, str]:
    """(schedules until caught or None, seconds, property) over the systematic plans."""
    profile = PROFILES["quick"]
    start = time.perf_counter()
    spent = 0
    for plan in SYSTEMATIC:
        found = json.loads(explore_systematic(
            impl.module, json.dumps(asdict(plan)), 1, plan.preemptions + profile.preemptions,
            profile.systematic_schedules))
        if found["failed_at"] is not None:
            return spent + found["failed_at"], time.perf_counter() - start, found["props"][0]
        spent += found["schedules"]
    return None, time.perf_counter() - start, ""


def controlled(impl, seed: int, schedules: int) -> tuple[int | None, float, str]:
    """(schedules until caught or None, seconds, property) over the random plans."""
    start = time.perf_counter()
    spent = 0
    for plan in PLANS:
        found = json.loads(explore_queue(impl.module, json.dumps(asdict(plan)), seed,
                                         plan.schedules(schedules)))
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
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}; random walk and PCT: "
          f"{args.seeds} seeds, the profile's {args.schedules} schedules (each plan its share)")
    print(f"{'race':24} | {'systematic: schedules':>21} {'time':>7} | "
          f"{'random+PCT: seeds':>17} {'schedules (med, max)':>20} {'time':>7} | "
          f"{'stress, same time: caught/rounds':>32}")
    for path in RACES:
        impl = contract.load(str(path), REPO)
        needed, seconds, prop = systematic(impl)
        found, took, counts, props = 0, [], [], {prop} - {""}
        caught = [0, 0]
        for seed in range(1, args.seeds + 1):
            schedules, spent, random_prop = controlled(impl, seed, args.schedules)
            took.append(spent)
            if schedules is not None:
                found += 1
                counts.append(schedules)
                props.add(random_prop)
            hit, ran = stress(impl, seed, seconds)
            caught[0] += hit
            caught[1] += ran
        shown = f"{statistics.median(counts):g}, {max(counts)}" if counts else "-"
        print(f"{path.stem:24} | {needed if needed is not None else 'not found':>21} "
              f"{seconds:>6.2f}s | {found:>9}/{args.seeds} seeds {shown:>20} "
              f"{statistics.median(took):>6.2f}s | {caught[0]:>20} / {caught[1]:<9}"
              f"  ({', '.join(sorted(props))})", flush=True)


if __name__ == "__main__":
    main()
