"""A prodcon run: the implementation loaded, the suite collected, failures explained.

Registered by `prodcon.plugin` only when --prodcon-impl is given. State lives in
`config.stash[KIT]`; per-test findings ride on the reports, so they survive xdist.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from prodcon import __version__, contract, errors
from prodcon.errors import KitError, UnusableInterpreter
from prodcon.plugin import setting
from prodcon.session import twin
from prodcon.session.kit import Kit
from prodcon.settings import PROFILES, Settings, new_seed
from prodcon.verdict import PROPERTIES, Stuck, Violation

SUITE_DIR = Path(__file__).parent.parent / "suite"
REPORT_KEY = "prodcon_properties"
KIT_ERROR_KEY = "prodcon_kit_error"  # what the kit was doing when it failed in a test
HTML_KEY = "prodcon_timeline"  # (path, page) of a failing scenario's picture


@dataclass
class KitRun:
    settings: Settings
    impl: contract.Implementation
    impl_arg: str  # as the user wrote it, for the replay command
    html_dir: str | None  # --prodcon-html: where failing scenarios' timelines go
    json_path: str | None = None  # --prodcon-json: every test's outcome, a line each
    free_threaded: twin.Interpreter | None = None  # --prodcon-free-threaded
    threads_at_start: set = field(default_factory=set)
    violated: dict[str, list[str]] = field(default_factory=dict)  # property -> test names
    kit_failed: list[str] = field(default_factory=list)  # tests in which the kit itself failed
    outcomes: dict[str, str] = field(default_factory=dict)  # node id -> passed/failed/...
    exitstatus: int = 0

    def replay(self, test_name: str | None = None) -> str:
        # Without the GIL the interpreter is part of what is replayed.
        runner = [sys.executable, "-m", "pytest"] if twin.gil_disabled() else ["pytest"]
        words = [*runner, f"--prodcon-impl={self.impl_arg}",
                 f"--prodcon-seed={self.settings.seed}",
                 f"--prodcon-profile={self.settings.profile.name}"]
        if self.settings.timeout_factor != 1.0:
            words.append(f"--prodcon-timeout-factor={self.settings.timeout_factor:g}")
        if self.settings.explore is not None:
            words.append(f"--prodcon-explore={self.settings.explore}")
        if self.settings.strict:
            words.append("--prodcon-strict")
        if getattr(self.impl, "sandbox", None) is not None:
            words.append("--prodcon-isolate")
        if test_name:
            words += ["-k", test_name]
        return shlex.join(words)


KIT = pytest.StashKey[KitRun]()


def activate(config: pytest.Config) -> None:
    impl_arg = setting(config, "prodcon_impl")
    profile_name = setting(config, "prodcon_profile") or "quick"
    if profile_name not in PROFILES:
        raise pytest.UsageError(f"prodcon_profile must be one of {', '.join(PROFILES)}")
    factor = setting(config, "prodcon_timeout_factor", float)
    factor = 1.0 if factor is None else factor
    if factor <= 0:
        raise pytest.UsageError("--prodcon-timeout-factor must be positive")
    seed = setting(config, "prodcon_seed", int)
    workerinput = getattr(config, "workerinput", None)
    if seed is None and workerinput is not None:
        seed = workerinput.get("prodcon_seed")
    if seed is None:
        seed = new_seed()
    explore = setting(config, "prodcon_explore", int)
    if explore is not None and explore < 0:
        raise pytest.UsageError("--prodcon-explore must be 0 or more")
    settings = Settings(seed=seed, profile=PROFILES[profile_name], timeout_factor=factor,
                        explore=explore, strict=bool(setting(config, "prodcon_strict", bool)))
    try:
        impl = _load(config, impl_arg, settings)
    except contract.ContractError as exc:
        raise pytest.UsageError(f"prodcon: {exc}") from None
    here = Path(config.invocation_params.dir)
    html_dir = setting(config, "prodcon_html")
    json_path = setting(config, "prodcon_json")
    ft_path = setting(config, "prodcon_free_threaded")
    interpreter = None
    if ft_path is not None:
        try:
            interpreter = twin.probe(ft_path)
        except UnusableInterpreter as exc:
            raise pytest.UsageError(f"--prodcon-free-threaded: {exc}") from None
    config.stash[KIT] = KitRun(
        settings, impl, impl_arg,
        html_dir=None if html_dir is None else str(here / html_dir),
        json_path=None if json_path is None else str(here / json_path),
        free_threaded=interpreter,
        threads_at_start=set(threading.enumerate()))
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # A bare `pytest --prodcon-impl=NAME` runs the bundled suite.
        config.args = [str(SUITE_DIR)]
    config.pluginmanager.register(sys.modules[__name__], "prodcon-run")
    config.pluginmanager.register(Tally(config.stash[KIT], workerinput is not None),
                                  "prodcon-tally")


def _load(config: pytest.Config, impl_arg: str, settings: Settings) -> contract.Implementation:
    here = Path(config.invocation_params.dir)
    bound = settings.bound(contract.IMPORT_BOUND)
    if not config.getoption("prodcon_isolate"):
        return contract.load(impl_arg, here, bound)
    from prodcon import isolation

    return isolation.load_isolated(impl_arg, here, isolation.Limits(import_bound=bound))


# --- hooks (active only in a prodcon run) ----------------------------------------------


def pytest_report_header(config: pytest.Config) -> list[str]:
    kit = config.stash[KIT]
    impl = kit.impl
    version = f" {impl.version}" if impl.version else ""
    lines = [
        f"prodcon {__version__}: implementation {kit.impl_arg}{version} "
        f"({impl.file or 'built-in'})",
        f"prodcon roles: {impl.roles_line()}",
        f"prodcon run: --prodcon-seed={kit.settings.seed} --prodcon-profile="
        f"{kit.settings.profile.name} --prodcon-timeout-factor={kit.settings.timeout_factor:g}"
        f" --prodcon-explore={kit.settings.schedules}"
        f"{' --prodcon-strict' if kit.settings.strict else ''}{twin.gil_status()}",
    ]
    if kit.free_threaded is not None:
        lines.append("prodcon free-threaded: each stress test again under "
                     f"{kit.free_threaded.describe()}")
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kit = config.stash[KIT]
    provided = {"queue": kit.impl.provides_queue, "workers": kit.impl.provides_workers}
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("prodcon_role")
        if marker is not None and not provided.get(marker.args[0], True):
            drop.append(item)
            continue
        keep.append(item)
        _add_backstop(config, item, kit.settings)
    if drop:
        config.hook.pytest_deselected(items=drop)
    if kit.free_threaded is not None:
        keep = twin.add_twins(keep, kit.free_threaded)
    items[:] = keep


def _add_backstop(config: pytest.Config, item: pytest.Item, settings: Settings) -> None:
    """pytest-timeout as a last resort behind the kit's own bounds, unless the user set one."""
    if not config.pluginmanager.hasplugin("timeout"):
        return
    if item.get_closest_marker("timeout") or config.getoption("timeout", None):
        return
    item.add_marker(pytest.mark.timeout(settings.bound(600)))


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    """The suite's files are collected even where python_files says otherwise."""
    if file_path.parent != SUITE_DIR or not file_path.name.startswith("test_"):
        return None
    if file_path.suffix != ".py" or _matches_python_files(parent.config, file_path):
        return None  # pytest's own collector takes it
    return pytest.Module.from_parent(parent, path=file_path)


