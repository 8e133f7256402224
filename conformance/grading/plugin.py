"""The grading session: a pytest plugin (`-p prodcon.grading.plugin`) whose items are
the submissions of the plan that `prodcon grade` wrote (`--prodcon-grade-plan`).

Each item runs the suite on its submission (`suite_run.run_suite`) and hands what
the run left back on its report, so it travels through pytest-xdist like any
report. The controller grades each report as it arrives and, after the last one,
writes every output file: whatever a submission wrote meanwhile is replaced.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from prodcon.grading import judge, reports, rubric
from prodcon.grading.plan import GradingPlan
from prodcon.grading.submissions import Submission
from prodcon.grading.suite_run import SuiteResult, run_suite

#: The user property that carries a `SuiteResult` from the worker to the controller.
_KEY = "prodcon_grade"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--prodcon-grade-plan", dest="prodcon_grade_plan", default=None,
                     help="(internal to `prodcon grade`) the grading plan file")


def pytest_configure(config: pytest.Config) -> None:
    plan_file = config.getoption("prodcon_grade_plan")
    if plan_file is None:
        return
    plan = GradingPlan.load(plan_file)
    config.pluginmanager.register(GradingSession(plan, config), "prodcon-grading")


class SubmissionItem(pytest.Item):
    """Grading one submission: the trusted run, its records on the report."""

    def __init__(self, *, submission: Submission, plan: GradingPlan, **kwargs) -> None:
        super().__init__(**kwargs)
        self.submission = submission
        self.plan = plan

    def runtest(self) -> None:
        result = run_suite(self.submission.module, self.plan, isolate=True)
        self.user_properties.append((_KEY, json.dumps(asdict(result))))

    def reportinfo(self):
        return self.submission.path, None, f"grade {self.submission.name}"


class GradingSession:
    """The items, each one's grade as its report arrives, and the files at the end."""

    def __init__(self, plan: GradingPlan, config: pytest.Config) -> None:
        self.plan = plan
        self.config = config
        self.rubric = rubric.load(plan.rubric_path, plan.model or "threads")
        self.graded: dict[str, reports.Graded] = {}
        self.started = time.monotonic()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list) -> None:
        items[:] = [SubmissionItem.from_parent(session, name=sub.name, submission=sub,
                                               plan=self.plan)
                    for sub in self.plan.submissions]

    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool:
        return True  # the items are the submissions, not files

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if hasattr(self.config, "workerinput"):
            return
        if report.when != "call" and not report.failed:
            return
        name = report.nodeid.split("::")[-1]
        sub = next(s for s in self.plan.submissions if s.name == name)
        data = dict(report.user_properties).get(_KEY)
        if data is None:  # the grading itself broke on it: say so, score nothing
            graded = reports.Graded(sub.name, sub.path, None, self.rubric.max_score,
                                    reason="prodcon could not grade it (an error in "
                                    "the grader; see its output)")
        else:
            result = SuiteResult(**json.loads(data))
            graded = judge.grade(sub, result, self.plan, self.rubric)
        self.graded[sub.name] = graded
        self._progress(graded)

    def _progress(self, graded: reports.Graded) -> None:
        done, total = len(self.graded), len(self.plan.submissions)
        short = sum(1 for g in self.graded.values() if g.total < g.max_score)
        elapsed = time.monotonic() - self.started
        left = elapsed / done * (total - done)
        line = (f"[{done}/{total}] {graded.name}: {graded.total:g}/{graded.max_score:g}"
                f"{' (' + graded.reason[:80] + ')' if graded.reason else ''}; "
                f"{short} below full marks so far; ~{_clock(left)} left")
        print(line, file=sys.stderr, flush=True)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):
            return
        graded = [self.graded[s.name] for s in self.plan.submissions if s.name in self.graded]
        struck = [g for g in graded if g.kit_failed]
        if struck:
            tests = sum(len(g.kit_failed) for g in struck)
            print(f"prodcon grade: the kit itself failed in {tests} test(s) of {len(struck)} "
                  "submission(s), not counted against them: a bug in prodcon (grades.csv "
                  "says where; please report it)", file=sys.stderr, flush=True)
        reports.write_all(Path(self.plan.outdir), graded, self.rubric,
                          gradescope=self.plan.gradescope)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
