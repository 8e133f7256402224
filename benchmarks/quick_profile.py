"""Wall time of the quick profile on the reference and on queue.Queue.

A benchmark, not a test: it prints figures and asserts nothing. Run it from the
repository root with the project installed:

    python benchmarks/quick_profile.py [--rounds N] [--profile quick|thorough]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {
    "reference": "reference",
    "queue.Queue": "from queue import Queue, Full, Empty\n",
}


def time_run(impl: str, cwd: Path, profile: str, seed: int) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", f"--prodcon-impl={impl}", f"--prodcon-seed={seed}",
         f"--prodcon-profile={profile}", "-q", "-p", "no:cacheprovider"],
        cwd=cwd, capture_output=True, text=True, timeout=1800,
    )
    return time.perf_counter() - start, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args()
    print(f"# {args.profile} profile wall time, {args.rounds} round(s), "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, "
          f"{time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "stdlib_queue.py").write_text(TARGETS["queue.Queue"])
        for label, impl in (("reference", "reference"), ("queue.Queue", "stdlib_queue")):
            times = []
            for round_ in range(args.rounds):
                seconds, code = time_run(impl, folder, args.profile, seed=1000 + round_)
                times.append(seconds)
                if code != 0:
                    print(f"{label}: run {round_} exited {code}")
            print(f"{label:12s} median {statistics.median(times):6.2f} s   "
                  f"min {min(times):6.2f} s   max {max(times):6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
