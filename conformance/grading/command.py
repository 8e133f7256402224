"""`prodcon grade`: a class of submissions, each run by the kit in isolation, then scored.

The grading run is a pytest session whose items are the submissions (the plugin
`prodcon.grading.plugin`), so `-j N` is pytest-xdist's `-n N` and `--tx` spreads a
class over machines; no files are copied there (no rsync): each worker must see the
plan file and the submissions at the same paths, with prodcon installed. Each item
starts a trusted pytest of the conformance suite on one submission
(`--prodcon-isolate`: the submission's code runs only in the sandbox's child process,
never in the process that writes the verdict), under a wall-clock limit, and hands its
per-test records back. Scoring and every output file happen in the controller at the
end, after the last submission ran: whatever a submission wrote meanwhile is replaced.

Fairness: every submission runs with the same seed, profile and factor, and the
suite's Hypothesis profile is derandomized, so they all see the same inputs. What a
complete run reports comes from the reference, run first with the same settings.
Concurrent scenarios still vary with the machine's load: the same submission can
score about a point apart from one run to the next (lifo: 90.18 and 90.42, seed 5).
"""

from __future__ import annotations

import dataclasses
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import pytest

from prodcon.errors import RubricError, UsageError
from prodcon.grading import rubric
from prodcon.grading.plan import GradingPlan
from prodcon.grading.submissions import find_submissions
from prodcon.grading.suite_run import run_suite


def command(args) -> int:
    """`prodcon grade`: exit 0 when every submission was graded (whatever the grades),
    2 on bad usage, 3 when the kit fails the reference here or the grading broke."""
    try:
        chosen = rubric.load(args.rubric, args.model or "threads")
        submissions = find_submissions(args.submissions, args.module)
    except (RubricError, UsageError) as exc:
        print(f"prodcon grade: {exc}", file=sys.stderr)
        return 2
    if args.jobs < 1 or args.time_limit <= 0:
        print("prodcon grade: -j and --time-limit must be positive", file=sys.stderr)
        return 2
    started = time.monotonic()
    seed = args.seed if args.seed is not None else random.randrange(1, 2**31)
    outdir = Path(args.outdir).resolve()
    plan = GradingPlan(submissions, seed, args.profile, args.timeout_factor, args.time_limit,
                       [], str(outdir), args.rubric and str(Path(args.rubric).resolve()),
                       args.gradescope,
                       strict=any(c.prop == "strict-linearizability" for c in chosen.criteria),
                       model=args.model)
    print(f"prodcon grade: {len(submissions)} submissions, --prodcon-seed={seed} "
          f"--prodcon-profile={args.profile}{' --prodcon-strict' if plan.strict else ''}"
          f"{f' --prodcon-model={args.model}' if args.model else ''}, "
          f"rubric {chosen.source} "
          f"({chosen.max_score:g} points), time limit {args.time_limit:g} s each, "
          f"{args.jobs} at a time", file=sys.stderr, flush=True)
    baseline = run_suite(None, plan, isolate=False)
    expected = [r["test"] for r in baseline.records]
    failed = [r["test"] for r in baseline.records if r["outcome"] == "failed"]
    if baseline.exit_code != 0 or failed or not expected:
        print("prodcon grade: the reference does not pass the suite here, so nothing can be "
              f"graded fairly (failed: {', '.join(failed) or 'none'}; exit code "
              f"{baseline.exit_code}):\n{baseline.output[-3000:]}", file=sys.stderr)
        return 3
    plan = dataclasses.replace(plan, expected=expected)
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prodcon-plan-") as private:
        plan_file = Path(private) / "plan.json"
        plan.save(plan_file)
        pytest_args = ["-p", "prodcon.grading.plugin", f"--prodcon-grade-plan={plan_file}",
                       "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:terminal",
                       "-o", "console_output_style=classic", "--rootdir", private,
                       "-c", os.devnull, "-p", "no:timeout",
                       "-W", "ignore::pytest.PytestAssertRewriteWarning"]
        if args.jobs > 1:
            pytest_args += ["-n", str(args.jobs)]
        pytest_args += list(args.pytest_args or [])
        code = pytest.main(pytest_args, plugins=[])
    if code not in (0, pytest.ExitCode.OK):
        print(f"prodcon grade: the grading session ended with exit code {int(code)}",
              file=sys.stderr)
        return 3
    print(f"prodcon grade: wrote {outdir}: grades.csv, grades.json, summary.html, feedback/"
          f"{', results.json' if args.gradescope else ''} in {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    return 0
