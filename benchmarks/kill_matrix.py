"""Which test of the quick profile kills which broken implementation, and what it costs.

A benchmark, not a test: it prints figures and asserts nothing. Run it from anywhere
with the project installed:

    python benchmarks/kill_matrix.py [--seed N] [--jobs 2] [--only PATTERN] [--json FILE]

Every module of tests/zoo/broken, and the reference (for the costs), runs in its own
`pytest --prodcon-impl=FILE` process with a JUnit XML report; the reports give each
test's outcome and duration, the `prodcon violated: ...` line says which properties
the run saw broken. A test "kills" a module when it fails (or errors) on it; a kill is
"unique" when no other test kills that module. One seed, one run per module: a racy
module may be killed by other tests under another seed.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ZOO = REPO / "tests" / "zoo" / "broken"
SEED = 20261128
REFERENCE = "reference"
KILLING = ("failed", "error")  # outcomes that count as a kill
_PROPERTY_LINE = re.compile(r"^prodcon: property violated: (\S+)", re.M)
_SUMMARY_LINE = re.compile(r"^prodcon violated: (.*)$", re.M)


@dataclass
class TestResult:
    outcome: str  # passed, failed, error or skipped
    seconds: float
    props: list[str] = field(default_factory=list)  # properties its failure names

    @property
    def kills(self) -> bool:
        return self.outcome in KILLING


@dataclass
class Run:
    name: str  # module stem, or "reference"
    impl: str  # what --prodcon-impl was given
    caught_by: str | None
    returncode: int | None  # None: the run timed out
    wall: float
    violated: list[str] | None  # from the summary line; None if the line is missing
    tests: dict[str, TestResult]
    tail: str = ""  # the output's end, kept when something went wrong

    @property
    def killed_by(self) -> list[str]:
        return sorted(t for t, r in self.tests.items() if r.kills)

    @property
    def caught(self) -> bool:
        """As tests/e2e/test_zoo.py judges it: exit 1, the declared property among the violated."""
        return self.returncode == 1 and self.caught_by in (self.violated or [])


# --- pure parts -------------------------------------------------------------------------


def parse_junit(text: str) -> dict[str, TestResult]:
    """Each test case of a JUnit XML report: outcome, seconds, properties its failure names.

    Ids are the test names (`test_x[param]`); a name that two files share gets its
    class name in front (`test_queue_join::test_x`). A test case reported twice (a
    teardown error after a pass) keeps its worst outcome and the sum of its times.
    """
    root = ET.fromstring(text)
    cases = []
    for case in root.iter("testcase"):
        outcome = "passed"
        props: list[str] = []
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                found = f"{child.get('message', '')}\n{child.text or ''}"
                for prop in _PROPERTY_LINE.findall(found):
                    if prop not in props:
                        props.append(prop)
        cases.append((case.get("classname", ""), case.get("name", ""),
                       TestResult(outcome, float(case.get("time") or 0.0), props)))
    classes_of: dict[str, set[str]] = {}
    for classname, name, _ in cases:
        classes_of.setdefault(name, set()).add(classname)
    results: dict[str, TestResult] = {}
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    for classname, name, result in cases:
        key = name if len(classes_of[name]) == 1 else f"{classname}::{name}"
        old = results.get(key)
        if old is None:
            results[key] = result
            continue
        worst = max(old.outcome, result.outcome, key=rank.__getitem__)
        results[key] = TestResult(worst, old.seconds + result.seconds,
                                  old.props + [p for p in result.props if p not in old.props])
    return results


def group_of(test_id: str) -> str:
    """`test_x[8p2c-max3-slow-consumers]` -> `test_x`: the parametrized test it belongs to."""
    return test_id.split("[", 1)[0]


def parse_violated(output: str) -> list[str] | None:
    """The properties of `prodcon violated: order (3), join (1)`; [] for `none`; None if absent."""
    found = _SUMMARY_LINE.findall(output)
    if not found:
        return None
    line = found[-1].strip()
    if line == "none":
        return []
    return [part.split(" (")[0].strip() for part in line.split(", ") if part.strip()]


def killers(runs: Iterable[Run]) -> dict[str, set[str]]:
    """Module -> the tests that kill it."""
    return {run.name: set(run.killed_by) for run in runs}


def by_group(kills: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Module -> the groups (parametrized tests) that kill it."""
    return {module: {group_of(t) for t in tests} for module, tests in kills.items()}


