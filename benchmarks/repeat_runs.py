"""Soak: run the quick profile on correct implementations with many seeds, optionally
next to CPU-heavy processes, and count failures (there must be none).

    python benchmarks/repeat_runs.py [--seeds 20] [--load 2] [IMPL ...]

IMPL defaults to the reference, queue.Queue and the correct queues of tests/zoo/correct.
Prints one line per implementation: runs, failures, and wall times; exits 1 if any
run failed, with the seed that failed so it can be replayed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def burn(stop) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def default_targets(folder: Path) -> list[str]:
    (folder / "stdlib_queue.py").write_text("from queue import Queue, Full, Empty\n")
    correct = sorted((REPO / "tests" / "zoo" / "correct").glob("*.py"))
    return ["reference", "stdlib_queue", *map(str, correct)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("impls", nargs="*")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--load", type=int, default=0, help="CPU-burning processes alongside")
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args()
    stop = multiprocessing.Event()
    burners = [multiprocessing.Process(target=burn, args=(stop,), daemon=True)
               for _ in range(args.load)]
    for b in burners:
        b.start()
    failed = False
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            targets = args.impls or default_targets(folder)
            print(f"# {args.seeds} seeds from {args.first_seed}, profile {args.profile}, "
                  f"{args.load} CPU-burning process(es), {time.strftime('%Y-%m-%d %H:%M')}")
            for impl in targets:
                times, failures = [], []
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    start = time.perf_counter()
                    done = subprocess.run(
                        [sys.executable, "-m", "pytest", f"--prodcon-impl={impl}",
                         f"--prodcon-seed={seed}", f"--prodcon-profile={args.profile}",
                         "-q", "-p", "no:cacheprovider"],
                        cwd=folder, capture_output=True, text=True, timeout=1800)
                    times.append(time.perf_counter() - start)
                    if done.returncode != 0:
                        failures.append(seed)
                        tail = "\n".join(done.stdout.splitlines()[-15:])
                        print(f"  {Path(impl).name} seed {seed} exited {done.returncode}\n{tail}")
                failed |= bool(failures)
                print(f"{Path(impl).name:24s} runs {len(times):3d}  failures {len(failures)}  "
                      f"median {statistics.median(times):5.1f} s  max {max(times):5.1f} s"
                      + (f"  failing seeds {failures}" if failures else ""))
    finally:
        stop.set()
        for b in burners:
            b.join(5)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
