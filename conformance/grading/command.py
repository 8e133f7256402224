"""`prodcon grade`: a class of submissions, each run by the kit in isolation, then scored.

The grading run is a pytest session whose items are the submissions, so `-j N` is
pytest-xdist's `-n N` and `--tx` spreads a class over machines. Each item starts a
trusted pytest of the conformance suite on one submission (`--prodcon-isolate`: the
submission's code runs only in the sandbox's child process, never in the process
that writes the verdict), under a wall-clock limit, and hands its per-test records
back. Scoring and every output file happen in the controller at the end, after the
last submission ran: whatever a submission wrote meanwhile is replaced.

Fairness: every submission runs with the same seed, profile and factor, and the
suite's Hypothesis profile is derandomized, so they all see the same inputs. What a
complete run reports comes from the reference, run first with the same settings.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from prodcon.errors import RubricError, UsageError
from prodcon.grading import reports, rubric
from prodcon.processes import kit_import_root

#: Time a stopped run gets to close its sandbox and flush its records.
STOP_GRACE = 15.0
_KEY = "prodcon_grade"
_SUBMISSION_EXTRAS = shutil.ignore_patterns("__pycache__", "*.pyc", ".git", ".*")


@dataclass(frozen=True)
class Submission:
    name: str  # unique in the class: the file's stem or the folder's name
    path: str  # as found
    module: str  # the .py file the kit imports


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs to grade any submission; one JSON file, shared by all."""

    submissions: list[Submission]
    seed: int
    profile: str
    timeout_factor: float
    time_limit: float
    expected: list[str]
    outdir: str
    rubric_path: str | None
    gradescope: bool
    #: --prodcon-strict for every run: the rubric counts strict-linearizability.
    strict: bool = False

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def load(cls, path: str) -> Plan:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        data["submissions"] = [Submission(**entry) for entry in data["submissions"]]
        return cls(**data)




# --- finding the submissions ---------------------------------------------------------------


def find_submissions(paths: list[str], module: str | None) -> list[Submission]:
    """Each path is a submission (a .py file, or a folder holding the module and no folder
    that does), or a folder of submissions (each .py file and each such folder in it)."""
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or folder")
        entry = _as_submission(path, module)
        holds_submissions = path.is_dir() and any(
            child.is_dir() and _as_submission(child, module) is not None
            for child in path.iterdir() if not child.name.startswith((".", "_")))
        if entry is not None and not holds_submissions:
            found.append(entry)
            continue
        if not path.is_dir():
            raise UsageError(f"{raw}: not a .py file or a folder")
        inner = [s for child in sorted(path.iterdir()) if not child.name.startswith((".", "_"))
                 for s in [_as_submission(child, module)] if s is not None]
        if not inner:
            raise UsageError(f"{raw}: holds no submission (.py files, or folders with one)")
        found.extend(inner)
    return _unique(found)


def _as_submission(path: Path, module: str | None) -> Submission | None:
    if path.is_file():
        return Submission(path.stem, str(path), str(path)) if path.suffix == ".py" else None
    if not path.is_dir():
        return None
    if module is not None:
        chosen = path / (module if module.endswith(".py") else f"{module}.py")
        return Submission(path.name, str(path), str(chosen)) if chosen.is_file() else None
    modules = [p for p in path.glob("*.py") if not p.name.startswith(("_", "."))]
    return Submission(path.name, str(path), str(modules[0])) if len(modules) == 1 else None


def _unique(found: list[Submission]) -> list[Submission]:
    """The same name twice (alice.py in two folders) gets a suffix, never overwrites."""
    seen: dict[str, int] = {}
    unique = []
    for sub in found:
        count = seen.get(sub.name, 0) + 1
        seen[sub.name] = count
        unique.append(sub if count == 1 else Submission(f"{sub.name}-{count}", sub.path,
                                                        sub.module))
    return unique


# --- one run of the suite ------------------------------------------------------------------


@dataclass
class Outcome:
    """What one trusted run of the suite left: its records and how it ended."""

    records: list[dict]
    run: dict | None
    exit_code: int | None  # None: stopped at the time limit
    output: str  # the trusted pytest's own output, its tail
    duration: float


