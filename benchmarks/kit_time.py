"""Where the quick profile's wall time goes: per test, time spent sleeping and waiting.

A benchmark, not a test: it prints figures and asserts nothing. Run it from anywhere
with the project installed:

    python benchmarks/kit_time.py [--rounds 3] [--seed N] [--json FILE]

Each round runs the suite in a subprocess, on the reference and on `queue.Queue`, with
a small extra pytest plugin (written to a temporary directory, loaded with `-p`) that
wraps `time.sleep`, and `threading.Event.wait`, `threading.Condition.wait` and
`threading.Thread.join` when the kit's own code (a file under conformance/) calls
them. Per test it sums:

- wall: the test call (`pytest_runtest_call`);
- main-thread waiting: sleeps and kit waits on the test's own thread. That thread's
  waits bound the wall time: while it waits, the test can only be as fast as what it
  waits for (workers finishing, a timeout elapsing, a probe that a call blocks);
- worker sleep: `time.sleep` summed over every other thread (the kit's pacing of
  producers and consumers, plus any sleeps of the implementation); several threads
  sleep at once, so this can exceed the wall time.

Each figure is the median over the rounds (same seed in every round). The main-thread
waits are also broken down by the kit's call site (file:function), which says what
kind of wait it is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 20261128

#: The plugin the measured pytest process loads. Self-contained: it runs in the child.
PLUGIN = r'''
"""kit_time's probe: per test, time in time.sleep and in the kit's own waits."""

import importlib.util
import json
import os
import sys
import threading
import time

import pytest

_spec = importlib.util.find_spec("prodcon")  # finds, does not import
KIT_DIR = os.path.dirname(os.path.abspath(_spec.origin)) + os.sep
_clock = time.perf_counter
_get_ident = threading.get_ident
_frame = sys._getframe

_current = None  # the stats of the test running now, or None between tests
_main = None  # ident of the thread running the test
_tests = {}


SUITE_DIR = KIT_DIR + "suite" + os.sep


def _site(frame, on_main):
    """'file:function' of the caller; on the main thread also the suite line it serves."""
    code = frame.f_code
    site = f"{os.path.basename(code.co_filename)}:{getattr(code, 'co_qualname', code.co_name)}"
    if on_main:
        outer = frame
        while outer is not None and not outer.f_code.co_filename.startswith(SUITE_DIR):
            outer = outer.f_back
        if outer is not None and outer is not frame:
            site += f" <- {os.path.basename(outer.f_code.co_filename)}:{outer.f_lineno}"
    return site


def _record(stats, kind, seconds, frame):
    # list.append is atomic under the GIL; summing happens at the end of the test.
    on_main = _get_ident() == _main
    stats["events"].append((kind, on_main, seconds, _site(frame, on_main)))


_orig_sleep = time.sleep


def _sleep(secs):
    stats = _current
    if stats is None:
        return _orig_sleep(secs)
    start = _clock()
    try:
        return _orig_sleep(secs)
    finally:
        _record(stats, "sleep", _clock() - start, _frame(1))


def _wrap_wait(cls, name, kind):
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        stats = _current
        caller = _frame(1)
        if stats is None or not caller.f_code.co_filename.startswith(KIT_DIR):
            return original(self, *args, **kwargs)
        start = _clock()
        try:
            return original(self, *args, **kwargs)
        finally:
            _record(stats, kind, _clock() - start, caller)

    wrapper.__name__ = name
    wrapper.__wrapped__ = original
    setattr(cls, name, wrapper)


time.sleep = _sleep
_wrap_wait(threading.Event, "wait", "Event.wait")
_wrap_wait(threading.Condition, "wait", "Condition.wait")
_wrap_wait(threading.Thread, "join", "Thread.join")


def _summary(stats):
    out = {"call_wall": stats["call_wall"], "protocol_wall": stats["protocol_wall"],
           "main_sleep": 0.0, "main_wait": 0.0, "worker_sleep": 0.0, "worker_wait": 0.0,
           "sleep_calls": 0, "main_sites": {}, "worker_sleep_sites": {}}
    for kind, on_main, seconds, site in stats["events"]:
        if kind == "sleep":
            out["sleep_calls"] += 1
        key = ("main_" if on_main else "worker_") + ("sleep" if kind == "sleep" else "wait")
        out[key] += seconds
        if on_main:
            out["main_sites"][f"{kind} {site}"] = out["main_sites"].get(
                f"{kind} {site}", 0.0) + seconds
        elif kind == "sleep":
            out["worker_sleep_sites"][site] = out["worker_sleep_sites"].get(site, 0.0) + seconds
    return out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _current, _main
    stats = {"events": [], "call_wall": 0.0, "protocol_wall": 0.0}
    _tests[item.nodeid] = stats
    _main = _get_ident()
    _current = stats
    start = _clock()
    try:
        yield
    finally:
        stats["protocol_wall"] = _clock() - start
        _current = None



@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    stats = _tests[item.nodeid]
    start = _clock()
    try:
        yield
    finally:
        stats["call_wall"] = _clock() - start



def pytest_sessionfinish(session):
    path = os.environ.get("KIT_TIME_OUT")
    if path:
        result = {nodeid: _summary(stats) for nodeid, stats in _tests.items()}
        with open(path, "w") as handle:
            json.dump(result, handle)
'''

PLUGIN_NAME = "kit_time_probe"


def clean_env(extra: dict[str, str], path: list[str] = ()) -> dict[str, str]:
    """This environment without pytest's variables, `path` put first on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*path, env.get("PYTHONPATH")]))
    return env


