"""A prodcon run: the implementation loaded, the suite collected, failures explained.

Registered by `prodcon.plugin` only when --prodcon-impl is given. State lives in
`config.stash[RUN]`; per-test findings ride on the reports, so they survive xdist.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import threading
from pathlib import Path

import pytest

from prodcon import __version__, contract, errors, isolation, one_core
from prodcon.errors import KitError, UnusableInterpreter
from prodcon.session import twin
from prodcon.session.explain import explain, explain_kit_error, picture
from prodcon.session.kit import SYSTEMATIC, Kit
from prodcon.session.options import setting
from prodcon.session.reports import HTML_KEY, KIT_ERROR_KEY, REPORT_KEY
from prodcon.session.state import RUN, SessionRun
from prodcon.session.tally import Tally
from prodcon.settings import PROFILES, Settings, gil_status, new_seed
from prodcon.verdict import Stuck, Violation

SUITE_DIR = Path(__file__).parent.parent / "suite"


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
    config.stash[RUN] = SessionRun(
        settings, impl, impl_arg,
        html_dir=None if html_dir is None else str(here / html_dir),
        json_path=None if json_path is None else str(here / json_path),
        free_threaded=interpreter,
        threads_at_start=set(threading.enumerate()),
        # A sandboxed implementation runs in its own process, which the kit's threads
        # only talk to: keeping them on one core would save nothing there.
        one_core=getattr(impl, "sandbox", None) is None and one_core.pays(
            impl.Queue, impl.producer, impl.consumer))
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # A bare `pytest --prodcon-impl=NAME` runs the bundled suite.
        config.args = [str(SUITE_DIR)]
    config.pluginmanager.register(sys.modules[__name__], "prodcon-run")
    config.pluginmanager.register(Tally(config.stash[RUN], workerinput is not None),
                                  "prodcon-tally")


def _load(config: pytest.Config, impl_arg: str, settings: Settings) -> contract.Implementation:
    here = Path(config.invocation_params.dir)
    bound = settings.bound(contract.IMPORT_BOUND)
    model = setting(config, "prodcon_model")
    if not config.getoption("prodcon_isolate"):
        return contract.load(impl_arg, here, bound, model)
    return isolation.load_isolated(impl_arg, here, isolation.Limits(import_bound=bound), model)


# --- hooks (active only in a prodcon run) ----------------------------------------------


def pytest_report_header(config: pytest.Config) -> list[str]:
    kit = config.stash[RUN]
    impl = kit.impl
    version = f" {impl.version}" if impl.version else ""
    lines = [
        f"prodcon {__version__}: implementation {kit.impl_arg}{version} "
        f"({impl.file or 'built-in'})",
        f"prodcon roles: {impl.roles_line()}",
        f"prodcon model: {impl.model} ({impl.model_reason})",
        # Every setting in force, defaults included (the schedules the profile chose):
        # what the run did, where Settings.options() says only what a replay must repeat.
        f"prodcon run: --prodcon-seed={kit.settings.seed} --prodcon-profile="
        f"{kit.settings.profile.name} --prodcon-timeout-factor={kit.settings.timeout_factor:g}"
        f" --prodcon-explore={kit.settings.schedules}"
        f"{' --prodcon-strict' if kit.settings.strict else ''}{gil_status()}",
    ]
    profile = kit.settings.profile
    if kit.impl.model == "threads" and kit.impl.provides_queue and kit.settings.schedules:
        bounds = sorted({plan.preemptions + profile.preemptions for plan in SYSTEMATIC})
        most = (f"{bounds[0]}" if len(bounds) == 1
                else f"{bounds[0]} to {bounds[-1]} (by plan)")
        lines.append(f"prodcon systematic: {len(SYSTEMATIC)} small plans, every schedule with "
                     f"at most {most} preemptions, up to {profile.systematic_schedules} "
                     "schedules a plan")
    if kit.one_core:
        lines.append("prodcon cores: each test's threads share one core (under the GIL one "
                     "runs at a time, and handing it across cores costs more than the test)")
    if kit.free_threaded is not None:
        lines.append("prodcon free-threaded: each stress test again under "
                     f"{kit.free_threaded.describe()}")
    return lines


@pytest.hookimpl(trylast=True)  # after -k and -m: the twins follow the tests they chose
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kit = config.stash[RUN]
    threads = kit.impl.model == "threads"
    provided = {"queue": threads and kit.impl.provides_queue,
                "workers": threads and kit.impl.provides_workers,
                "async-queue": not threads and kit.impl.provides_queue,
                "async-workers": not threads and kit.impl.provides_workers}
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("prodcon_role")
        if marker is not None and not provided.get(marker.args[0], True):
            drop.append(item)
            continue
        keep.append(item)
        _add_backstop(config, item, kit.settings)
        _skip_replaced_tracebacks(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    if kit.free_threaded is not None:
        # Added after -k/-m deselected (trylast), so a twin follows exactly the tests
        # selected: pytest's header counts the originals only ("1 selected" where the
        # test and its twin run). Before, this hook ran first, -k deselected the twins of
        # the tests it left out too, and the header said "-11 selected".
        keep = twin.add_twins(keep, kit.free_threaded, kit)
    items[:] = keep


def _skip_replaced_tracebacks(item: pytest.Item) -> None:
    """pytest writes a failure's traceback before `pytest_runtest_makereport` lets the
    kit replace it with its own report, and writing it parses the source of every file
    on the way (a third of a failing test's time on 3.10: 0.3 s a module whose queue
    fails 23 tests). Where the kit's report will replace it, it is not written."""
    default = item.repr_failure

    def repr_failure(excinfo):
        if _first(excinfo.value, _REPLACED) is not None:
            return "prodcon: the kit's report of this failure follows"
        return default(excinfo)

    item.repr_failure = repr_failure