def kill_counts(kills: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Test -> the modules it kills (the matrix read by column)."""
    counts: dict[str, set[str]] = {}
    for module, tests in kills.items():
        for test in tests:
            counts.setdefault(test, set()).add(module)
    return counts


def unique_kills(kills: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Test -> the modules that it, and no other test, kills."""
    unique: dict[str, list[str]] = {}
    for module, tests in sorted(kills.items()):
        tests = set(tests)
        if len(tests) == 1:
            unique.setdefault(next(iter(tests)), []).append(module)
    return unique


def droppable(costs: Mapping[str, float], kills: Mapping[str, Iterable[str]],
              needed: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Tests that can go together without a module losing its last killer, costliest first.

    `needed` (module -> tests) is a second set of constraints: the tests that fail a
    module for its declared property; a module that has some keeps at least one.
    Greedy, so a good answer rather than the best one.
    """
    constraints = [set(t) for t in kills.values() if t]
    constraints += [set(t) for t in (needed or {}).values() if t]
    dropped: list[str] = []
    for test in sorted(costs, key=lambda t: (-costs[t], t)):
        if all(c - {test} - set(dropped) for c in constraints if test in c):
            dropped.append(test)
    return dropped


def caught_by(module: Path) -> str | None:
    """The property a zoo module declares, read without importing it."""
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "CAUGHT_BY" for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def select(modules: list[Path], patterns: list[str] | None) -> list[Path]:
    """Modules whose stem matches one of the patterns (a glob, or a part of the name)."""
    if not patterns:
        return modules
    return [m for m in modules
            if any(fnmatch.fnmatch(m.stem, p) or p in m.stem for p in patterns)]


# --- running ------------------------------------------------------------------------------


def clean_env(src: Path | None = None) -> dict[str, str]:
    """This environment without pytest's own variables (the kit reads PYTEST_CURRENT_TEST);
    with `src`, the kit is imported from that source tree rather than the installed one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def run_kit(name: str, impl: str, seed: int, timeout: float, extra: list[str],
            module_caught_by: str | None = None, src: Path | None = None) -> Run:
    with tempfile.TemporaryDirectory(prefix="kill_matrix_") as tmp:
        report = Path(tmp) / "report.xml"
        command = [sys.executable, "-m", "pytest", f"--prodcon-impl={impl}",
                   f"--prodcon-seed={seed}", "-p", "no:cacheprovider", "-p", "no:randomly",
                   "-q", "-rA", f"--junitxml={report}", *extra]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=tmp, capture_output=True, text=True,
                                  timeout=timeout, env=clean_env(src))
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout or b""
            out = out.decode(errors="replace") if isinstance(out, bytes) else out
            return Run(name, impl, module_caught_by, None, time.perf_counter() - start,
                       None, {}, out[-3000:])
        wall = time.perf_counter() - start
        output = done.stdout + done.stderr
        tests = parse_junit(report.read_text()) if report.exists() else {}
        violated = parse_violated(output)
        bad = done.returncode not in (0, 1) or violated is None or not tests
        return Run(name, impl, module_caught_by, done.returncode, wall, violated, tests,
                   output[-3000:] if bad else "")


def run_all(modules: list[Path], seed: int, jobs: int, timeout: float,
            extra: list[str], src: Path | None = None) -> tuple[Run, list[Run]]:
    work = [(REFERENCE, REFERENCE, None)]
    work += [(m.stem, str(m), caught_by(m)) for m in modules]
    runs: dict[str, Run] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_kit, name, impl, seed, timeout, extra, declared, src): name
                   for name, impl, declared in work}
        for count, future in enumerate(as_completed(futures), 1):
            run = future.result()
            runs[run.name] = run
            code = "timeout" if run.returncode is None else f"exit {run.returncode}"
            print(f"  [{count}/{len(work)}] {run.name}: {code}, {run.wall:.1f} s, "
                  f"{len(run.killed_by)} failing test(s)", file=sys.stderr, flush=True)
    reference = runs.pop(REFERENCE)
    return reference, [runs[m.stem] for m in modules]


# --- the report ---------------------------------------------------------------------------