def _matches_python_files(config: pytest.Config, path: Path) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in config.getini("python_files"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None:
        return
    kit = item.config.stash[KIT]
    try:
        _explain_report(report, item, kit, call.excinfo.value)
    except Exception as exc:  # noqa: BLE001 - explaining is the kit's own code too
        fault = KitError.caught("writing the report of this test's failure", exc)
        _report_kit_error(report, item, kit, fault)


def _explain_report(report: pytest.TestReport, item: pytest.Item, kit: KitRun,
                    exc: BaseException) -> None:
    """The kit's report of a failure: its own error, a finding, or the sandbox's death;
    anything else keeps pytest's report (the implementation's exception, traceback)."""
    fault = _first(exc, KitError)
    if fault is not None:
        _report_kit_error(report, item, kit, fault)
        return
    finding = _first(exc, (Violation, Stuck))
    if finding is None:
        if type(exc).__name__ == "SandboxDied":  # --prodcon-isolate
            report.longrepr = (f"prodcon: {exc}\nThe implementation's process "
                               "is gone; this test and every later one fail at once.")
        return
    picture = _picture(finding, item, kit)
    report.longrepr = explain(finding, item, kit, picture and picture[0])
    report.__dict__[REPORT_KEY] = list(finding.props)
    if picture:
        report.__dict__[HTML_KEY] = picture


def _picture(finding: Violation | Stuck, item: pytest.Item, kit: KitRun):
    """(path, html) of the failing scenario's timeline, when --prodcon-html asks for one.

    Drawn here, written by the controller (`Tally`): under xdist the page rides
    on the report like the rest of the finding.
    """
    evidence = finding.evidence
    if kit.html_dir is None or evidence is None:
        return None
    from prodcon.history import timeline

    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_") or "test"
    path = str(Path(kit.html_dir) / f"{name}.html")
    title = f"{item.nodeid.split('::')[-1]}: {kit.impl_arg}, seed {kit.settings.seed}"
    page = timeline.render(evidence.ops, title=title, explanation=evidence.explanation,
                           highlight=evidence.culprits, unit="ns")
    return path, page


def _first(exc: BaseException, kinds):
    """`exc`, or the first exception of `kinds` in its group, if any."""
    if isinstance(exc, kinds):
        return exc
    for inner in getattr(exc, "exceptions", ()):  # Hypothesis may group what it found
        found = _first(inner, kinds)
        if found is not None:
            return found
    return None


def _report_kit_error(report: pytest.TestReport, item: pytest.Item, kit: KitRun,
                      fault: KitError) -> None:
    """The report of a test the kit failed in: said so, with no property, and marked for
    `Tally` (the summary, the exit code, the JSON record's outcome)."""
    report.longrepr = explain_kit_error(fault, item, kit)
    report.__dict__.pop(REPORT_KEY, None)
    report.__dict__.pop(HTML_KEY, None)
    report.__dict__[KIT_ERROR_KEY] = fault.doing


def explain_kit_error(fault: KitError, item: pytest.Item, kit: KitRun) -> str:
    """The kit's own failure, said as such: no property, no verdict on the implementation."""
    return "\n".join([
        f"prodcon internal error: the kit itself failed in {item.name},",
        f"while {fault.doing}.",
        "",
        "This is a bug in prodcon, not in the implementation: this test judged nothing, "
        "and counts neither for nor against it. Please report it to prodcon's maintainers "
        "with this text and the replay command.",
        "",
        fault.trace or "(no traceback)",
        "",
        f"implementation: {kit.impl_arg}",
        f"replay: {kit.replay(item.name)}",
    ])


def explain(finding: Violation | Stuck, item: pytest.Item, kit: KitRun,
            picture: str | None = None) -> str:
    """The failure as a student reads it: property, what happened, what was due, replay."""
    lines = []
    for prop in finding.props:
        lines.append(f"prodcon: property violated: {prop}")
        lines.append(f"  correct behaviour: {PROPERTIES[prop]}")
    lines.append("")
    lines.append(finding.message)
    notes = getattr(finding, "__notes__", None)
    if notes:
        lines.append("")
        lines.extend(notes)
    sandbox = getattr(kit.impl, "sandbox", None)
    if sandbox is not None and (isinstance(finding, Stuck) or "got stuck" in finding.message):
        lines.append("")
        lines.append("where the submission's threads are (in its own process; each kit "
                     "thread's twin there has its name):")
        lines.extend(f"  {line}" for line in _busy_threads(sandbox.stacks()))
    lines.append("")
    shown_file = "" if (kit.impl.file or "").endswith(kit.impl_arg) else f" ({kit.impl.file})"
    lines.append(f"implementation: {kit.impl_arg}{shown_file}")
    if picture:
        lines.append(f"timeline: {picture}")
    lines.append(f"replay: {getattr(finding, 'replay', None) or kit.replay(item.name)}")
    return "\n".join(lines)


def _busy_threads(stacks: str, limit: int = 60) -> list[str]:
    """The sandbox's stack listing without the threads idly waiting for the kit."""
    blocks: list[list[str]] = []
    for line in stacks.splitlines():
        if line and not line.startswith(" "):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])  # 'unavailable: ...'
    busy = [line for block in blocks if not any("(idle: waiting for the kit)" in b
                                                  for b in block) for line in block]
    return busy[:limit] or ["(every thread idle)"]


