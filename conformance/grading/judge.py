"""Turning what a submission's run left into its grade: the rubric's score of its
records, and the one reason a student reads when the run ended early.

Runs in the grading session's controller, on records only: no code of the
submission runs here.
"""

from __future__ import annotations

import re
import shlex

from prodcon.grading import reports, rubric
from prodcon.grading.plan import GradingPlan
from prodcon.grading.submissions import Submission, impl_name
from prodcon.grading.suite_run import SuiteResult


def grade(sub: Submission, result: SuiteResult, plan: GradingPlan,
          chosen: rubric.Rubric) -> reports.Graded:
    """`sub`'s grade: what the rubric makes of its records, the command that replays its
    run, and the one reason its run ended early, if it did (a student fixes one cause
    at a time; a list of symptoms would hide it)."""
    reported = {r["test"] for r in result.records}
    done = sum(1 for test in plan.expected if test in reported)
    replay = shlex.join(["pytest", f"--prodcon-impl={impl_name(sub.module)}",
                         *plan.options()])
    graded = reports.Graded(sub.name, sub.path, None, chosen.max_score, replay=replay,
                            duration=round(result.duration, 2))
    if result.run is None:  # never got as far as the first test
        graded.reason = _startup_failure(result.output)
        return graded
    graded.score = rubric.score(chosen, result.records, plan.expected)
    graded.kit_failed = [r["test"] for r in result.records if r["outcome"] == "kit-error"]
    graded.covered = [r["coverage"] for r in result.records if r.get("coverage")]
    # A death in a test outranks an error most failures share, which outranks "ended early".
    one_cause = _died(result.records) or _common_error(result.records)
    if result.exit_code is None:
        graded.reason = (f"stopped at the time limit of {plan.time_limit:g} s after {done} of "
                         f"{len(plan.expected)} tests")
    elif one_cause:
        graded.reason = one_cause
    elif done < len(plan.expected):
        graded.reason = (f"the run ended after {done} of {len(plan.expected)} tests "
                         f"(exit code {result.exit_code}): {_last_line(result.output)}")
    return graded


def _died(records: list[dict]) -> str:
    for record in records:
        message = record.get("message") or ""
        if "process is gone" in message:
            return ("the submission's process died during " + record["test"] + ": "
                    + message.splitlines()[0].removeprefix("prodcon: "))
    return ""


def _common_error(records: list[dict]) -> str:
    """One error behind most failures (a missing method, no threads left) is the reason:
    the per-property hints would only send the student looking in the wrong places."""
    lines = [r["message"].strip().splitlines()[-1].removeprefix("E ").strip() for r in records
             if r["outcome"] == "failed" and not r.get("properties") and r.get("message")]
    if len(lines) < 5:
        return ""
    line, count = max(((line, lines.count(line)) for line in set(lines)),
                      key=lambda pair: (pair[1], pair[0]))
    failed = sum(1 for r in records if r["outcome"] == "failed")
    if count < 0.8 * failed:
        return ""
    return f"{count} of {failed} failing tests ended with the same error: {line[:300]}"


_NOISE = re.compile(r"^(=+ |no tests ran|\s*$)")


def _startup_failure(output: str) -> str:
    """The kit's own words on why the run never started (an import that failed, hung...)."""
    lines = [line.removeprefix("ERROR: ") for line in output.splitlines()
             if not _NOISE.match(line)]
    text = " ".join(line.strip() for line in lines[-6:])[:1500]
    return f"the suite could not start: {text}" if text else "the suite could not start"


def _last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else "no output"
