"""How long `prodcon check-history` takes on a big history, next to merely parsing it.

Records a real run (4 producers, 4 consumers on queue.Queue(64), every call timed
the way the kit records them) until it has CALLS calls, writes it as JSON Lines,
then times: (a) Python parsing every line with json.loads and nothing else, (b)
reading it into the kit's Op records, (c) the full check (read + rules). Prints
the figures and their ratios; medians of --rounds runs.

    python benchmarks/check_history.py [--calls 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from prodcon.history import fileformat, linearizability  # noqa: E402


def record(calls: int, path: str) -> None:
    """A real concurrent run, recorded as a history file."""
    q = queue.Queue(64)
    per_thread = calls // 8
    logs: list[list[dict]] = []
    clock = time.perf_counter_ns

    def producer(p: int) -> None:
        log: list[dict] = []
        logs.append(log)
        for seq in range(per_thread):
            value = p * per_thread + seq
            start = clock()
            q.put(value)
            log.append({"thread": f"p{p}", "op": "put", "value": value, "start": start,
                        "end": clock()})

    def consumer(c: int) -> None:
        log: list[dict] = []
        logs.append(log)
        for _ in range(per_thread):
            start = clock()
            value = q.get()
            log.append({"thread": f"c{c}", "op": "get", "value": value, "start": start,
                        "end": clock()})

    threads = [threading.Thread(target=producer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=consumer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    merged = sorted((r for log in logs for r in log), key=lambda r: r["start"])
    with open(path, "w", encoding="utf-8") as out:
        for r in merged:
            out.write(json.dumps(r) + "\n")


def parse_only(path: str) -> None:
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            json.loads(line)


def median_time(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "history.jsonl")
        record(args.calls, path)
        size = os.path.getsize(path)
        verdict = linearizability.check(fileformat.load(path))
        assert verdict.linearizable and verdict.method == "rules", verdict
        parse = median_time(lambda: parse_only(path), args.rounds)
        load = median_time(lambda: fileformat.load(path), args.rounds)
        full = median_time(lambda: linearizability.check(fileformat.load(path)), args.rounds)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}")
    print(f"history: {args.calls} calls, 8 threads, {size / 1e6:.1f} MB")
    print(f"json.loads of every line:       {parse:.3f} s")
    print(f"read into Op records:           {load:.3f} s ({load / parse:.2f}x parse)")
    print(f"read + check (rules):           {full:.3f} s ({full / parse:.2f}x parse)")


if __name__ == "__main__":
    main()