class Tally:
    """Counts the properties violated, for the summary; lives as long as the run."""

    def __init__(self, kit: KitRun, is_worker: bool) -> None:
        self.kit = kit
        self.is_worker = is_worker

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._note_outcome(report)
        picture = report.__dict__.get(HTML_KEY)
        if picture and not self.is_worker:
            path, page = picture
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(page, encoding="utf-8")
        props = report.__dict__.get(REPORT_KEY)
        if props and not report.passed:
            for prop in props:
                self.kit.violated.setdefault(prop, []).append(report.nodeid.split("::")[-1])
        if report.__dict__.get(KIT_ERROR_KEY) and report.failed:
            self.kit.kit_failed.append(report.nodeid.split("::")[-1])

    def _note_outcome(self, report: pytest.TestReport) -> None:
        """Each test's outcome, once decided; in the controller, its JSON line too."""
        if not (report.when == "call" or report.failed or report.skipped):
            return
        if report.when == "teardown" and self.kit.outcomes.get(report.nodeid) in (
                "failed", "kit-error"):
            return
        kit_failed = bool(report.__dict__.get(KIT_ERROR_KEY)) and report.failed
        outcome = "kit-error" if kit_failed else report.outcome
        self.kit.outcomes[report.nodeid] = outcome
        if self.kit.json_path is None or self.is_worker:
            return
        record = {
            "test": report.nodeid.split("::")[-1],
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": outcome,
            "properties": report.__dict__.get(REPORT_KEY) or [],
            "message": _skip_reason(report) if report.skipped else report.longreprtext,
            "duration": round(report.duration, 4),
        }
        self._write(record)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Not run, so not judged (a role left to reference, -k, -m): said so, not missing.

        Under xdist the workers deselect and only the controller writes: these lines
        are then absent.
        """
        if self.kit.json_path is None or self.is_worker:
            return
        for item in items:
            self._write({"test": item.name, "nodeid": item.nodeid, "when": "collect",
                         "outcome": "deselected", "properties": [], "message": "",
                         "duration": 0.0})

    def _write(self, record: dict) -> None:
        with open(self.kit.json_path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """A fresh report file starts with the run's settings."""
        if self.kit.json_path is None or self.is_worker:
            return
        settings = self.kit.settings
        record = {"run": {"implementation": self.kit.impl_arg, "seed": settings.seed,
                          "profile": settings.profile.name,
                          "timeout_factor": settings.timeout_factor,
                          "python": sys.version.split()[0],
                          "gil": "disabled" if twin.gil_disabled() else "enabled",
                          "replay": self.kit.replay()}}
        Path(self.kit.json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(self.kit.json_path).write_text(json.dumps(record) + "\n", encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter, exitstatus: int) -> None:
        kit = self.kit
        terminalreporter.section("prodcon")
        if kit.violated:
            summary = ", ".join(f"{p} ({len(t)})" for p, t in sorted(kit.violated.items()))
            terminalreporter.write_line(f"prodcon violated: {summary}")
        else:
            terminalreporter.write_line("prodcon violated: none")
        if kit.kit_failed:
            terminalreporter.write_line(
                f"prodcon internal error: the kit itself failed in {len(kit.kit_failed)} "
                f"test(s), which judged nothing (a bug in prodcon, not in the implementation; "
                f"exit code {errors.EXIT_CODE}): {', '.join(kit.kit_failed)}")
        hidden = self._gil_hidden()
        if hidden:
            terminalreporter.write_line(
                f"prodcon free-threaded: {len(hidden)} passed with the GIL and failed without "
                f"it (a data race the GIL hides): {', '.join(hidden)}")
        terminalreporter.write_line(f"prodcon replay: {kit.replay()}")

    def _gil_hidden(self) -> list[str]:
        """Stress tests whose run with the GIL passed and whose free-threaded twin failed."""
        if self.kit.free_threaded is None:
            return []
        originals = {twin.twin_name(nodeid): nodeid for nodeid in self.kit.outcomes}
        return [nodeid.split("::")[-1] for twin, nodeid in originals.items()
                if self.kit.outcomes.get(twin) == "failed"
                and self.kit.outcomes[nodeid] == "passed"]


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run in which the kit itself failed ends with a code of its own: its verdict is
    incomplete, whatever the other tests said."""
    kit = session.config.stash[KIT]
    if kit.kit_failed and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = errors.EXIT_CODE
    kit.exitstatus = int(session.exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Threads the implementation left running must not keep pytest alive.

    Daemon threads die with the process. A non-daemon thread the implementation
    started and never ended would make the interpreter wait forever at exit; then
    the process ends itself with the session's status, once pytest has reported.
    """
    kit = config.stash.get(KIT, None)
    if kit is None:
        return
    sandbox = getattr(kit.impl, "sandbox", None)
    if sandbox is not None:
        sandbox.close()
    stuck = [t for t in threading.enumerate()
             if t not in kit.threads_at_start and t.is_alive() and not t.daemon]
    if stuck and _is_outermost(config):
        names = ", ".join(t.name for t in stuck)
        sys.stderr.write(f"prodcon: implementation threads still running at exit ({names}); "
                         "ending the process without waiting for them\n")
        status = kit.exitstatus

        def leave() -> None:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

        threading._register_atexit(leave)  # runs before the interpreter joins threads


def _is_outermost(config: pytest.Config) -> bool:
    """False inside pytester's in-process runs: the test session's own process lives on."""
    return not os.environ.get("PYTEST_CURRENT_TEST")


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prodcon_impl(pytestconfig: pytest.Config) -> contract.Implementation:
    """The implementation under test. Override it in a conftest.py to test an adapter."""
    return pytestconfig.stash[KIT].impl


@pytest.fixture
def prodcon(request: pytest.FixtureRequest, prodcon_impl: contract.Implementation) -> Kit:
    name = f"{Path(str(request.node.path)).name}::{request.node.name}"
    return Kit(request.config.stash[KIT].settings, prodcon_impl, name)