def run_once(impl: str, folder: Path, seed: int, timeout: float,
             src: Path | None = None) -> dict:
    """One suite run with the probe: {'wall', 'returncode', 'tests': {nodeid: figures}}."""
    out = folder / "probe.json"
    if out.exists():
        out.unlink()
    command = [sys.executable, "-m", "pytest", f"--prodcon-impl={impl}",
               f"--prodcon-seed={seed}", "-p", PLUGIN_NAME, "-p", "no:cacheprovider",
               "-p", "no:randomly", "-q"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout,
                          env=clean_env({"KIT_TIME_OUT": str(out)},
                                        [str(folder)] + ([str(src)] if src else [])))
    wall = time.perf_counter() - start
    tests = json.loads(out.read_text()) if out.exists() else {}
    return {"wall": wall, "returncode": done.returncode, "tests": tests,
            "tail": (done.stdout + done.stderr)[-3000:] if done.returncode else ""}


def short(nodeid: str) -> str:
    return nodeid.split("::")[-1]


def combine(rounds: list[dict]) -> dict:
    """Median per test and per figure over the rounds; totals per round, then their median."""
    figures = ("call_wall", "protocol_wall", "main_sleep", "main_wait", "worker_sleep",
               "worker_wait")
    names = sorted({t for r in rounds for t in r["tests"]})
    tests = {}
    for name in names:
        seen = [r["tests"][name] for r in rounds if name in r["tests"]]
        row = {f: statistics.median(s[f] for s in seen) for f in figures}
        row["main_waiting"] = statistics.median(s["main_sleep"] + s["main_wait"] for s in seen)
        sites: dict[str, list[float]] = {}
        for s in seen:
            for site, seconds in s["main_sites"].items():
                sites.setdefault(site, []).append(seconds)
        row["main_sites"] = {site: sum(v) / len(seen) for site, v in sites.items()}
        wsites: dict[str, list[float]] = {}
        for s in seen:
            for site, seconds in s["worker_sleep_sites"].items():
                wsites.setdefault(site, []).append(seconds)
        row["worker_sleep_sites"] = {site: sum(v) / len(seen) for site, v in wsites.items()}
        tests[short(name)] = row

    def total(r: dict, key) -> float:
        return sum(key(s) for s in r["tests"].values())

    totals = {
        "run_wall": statistics.median(r["wall"] for r in rounds),
        "test_wall": statistics.median(total(r, lambda s: s["call_wall"]) for r in rounds),
        "main_waiting": statistics.median(
            total(r, lambda s: s["main_sleep"] + s["main_wait"]) for r in rounds),
        "worker_sleep": statistics.median(total(r, lambda s: s["worker_sleep"]) for r in rounds),
        "rounds": len(rounds),
        "failed_rounds": [r["returncode"] for r in rounds if r["returncode"] != 0],
    }
    return {"tests": tests, "totals": totals}


