"""The tally of a session: each test's outcome and the properties it broke, the JSON
record of the run (`--prodcon-json`), the timeline pages, and the summary at the end.
Files are written by the controller only (under xdist the workers' reports reach it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from prodcon import errors
from prodcon.session import twin
from prodcon.session.reports import COVERAGE_KEY, HTML_KEY, KIT_ERROR_KEY, REPORT_KEY
from prodcon.session.state import SessionRun
from prodcon.settings import gil_disabled


class Tally:
    """Counts the properties violated, for the summary; lives as long as the run."""

    def __init__(self, kit: SessionRun, is_worker: bool) -> None:
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
        covered = dict(report.user_properties).get(COVERAGE_KEY)
        if covered and report.when == "call":
            self.kit.covered[report.nodeid.split("::")[-1]] = covered

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
        covered = dict(report.user_properties).get(COVERAGE_KEY)
        if covered:
            record["coverage"] = covered
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
        """Opened per record on purpose: each finished test's line is on disk at once, so
        a grading session stopped mid-run (SIGINT, then SIGKILL) loses nothing judged."""
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
                          "gil": "disabled" if gil_disabled() else "enabled",
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
        if kit.covered:
            complete = sum(1 for text in kit.covered.values() if text.startswith("complete"))
            terminalreporter.write_line(
                f"prodcon systematic: {complete} of {len(kit.covered)} plans searched "
                "completely within their preemption bound")
            for text in kit.covered.values():
                terminalreporter.write_line(f"  {text}")
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
