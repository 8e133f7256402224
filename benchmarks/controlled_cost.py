"""What a controlled switch point costs: CPU per plan, in-process, on the reference.

Explores each of the kit's controlled plans (the queue plans, then the worker
plans) on the reference for one seed and the quick profile's schedule count (a
plan's share of it), as `pytest -k controlled` does without its sandbox, and
prints for each plan the CPU seconds (user + system, this process and its
children: the managed threads are this process's), the switch points run, and
switch points per CPU second. Every scheduler run is counted, the search's and
the shrinking's alike. A benchmark, not a test: it prints figures.

    python benchmarks/controlled_cost.py [--seed 1] [--schedules 150] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from prodcon import contract  # noqa: E402
from prodcon.controlled import scheduler  # noqa: E402
from prodcon.controlled.queue_exploration import PLANS, explore_queue  # noqa: E402
from prodcon.controlled.worker_exploration import PLANS as WORKER_PLANS  # noqa: E402
from prodcon.controlled.worker_exploration import explore_workers  # noqa: E402

_switch_points = [0]
_run = scheduler.Scheduler.run


def _counted_run(self, *args, **kwargs):
    """Scheduler.run, adding the run's switch points to the count."""
    try:
        return _run(self, *args, **kwargs)
    finally:
        _switch_points[0] += self.steps


scheduler.Scheduler.run = _counted_run


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(explore) -> tuple[float, int, dict]:
    """(CPU seconds, switch points, what the exploration found) of one exploration."""
    _switch_points[0] = 0
    before = cpu()
    found = json.loads(explore())
    return cpu() - before, _switch_points[0], found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schedules", type=int, default=150,
                        help="schedules per plan before its share (the quick profile's)")
    parser.add_argument("--rounds", type=int, default=3, help="median of this many runs")
    args = parser.parse_args()
    impl = contract.load(contract.BUNDLED, Path.cwd())
    module = impl.module
    explorations = []
    for plan in PLANS:
        n = plan.schedules(args.schedules)
        explorations.append((plan.id, n, lambda plan=plan, n=n: explore_queue(
            module, json.dumps(asdict(plan)), args.seed, n)))
    for plan in WORKER_PLANS:
        n = args.schedules
        explorations.append((f"workers-{plan.id}", n, lambda plan=plan, n=n: explore_workers(
            module, json.dumps(asdict(plan)), "", args.seed, n)))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}")
    print(f"reference, seed {args.seed}, median of {args.rounds} rounds")
    print(f"{'plan':40} {'schedules':>9} {'CPU s':>7} {'switch pts':>10} {'pts/CPU s':>10}")
    total_cpu = total_points = 0
    for name, n, explore in explorations:
        rounds = [measure(explore) for _ in range(args.rounds)]
        took = statistics.median(r[0] for r in rounds)
        points = rounds[0][1]
        failed = " (failed!)" if rounds[0][2].get("failed_at") is not None else ""
        total_cpu += took
        total_points += points
        print(f"{name:40} {n:>9} {took:>7.2f} {points:>10} {points / took:>10.0f}{failed}")
    print(f"{'all':40} {'':>9} {total_cpu:>7.2f} {total_points:>10} "
          f"{total_points / total_cpu:>10.0f}")


if __name__ == "__main__":
    main()