def render(label: str, impl: str, combined: dict, top: int = 10) -> str:
    out = []
    tests, totals = combined["tests"], combined["totals"]
    out.append(f"## {label} (--prodcon-impl={impl}), median of {totals['rounds']} round(s)")
    if totals["failed_rounds"]:
        out.append(f"!! run(s) exited {totals['failed_rounds']}: figures are suspect")
    width = max([len(t) for t in tests] + [4])
    out.append(f"{'test':{width}s}  {'wall s':>6s}  {'main wait':>9s}  {'share':>5s}  "
               f"{'worker sleep':>12s}")
    for name, row in sorted(tests.items(), key=lambda kv: (-kv[1]["call_wall"], kv[0])):
        share = row["main_waiting"] / row["call_wall"] if row["call_wall"] else 0.0
        out.append(f"{name:{width}s}  {row['call_wall']:6.3f}  {row['main_waiting']:9.3f}  "
                   f"{share:5.0%}  {row['worker_sleep']:12.3f}")
    share = totals["main_waiting"] / totals["test_wall"] if totals["test_wall"] else 0.0
    out.append("")
    out.append(f"totals: run wall {totals['run_wall']:.2f} s; tests' wall summed "
               f"{totals['test_wall']:.2f} s; main-thread waiting {totals['main_waiting']:.2f} s "
               f"({share:.0%} of the tests' wall); worker sleep summed over threads "
               f"{totals['worker_sleep']:.2f} s; outside the tests (start-up, collection, "
               f"fixtures, report) {totals['run_wall'] - totals['test_wall']:.2f} s")
    out.append("")
    out.append(f"top {top} by main-thread waiting (where the main thread waits, by kit call site)")
    ranked = sorted(tests.items(), key=lambda kv: (-kv[1]["main_waiting"], kv[0]))[:top]
    for name, row in ranked:
        sites = sorted(row["main_sites"].items(), key=lambda kv: -kv[1])
        where = ", ".join(f"{site} {seconds:.2f}" for site, seconds in sites[:3]
                          if seconds >= 0.005)
        out.append(f"  {row['main_waiting']:6.3f} s of {row['call_wall']:6.3f}  {name}")
        if where:
            out.append(f"           {where}")
    return "\n".join(out)


def stdlib_impl(folder: Path, seed: int, timeout: float, src: Path | None = None) -> str:
    """`queue` itself when the kit accepts it, else a module re-exporting its names."""
    probe = subprocess.run(
        [sys.executable, "-m", "pytest", "--prodcon-impl=queue", f"--prodcon-seed={seed}",
         "-p", "no:cacheprovider", "-q", "-k", "test_fifo_one_producer"],
        cwd=folder, capture_output=True, text=True, timeout=timeout,
        env=clean_env({}, [str(src)] if src else []))
    if probe.returncode == 0:
        return "queue"
    (folder / "stdlib_queue.py").write_text("from queue import Empty, Full, Queue\n")
    return "stdlib_queue"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds one run may take (default 900)")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    parser.add_argument("--src", type=Path, metavar="DIR",
                        help="a source tree (e.g. `git archive` of a commit) to import the kit "
                        "from, instead of the installed one")
    args = parser.parse_args(argv)
    src = args.src.resolve() if args.src else None
    print(f"# quick profile: where the time goes, seed {args.seed}, {args.rounds} round(s), "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{len(os.sched_getaffinity(0))} cores, {time.strftime('%Y-%m-%d %H:%M')}"
          + (f", kit from {src}" if src else ""))
    report = {}
    with tempfile.TemporaryDirectory(prefix="kit_time_") as tmp:
        folder = Path(tmp)
        (folder / f"{PLUGIN_NAME}.py").write_text(PLUGIN)
        targets = [("reference", "reference"),
                   ("queue.Queue", stdlib_impl(folder, args.seed, args.timeout, src))]
        rounds: dict[str, list[dict]] = {label: [] for label, _ in targets}
        for index in range(args.rounds):  # interleaved, so load drifts hit both alike
            for label, impl in targets:
                result = run_once(impl, folder, args.seed, args.timeout, src)
                rounds[label].append(result)
                print(f"  round {index + 1}: {label} {result['wall']:.1f} s, exit "
                      f"{result['returncode']}", file=sys.stderr, flush=True)
                if result["returncode"] != 0:
                    print(result["tail"], file=sys.stderr)
        for label, impl in targets:
            combined = combine(rounds[label])
            report[label] = {"impl": impl, **combined}
            print()
            print(render(label, impl, combined, args.top))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
