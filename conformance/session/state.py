"""The state of one prodcon session, kept in `config.stash[RUN]` (never in a global:
under pytest-xdist every process has its own), shared by the session's hooks, the
free-threaded twin and the tally.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field

import pytest

from prodcon import contract
from prodcon.session.twin import Interpreter
from prodcon.settings import Settings, gil_disabled


@dataclass
class SessionRun:
    settings: Settings
    impl: contract.Implementation
    impl_arg: str  # as the user wrote it, for the replay command
    html_dir: str | None  # --prodcon-html: where failing scenarios' timelines go
    json_path: str | None = None  # --prodcon-json: every test's outcome, a line each
    free_threaded: Interpreter | None = None  # --prodcon-free-threaded
    threads_at_start: set = field(default_factory=set)
    one_core: bool = False  # the suite's tests run their threads on one core (one_core.py)
    violated: dict[str, list[str]] = field(default_factory=dict)  # property -> test names
    kit_failed: list[str] = field(default_factory=list)  # tests in which the kit itself failed
    covered: dict[str, str] = field(default_factory=dict)  # systematic test -> what it covered
    outcomes: dict[str, str] = field(default_factory=dict)  # node id -> passed/failed/...
    exitstatus: int = 0

    def replay(self, test_name: str | None = None) -> str:
        """The command that runs this session (or one test of it) again."""
        # Without the GIL the interpreter is part of what is replayed.
        runner = [sys.executable, "-m", "pytest"] if gil_disabled() else ["pytest"]
        words = [*runner, f"--prodcon-impl={self.impl_arg}", *self.settings.options()]
        if getattr(self.impl, "sandbox", None) is not None:
            words.append("--prodcon-isolate")
        if self.impl.model_reason == contract.CHOSEN:
            words.append(f"--prodcon-model={self.impl.model}")
        if test_name:
            words += ["-k", test_name]
        return shlex.join(words)


#: Where a session's `SessionRun` lives.
RUN = pytest.StashKey[SessionRun]()
