"""Run a scenario under many schedules and keep the first one that fails.

Each run builds its objects afresh (the scenario factory), so no state leaks from
one schedule into the next, and the strategy carries over from run to run, so a
seed names the whole sequence of schedules: same seed, same runs, same trace.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodcon.controlled.scheduler import Finding, Scheduler, current
from prodcon.controlled.strategies import Replay
from prodcon.controlled.trace import Trace


def note(text: str) -> None:
    """Put a call (e.g. "put(1)") into the trace of the calling managed thread."""
    sched, task = current()
    if sched is not None:
        sched.note(task, text)


def touch(key, mode: str) -> None:
    """Tell a systematic search that the calling managed thread's step touched `key`
    (dependence.py): the kit's own shared records, which no bytecode of the
    implementation shows."""
    sched, task = current()
    if sched is not None:
        sched.touch(key, mode)


@dataclass
class Failure:
    run: int  # 0-based index of the failing schedule
    strategy: str
    schedule: list
    findings: list
    trace: Trace
    clock: float

    def report(self) -> str:
        lines = [f"schedule {self.run + 1} failed under {self.strategy}"]
        lines += [str(f) for f in self.findings]
        lines.append(f"virtual time at the end: {self.clock:g} s")
        lines.append(self.trace.format())
        lines.append(f"replay: explore(scenario, Replay({self.schedule}), runs=1)")
        return "\n".join(lines)

    __str__ = report


def run_once(scenario, strategy, line_files=(), max_steps: int = 200_000,
             granularity: str = "line", names=None):
    """One schedule: (RunResult, findings including a failed final check)."""
    bodies, check = scenario()
    strategy.begin_run()
    try:
        result = Scheduler(strategy, line_files=line_files, max_steps=max_steps,
                           granularity=granularity).run(bodies, names)
    finally:
        strategy.end_run()
    findings = list(result.findings)
    if not findings and check is not None:
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - a failed check is a finding
            findings.append(Finding("check", None, f"{type(exc).__name__}: {exc}"))
    return result, findings


def explore(scenario, strategy, runs: int = 100, line_files=(),
            max_steps: int = 200_000, granularity: str = "line") -> Failure | None:
    """Up to `runs` schedules of `scenario()` -> (thread bodies, final check or None).

    Returns the first failing schedule, or None if all passed (or the strategy ran
    out of schedules). `line_files`: files whose every line (granularity="line")
    or bytecode ("opcode") is a switch point.
    """
    for run in range(runs):
        if strategy.exhausted:
            break
        description = strategy.describe()
        result, findings = run_once(scenario, strategy, line_files, max_steps,
                                      granularity)
        if findings:
            return Failure(run, description, result.schedule, findings, result.trace,
                           result.clock)
    return None


def replay(scenario, schedule, line_files=(), max_steps: int = 200_000,
           granularity: str = "line") -> Failure | None:
    """Run one recorded schedule again."""
    return explore(scenario, Replay(schedule), 1, line_files, max_steps, granularity)