def _add_backstop(config: pytest.Config, item: pytest.Item, settings: Settings) -> None:
    """pytest-timeout as a last resort behind the kit's own bounds, unless the user set one."""
    if not config.pluginmanager.hasplugin("timeout"):
        return
    if item.get_closest_marker("timeout") or config.getoption("timeout", None):
        return
    item.add_marker(pytest.mark.timeout(settings.bound(600)))


#: The suite's files for the asyncio model start with this; every other one is for threads.
ASYNC_FILES = "test_async_"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The suite's files written for the other concurrency model are not collected at all:
    a thread queue's run counts no async test, not even as deselected."""
    if collection_path.parent != SUITE_DIR or not collection_path.name.startswith("test_"):
        return None
    asyncio_file = collection_path.name.startswith(ASYNC_FILES)
    if asyncio_file != (config.stash[RUN].impl.model == "asyncio"):
        return True
    return None


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
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """A test of the suite runs its threads on one core where that costs nothing
    (one_core.py); a free-threaded twin starts an interpreter that needs them all."""
    run = item.config.stash[RUN]
    keep = (run.one_core and Path(item.path).parent == SUITE_DIR
            and not isinstance(item, twin.FreeThreadedTwin))
    with one_core.for_test(keep):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None:
        return
    kit = item.config.stash[RUN]
    try:
        _explain_report(report, item, kit, call.excinfo.value)
    except Exception as exc:  # noqa: BLE001 - explaining is the kit's own code too
        fault = KitError.caught("writing the report of this test's failure", exc)
        _report_kit_error(report, item, kit, fault)


def _explain_report(report: pytest.TestReport, item: pytest.Item, kit: SessionRun,
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
    shown = picture(finding, item, kit)
    report.longrepr = explain(finding, item, kit, shown and shown[0])
    report.__dict__[REPORT_KEY] = list(finding.props)
    if shown:
        report.__dict__[HTML_KEY] = shown


#: The failures whose report `_explain_report` writes itself, whatever pytest wrote.
_REPLACED = (KitError, Violation, Stuck)


def _first(exc: BaseException, kinds):
    """`exc`, or the first exception of `kinds` in its group, if any."""
    if isinstance(exc, kinds):
        return exc
    for inner in getattr(exc, "exceptions", ()):  # Hypothesis may group what it found
        found = _first(inner, kinds)
        if found is not None:
            return found
    return None


def _report_kit_error(report: pytest.TestReport, item: pytest.Item, kit: SessionRun,
                      fault: KitError) -> None:
    """The report of a test the kit failed in: said so, with no property, and marked for
    `Tally` (the summary, the exit code, the JSON record's outcome)."""
    report.longrepr = explain_kit_error(fault, item, kit)
    report.__dict__.pop(REPORT_KEY, None)
    report.__dict__.pop(HTML_KEY, None)
    report.__dict__[KIT_ERROR_KEY] = fault.doing


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run in which the kit itself failed ends with a code of its own: its verdict is
    incomplete, whatever the other tests said."""
    kit = session.config.stash[RUN]
    if kit.kit_failed and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = errors.EXIT_CODE
    kit.exitstatus = int(session.exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Threads the implementation left running must not keep pytest alive.

    Daemon threads die with the process. A non-daemon thread the implementation
    started and never ended would make the interpreter wait forever at exit; then
    the process ends itself with the session's status, once pytest has reported.
    """
    kit = config.stash.get(RUN, None)
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
    """The implementation under test.

    A user's conftest.py cannot override it for the bundled suite (the suite is not
    under the user's folder, so their conftest does not reach it): an adapter module
    that provides the roles is the documented way (examples/adapter.py).
    """
    return pytestconfig.stash[RUN].impl


@pytest.fixture
def prodcon(request: pytest.FixtureRequest, prodcon_impl: contract.Implementation) -> Kit:
    name = f"{Path(str(request.node.path)).name}::{request.node.name}"
    return Kit(request.config.stash[RUN].settings, prodcon_impl, name)