def run_suite(impl: str | None, plan: Plan, *, isolate: bool) -> Outcome:
    """Run the conformance suite on `impl` (a .py file; None: the reference) in a fresh
    private directory.

    The pytest started here is trusted code; the submission only ever runs in the
    sandbox child it starts. Its records file lives in a directory only this user
    may read. Past the time limit it gets SIGINT (pytest stops and closes the sandbox,
    keeping the records of the tests done), then SIGKILL after `STOP_GRACE` s.
    """
    work = Path(tempfile.mkdtemp(prefix="prodcon-grade-"))
    try:
        staged = work / "submission"
        staged.mkdir()
        if impl is None:
            impl_arg = "reference"
        else:
            impl_arg = Path(impl).name
            shutil.copy2(impl, staged / impl_arg)
        (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        records = work / "records.jsonl"
        command = [sys.executable, "-m", "pytest", "-c", str(work / "pytest.ini"),
                   "--rootdir", str(work), "-p", "pytest_timeout", "-p", "prodcon.plugin",
                   "-p", "no:cacheprovider", "-q", "--no-header", "-rN", "--tb=no",
                   f"--prodcon-impl={impl_arg}", f"--prodcon-json={records}",
                   f"--prodcon-seed={plan.seed}", f"--prodcon-profile={plan.profile}",
                   f"--prodcon-timeout-factor={plan.timeout_factor:g}"]
        if isolate:
            command.append("--prodcon-isolate")
        if plan.strict:
            command.append("--prodcon-strict")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PRODCON_"))}
        env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONHASHSEED="0",
                   PYTHONPATH=_kit_path(env.get("PYTHONPATH")))
        started = time.monotonic()
        with open(work / "output.log", "wb") as log:
            proc = subprocess.Popen(command, cwd=staged, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            exit_code: int | None = _wait(proc, plan.time_limit)
        duration = time.monotonic() - started
        output = (work / "output.log").read_bytes()[-8192:].decode("utf-8", "replace")
        run, tests = _read_records(records)
        return Outcome(tests, run, exit_code, output, duration)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _kit_path(existing: str | None) -> str:
    """The kit and pytest import from where they do here, whatever the cwd."""
    return os.pathsep.join(dict.fromkeys([kit_import_root(), *(existing.split(os.pathsep)
                                                     if existing else [])]))


def _wait(proc: subprocess.Popen, limit: float) -> int | None:
    try:
        return proc.wait(limit)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(proc.pid, signal.SIGINT)
    try:
        proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
    return None


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _read_records(path: Path) -> tuple[dict | None, list[dict]]:
    """The run line and the test lines; a line that is not a record is skipped."""
    run, tests = None, []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None, []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if "run" in record and run is None:
            run = record["run"]
        elif isinstance(record.get("test"), str) and isinstance(record.get("outcome"), str):
            tests.append(record)
    return run, tests


# --- judging one submission ----------------------------------------------------------------


def judge(sub: Submission, outcome: Outcome, plan: Plan,
          chosen: rubric.Rubric) -> reports.Graded:
    reported = {r["test"] for r in outcome.records}
    done = sum(1 for test in plan.expected if test in reported)
    replay = (f"pytest --prodcon-impl={Path(sub.module).name} --prodcon-seed={plan.seed} "
              f"--prodcon-profile={plan.profile}")
    if plan.timeout_factor != 1:
        replay += f" --prodcon-timeout-factor={plan.timeout_factor:g}"
    if plan.strict:
        replay += " --prodcon-strict"
    graded = reports.Graded(sub.name, sub.path, None, chosen.max_score, replay=replay,
                                 duration=round(outcome.duration, 2))
    if outcome.run is None:  # never got as far as the first test
        graded.reason = _startup_failure(outcome.output)
        return graded
    graded.score = rubric.score(chosen, outcome.records, plan.expected)
    graded.kit_failed = [r["test"] for r in outcome.records if r["outcome"] == "kit-error"]
    if outcome.exit_code is None:
        graded.reason = (f"stopped at the time limit of {plan.time_limit:g} s after {done} of "
                         f"{len(plan.expected)} tests")
    elif _died(outcome.records):
        graded.reason = _died(outcome.records)
    elif _common_error(outcome.records):
        graded.reason = _common_error(outcome.records)
    elif done < len(plan.expected):
        graded.reason = (f"the run ended after {done} of {len(plan.expected)} tests "
                         f"(exit code {outcome.exit_code}): {_last_line(outcome.output)}")
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


# --- the grading session (a pytest plugin: `-p prodcon.grading.command`) -----------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--prodcon-grade-plan", dest="prodcon_grade_plan", default=None,
                     help="(internal to `prodcon grade`) the grading plan file")


def pytest_configure(config: pytest.Config) -> None:
    plan_file = config.getoption("prodcon_grade_plan")
    if plan_file is None:
        return
    plan = Plan.load(plan_file)
    config.pluginmanager.register(GradingSession(plan, config), "prodcon-grading")


class SubmissionItem(pytest.Item):
    """Grading one submission: the trusted run, its records on the report."""

    def __init__(self, *, submission: Submission, plan: Plan, **kwargs) -> None:
        super().__init__(**kwargs)
        self.submission = submission
        self.plan = plan

    def runtest(self) -> None:
        outcome = run_suite(self.submission.module, self.plan, isolate=True)
        self.user_properties.append((_KEY, json.dumps(asdict(outcome))))

    def reportinfo(self):
        return self.submission.path, None, f"grade {self.submission.name}"


class GradingSession:
    def __init__(self, plan: Plan, config: pytest.Config) -> None:
        self.plan = plan
        self.config = config
        self.rubric = rubric.load(plan.rubric_path)
        self.graded: dict[str, reports.Graded] = {}
        self.started = time.monotonic()
        self.written: list[Path] = []

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
            outcome = Outcome(**json.loads(data))
            graded = judge(sub, outcome, self.plan, self.rubric)
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
        self.written = reports.write_all(Path(self.plan.outdir), graded, self.rubric,
                                              gradescope=self.plan.gradescope)
        self.config.stash[_WRITTEN] = self.written


_WRITTEN = pytest.StashKey[list]()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# --- the command ---------------------------------------------------------------------------


def command(args) -> int:
    """`prodcon grade`: exit 0 when every submission was graded (whatever the grades),
    2 on bad usage, 3 when the kit fails the reference here or the grading broke."""
    try:
        chosen = rubric.load(args.rubric)
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
    plan = Plan(submissions, seed, args.profile, args.timeout_factor, args.time_limit, [],
                str(outdir), args.rubric and str(Path(args.rubric).resolve()), args.gradescope,
                strict=any(c.prop == "strict-linearizability" for c in chosen.criteria))
    print(f"prodcon grade: {len(submissions)} submissions, --prodcon-seed={seed} "
          f"--prodcon-profile={args.profile}{' --prodcon-strict' if plan.strict else ''}, "
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
    plan = Plan(**{**plan.__dict__, "expected": expected})
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prodcon-plan-") as private:
        plan_file = Path(private) / "plan.json"
        plan.save(plan_file)
        pytest_args = ["-p", "prodcon.grading.command", f"--prodcon-grade-plan={plan_file}",
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

