"""Write docs/performance.md from the benchmark scripts' own output.

Runs each benchmark in a subprocess on this machine, in turn (never two at once,
so they do not disturb each other), and pastes what each printed under a heading,
with the machine and the date above. Nothing in the page is typed by hand: to
update the figures, run this again on an idle machine.

    python benchmarks/publish.py [--out docs/performance.md] [--skip-kill-matrix]

The kill matrix runs the quick profile once per broken implementation of the zoo
(about 5 minutes with 2 jobs); --skip-kill-matrix leaves its section out.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"

SECTIONS = [
    ("Queue throughput and latency: `prodcon bench reference`",
     "The reference against `queue.Queue` and `queue.SimpleQueue`, same run, rounds "
     "interleaved; medians of 5 rounds. Ratios are to `queue.Queue` (throughput: above 1 "
     "is faster; latency: below 1 is better).",
     [sys.executable, "-m", "prodcon.cli", "bench", "reference"]),
    ("asyncio queue throughput and latency: `prodcon bench reference --model asyncio`",
     "The reference's async queue against `asyncio.Queue`, producers and consumers as "
     "tasks of one event loop, same run, rounds interleaved; medians of 5 rounds.",
     [sys.executable, "-m", "prodcon.cli", "bench", "reference", "--model", "asyncio"]),
    ("The quick profile's wall time",
     "`pytest --prodcon-impl=...` with the quick profile, whole process, median of 3.",
     [sys.executable, str(BENCH / "quick_profile.py"), "--rounds", "3"]),
    ("Where the quick profile's time goes",
     "Per test: wall time, and how much of it the test's own thread spent waiting "
     "(probes that prove a call blocks, timeouts that must elapse).",
     [sys.executable, str(BENCH / "kit_time.py"), "--rounds", "1"]),
    ("What a controlled switch point costs",
     "Exploring each controlled plan on the reference in-process (the quick profile's "
     "schedules, seed 1): CPU seconds, switch points, switch points per CPU second; "
     "medians of 3.",
     [sys.executable, str(BENCH / "controlled_cost.py"), "--rounds", "3"]),
    ("asyncio: controlled schedules against free-running stress",
     "The async zoo's schedule bugs: the quick profile's controlled async plans on 10 "
     "seeds, against its free-running async scenarios for the same wall time, seed for "
     "seed.",
     [sys.executable, str(BENCH / "async_controlled_vs_stress.py"), "--seeds", "10"]),
    ("Linearizability check of a 100,000-call history",
     "`prodcon check-history` against merely parsing the file.",
     [sys.executable, str(BENCH / "check_history.py"), "--rounds", "3"]),
    ("What recording every call costs",
     "The kit records each call of a scenario (no lock added).",
     [sys.executable, str(BENCH / "recording_overhead.py"), "--rounds", "5"]),
    ("What each test of the quick profile catches",
     "Every broken implementation of the public zoo, run once; which tests fail it and "
     "what each test costs on the reference.",
     [sys.executable, str(BENCH / "kill_matrix.py"), "--jobs", "2"]),
]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()} ({platform.python_implementation()})")


def run(command: list[str]) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=3600)
    took = time.perf_counter() - started
    text = done.stdout.rstrip()
    if done.returncode != 0:
        text += f"\n(exit status {done.returncode})\n{done.stderr.strip()[-2000:]}"
    return text, took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "performance.md"))
    parser.add_argument("--skip-kill-matrix", action="store_true")
    args = parser.parse_args()
    lines = [
        "# Performance",
        "",
        "Written by `python benchmarks/publish.py`, which runs each benchmark script below "
        "and pastes its output; nothing here is typed by hand. Figures are from one machine "
        "on one day: compare ratios measured in the same run, not absolute numbers across "
        "machines.",
        "",
        f"- Machine: {machine()}",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        "",
    ]
    for title, why, command in SECTIONS:
        if args.skip_kill_matrix and "kill_matrix" in command[-3]:
            continue
        shown = " ".join(["python", *[Path(c).relative_to(REPO).as_posix()
                                       if c.startswith(str(REPO)) else c
                                       for c in command[1:]]])
        print(f"publish: {shown}", file=sys.stderr)
        output, took = run(command)
        lines += [f"## {title}", "", why, "", f"`{shown}` ({took:.0f} s):", "", "```",
                  output, "```", ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"publish: wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
