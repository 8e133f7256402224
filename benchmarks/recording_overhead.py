"""What recording every call costs: the same run with and without the kit's views.

4 producers and 4 consumers move ITEMS items each through queue.Queue(64), once
calling the queue directly and once through `History.view(...)` (what every
concurrent scenario of the kit does). Prints the wall time of each, medians of
--rounds runs, and the overhead per call.

    python benchmarks/recording_overhead.py [--items 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from prodcon.engine.recording import History  # noqa: E402


def run(items: int, recorded: bool) -> float:
    q = queue.Queue(64)
    history = History()

    def view(name: str):
        return history.view(q, name) if recorded else q

    def producer(name: str) -> None:
        target = view(name)
        for i in range(items):
            target.put(i)

    def consumer(name: str) -> None:
        source = view(name)
        for _ in range(items):
            source.get()

    threads = [threading.Thread(target=producer, args=(f"p{i}",)) for i in range(4)]
    threads += [threading.Thread(target=consumer, args=(f"c{i}",)) for i in range(4)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    if recorded:
        assert len(history.calls()) == 8 * items
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    plain = statistics.median(run(args.items, False) for _ in range(args.rounds))
    recorded = statistics.median(run(args.items, True) for _ in range(args.rounds))
    calls = 8 * args.items
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}")
    print(f"{calls} calls, 4 producers / 4 consumers, queue.Queue(64)")
    print(f"direct:   {plain:.3f} s ({plain / calls * 1e6:.2f} us per call)")
    print(f"recorded: {recorded:.3f} s ({recorded / calls * 1e6:.2f} us per call)")
    print(f"overhead: {(recorded - plain) / calls * 1e6:.2f} us per call "
          f"({(recorded / plain - 1) * 100:.0f}%)")


if __name__ == "__main__":
    main()
