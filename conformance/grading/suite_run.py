"""One trusted run of the conformance suite on one submission, and what it left.

The pytest started here is trusted code: the submission's code runs only in the
sandbox's child process that this pytest starts (`--prodcon-isolate`), never in the
process that writes the records, nor in the grader that reads them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from prodcon import contract
from prodcon.grading.plan import GradingPlan
from prodcon.grading.submissions import impl_name
from prodcon.processes import kit_pythonpath, signal_group

#: Time a stopped run gets to close its sandbox and flush its records.
STOP_GRACE = 15.0


@dataclass
class SuiteResult:
    """What one trusted run of the suite left: its records and how it ended."""

    records: list[dict]
    run: dict | None
    exit_code: int | None  # None: stopped at the time limit
    output: str  # the trusted pytest's own output, its tail
    duration: float


def run_suite(impl: str | None, plan: GradingPlan, *, isolate: bool) -> SuiteResult:
    """Run the conformance suite on `impl` (a .py file or a package's folder; None: the
    reference) in a fresh
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
            impl_arg = impl_name(impl)
            if contract.is_package(Path(impl)):
                contract.copy_package(Path(impl), staged / Path(impl).name)
            else:
                shutil.copy2(impl, staged / impl_arg)
        (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        records = work / "records.jsonl"
        command = [sys.executable, "-m", "pytest", "-c", str(work / "pytest.ini"),
                   "--rootdir", str(work), "-p", "pytest_timeout", "-p", "prodcon.plugin",
                   "-p", "no:cacheprovider", "-q", "--no-header", "-rN", "--tb=no",
                   f"--prodcon-impl={impl_arg}", f"--prodcon-json={records}",
                   *plan.options()]
        if isolate:
            command.append("--prodcon-isolate")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PRODCON_"))}
        env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONHASHSEED="0",
                   PYTHONPATH=kit_pythonpath(inherit=env.get("PYTHONPATH")))
        started = time.monotonic()
        with open(work / "output.log", "wb") as log:
            proc = subprocess.Popen(command, cwd=staged, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            exit_code: int | None = _wait(proc, plan.time_limit)
        duration = time.monotonic() - started
        output = (work / "output.log").read_bytes()[-8192:].decode("utf-8", "replace")
        run, tests = read_records(records)
        return SuiteResult(tests, run, exit_code, output, duration)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _wait(proc: subprocess.Popen, limit: float) -> int | None:
    try:
        return proc.wait(limit)
    except subprocess.TimeoutExpired:
        pass
    signal_group(proc.pid, signal.SIGINT)
    try:
        proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
    return None


def read_records(path: Path) -> tuple[dict | None, list[dict]]:
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