def analyse(reference: Run, runs: list[Run]) -> dict:
    costs = {t: r.seconds for t, r in reference.tests.items()}
    every_test = sorted(set(costs) | {t for run in runs for t in run.tests})
    kills = killers(runs)
    per_test_kills = kill_counts(kills)
    unique = unique_kills(kills)
    group_kills = by_group(kills)
    per_group_kills = kill_counts(group_kills)
    group_unique = unique_kills(group_kills)
    right = {run.name: {t for t in run.killed_by if run.caught_by in run.tests[t].props}
             for run in runs}
    unique_right = unique_kills(right)
    group_unique_right = unique_kills(by_group(right))
    tests = [{
        "test": t, "group": group_of(t), "reference_seconds": costs.get(t),
        "reference_outcome": reference.tests[t].outcome if t in reference.tests else None,
        "kills": sorted(per_test_kills.get(t, ())),
        "unique_kills": unique.get(t, []),
        "unique_declared_kills": unique_right.get(t, []),
    } for t in every_test]
    tests.sort(key=lambda row: (-(row["reference_seconds"] or 0.0), row["test"]))
    groups: dict[str, dict] = {}
    for row in tests:
        g = groups.setdefault(row["group"], {"group": row["group"], "tests": 0,
                                              "reference_seconds": 0.0})
        g["tests"] += 1
        g["reference_seconds"] += row["reference_seconds"] or 0.0
    for name, g in groups.items():
        g["kills"] = sorted(per_group_kills.get(name, ()))
        g["unique_kills"] = group_unique.get(name, [])
        g["unique_declared_kills"] = group_unique_right.get(name, [])
    group_rows = sorted(groups.values(), key=lambda g: (-g["reference_seconds"], g["group"]))
    idle = [row for row in tests if not row["kills"]]
    drop = droppable({t: costs.get(t, 0.0) for t in every_test}, kills, right)
    drop_any = droppable({t: costs.get(t, 0.0) for t in every_test}, kills)
    modules = [{
        "module": run.name, "caught_by": run.caught_by, "returncode": run.returncode,
        "wall_seconds": run.wall, "violated": run.violated, "killed_by": run.killed_by,
        "killed_for_declared_property_by": sorted(right[run.name]),
        "declared_property_violated": run.caught_by in (run.violated or []),
        "caught": run.caught,
        "outcomes": {t: asdict(r) for t, r in sorted(run.tests.items())},
        "tail": run.tail,
    } for run in runs]
    return {
        "seed": None, "python": platform.python_version(),
        "reference": {"returncode": reference.returncode, "wall_seconds": reference.wall,
                      "violated": reference.violated, "tail": reference.tail,
                      "outcomes": {t: asdict(r) for t, r in sorted(reference.tests.items())}},
        "tests": tests, "groups": group_rows,
        "kill_nothing": {"tests": [row["test"] for row in idle],
                         "reference_seconds": sum(row["reference_seconds"] or 0.0
                                                  for row in idle)},
        "droppable_keeping_declared_kills": {
            "tests": drop, "reference_seconds": sum(costs.get(t, 0.0) for t in drop)},
        "droppable_keeping_any_kill": {
            "tests": drop_any, "reference_seconds": sum(costs.get(t, 0.0) for t in drop_any)},
        "modules": modules,
        "summary": {
            "modules": len(runs), "caught": sum(run.caught for run in runs),
            "failed_at_all": sum(bool(run.killed_by) or run.returncode == 1 for run in runs),
            "reference_suite_seconds": sum(costs.values()),
            "reference_wall_seconds": reference.wall,
            "module_wall_seconds": sum(run.wall for run in runs),
        },
    }


def _unique_names(row: dict) -> str:
    declared = row["unique_declared_kills"]
    names = [m + ("*" if m in declared else "") for m in row["unique_kills"]]
    names += [f"{m}*" for m in declared if m not in row["unique_kills"]]
    return ", ".join(names)


def render(report: dict) -> str:
    out = []
    s = report["summary"]
    out.append(f"# kill matrix, quick profile, seed {report['seed']}, Python {report['python']}"
               f", {s['modules']} zoo module(s), {time.strftime('%Y-%m-%d %H:%M')}")
    if report.get("src"):
        out.append(f"# kit and zoo from {report['src']}")
    ref = report["reference"]
    if ref["returncode"] != 0:
        out.append(f"!! the reference run exited {ref['returncode']}: costs are suspect\n"
                   f"{ref['tail']}")
    out.append("")
    out.append("## per test, costliest first (seconds on the reference)")
    width = max([len(r["test"]) for r in report["tests"]] + [4])
    out.append(f"{'test':{width}s}  {'ref s':>6s}  {'kills':>5s}  {'uniq':>4s}  {'udecl':>5s}"
               "  unique kills")
    for row in report["tests"]:
        cost = row["reference_seconds"]
        out.append(f"{row['test']:{width}s}  {cost if cost is not None else float('nan'):6.2f}"
                   f"  {len(row['kills']):5d}  {len(row['unique_kills']):4d}  "
                   f"{len(row['unique_declared_kills']):5d}  {_unique_names(row)}")
    out.append("  (uniq: modules no other test fails; udecl: modules no other test fails for "
               "their CAUGHT_BY, marked *)")
    out.append("")
    out.append("## per group (parametrized test), costliest first")
    width = max([len(g["group"]) for g in report["groups"]] + [5])
    out.append(f"{'group':{width}s}  {'n':>2s}  {'ref s':>6s}  {'kills':>5s}  {'uniq':>4s}"
               f"  {'udecl':>5s}  unique kills")
    for g in report["groups"]:
        out.append(f"{g['group']:{width}s}  {g['tests']:2d}  {g['reference_seconds']:6.2f}  "
                   f"{len(g['kills']):5d}  {len(g['unique_kills']):4d}  "
                   f"{len(g['unique_declared_kills']):5d}  {_unique_names(g)}")
    out.append("")
    idle = report["kill_nothing"]
    out.append(f"## tests that kill nothing: candidates to speed up or drop "
               f"({len(idle['tests'])} test(s), {idle['reference_seconds']:.2f} s on the "
               "reference)")
    costs = {row["test"]: row["reference_seconds"] or 0.0 for row in report["tests"]}
    for test in idle["tests"]:
        out.append(f"  {costs[test]:6.2f}  {test}")
    for key, label in (("droppable_keeping_declared_kills",
                        "every module still killed, and still failed for its CAUGHT_BY"),
                       ("droppable_keeping_any_kill", "every module still killed")):
        drop = report[key]
        extra = [t for t in drop["tests"] if t not in idle["tests"]]
        out.append("")
        out.append(f"## droppable together, greedy, costliest first ({label}): "
                   f"{len(drop['tests'])} test(s), {drop['reference_seconds']:.2f} s; "
                   f"beyond the ones that kill nothing:")
        for test in extra:
            out.append(f"  {costs[test]:6.2f}  {test}")
        kept = [t for t in costs if t not in drop["tests"]]
        out.append(f"  kept ({len(kept)}, {sum(costs[t] for t in kept):.2f} s): "
                   + ", ".join(kept))
    out.append("")
    out.append("## per zoo module")
    width = max([len(m["module"]) for m in report["modules"]] + [6])
    out.append(f"{'module':{width}s}  {'CAUGHT_BY':17s}  {'kills':>5s}  {'decl':>4s}  "
               f"{'wall s':>6s}  verdict")
    for m in report["modules"]:
        if m["returncode"] is None:
            verdict = "TIMED OUT"
        elif m["caught"]:
            verdict = "caught"
        elif m["returncode"] == 1:
            verdict = f"NOT for {m['caught_by']}: {', '.join(m['violated'] or [])}"
        else:
            verdict = f"NOT caught (exit {m['returncode']})"
        out.append(f"{m['module']:{width}s}  {m['caught_by'] or '?':17s}  "
                   f"{len(m['killed_by']):5d}  "
                   f"{len(m['killed_for_declared_property_by']):4d}  "
                   f"{m['wall_seconds']:6.1f}  {verdict}")
    out.append("  (kills: tests that fail it; decl: those whose failure names its CAUGHT_BY)")
    out.append("")
    out.append(f"## summary: {s['caught']}/{s['modules']} zoo modules caught for their "
               f"CAUGHT_BY ({s['failed_at_all']} failed at all)")
    out.append(f"  reference: {s['reference_suite_seconds']:.1f} s of test time, "
               f"{s['reference_wall_seconds']:.1f} s wall")
    out.append(f"  zoo runs: {s['module_wall_seconds']:.1f} s wall summed"
               + (f"; whole matrix {s['elapsed_seconds']:.1f} s elapsed with "
                  f"{s.get('jobs', '?')} job(s)" if "elapsed_seconds" in s else ""))
    for m in report["modules"]:
        if m["tail"]:
            out.append(f"\n--- {m['module']}: output's end ---\n{m['tail']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    parser.add_argument("--only", action="append", metavar="PATTERN",
                        help="zoo modules whose name matches (glob or part); repeatable")
    parser.add_argument("--json", metavar="FILE", help="write everything as JSON to FILE")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds one run may take (default 900)")
    parser.add_argument("--src", type=Path, metavar="DIR",
                        help="a source tree (e.g. `git archive` of a commit) to take the kit "
                        "and the zoo from, instead of the installed kit and this checkout's zoo")
    args = parser.parse_args(argv)
    src = args.src.resolve() if args.src else None
    zoo = src / "tests" / "zoo" / "broken" if src else ZOO
    modules = select(sorted(zoo.glob("*.py")), args.only)
    if not modules:
        parser.error(f"no zoo module matches {args.only}")
    start = time.perf_counter()
    reference, runs = run_all(modules, args.seed, args.jobs, args.timeout, [], src)
    report = analyse(reference, runs)
    report["seed"] = args.seed
    report["src"] = str(src) if src else None
    report["summary"]["elapsed_seconds"] = time.perf_counter() - start
    report["summary"]["jobs"] = args.jobs
    print(render(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
