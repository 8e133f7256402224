"""`--prodcon-free-threaded=PATH`: the stress scenarios once more, without the GIL.

Under the GIL a thread is switched out only every few milliseconds, so a counter
updated just outside a lock, or a pop made after the lock was released, almost
never meets another thread in its window: such a queue passes millions of calls.
On a free-threaded CPython the threads really run at once and the same code
fails. Each test marked `prodcon_stress` gets a twin item that runs the very same
test (same file, same name, hence the same seed and scenarios) under PATH with
`PYTHON_GIL=0`, in a subprocess of its own, and reports what happened there.

The subprocess uses this process's copy of the kit and of pytest (they are pure
Python), so a bare interpreter such as `tools/free-threaded-python` builds needs
nothing installed; plugin autoloading is off there, so no other plugin of this
environment is loaded into an interpreter it was not built for.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import _pytest
import iniconfig
import packaging
import pluggy
import pytest

from prodcon.errors import KitError, UnusableInterpreter
from prodcon.processes import kit_pythonpath
from prodcon.verdict import Stuck, Violation

#: How long one twin may run, scaled by the run's factor. Generous: the test's own
#: bounds end a stuck scenario long before; this only covers a dead interpreter.
TWIN_BOUND = 300.0
#: How long asking the interpreter what it is may take.
PROBE_BOUND = 30.0

_PROBE = (
    "import json, sys, sysconfig; print(json.dumps({"
    "'version': sys.version.split()[0], "
    "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED'))}))"
)




@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str

    def describe(self) -> str:
        return f"{self.path} (CPython {self.version}, free-threaded, GIL disabled)"

    def env(self) -> dict[str, str]:
        """The twin's environment: no GIL, this kit and pytest, no other plugin."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST"))}
        env["PYTHON_GIL"] = "0"
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        env["PYTHONPATH"] = kit_pythonpath(*_pytest_folders(), inherit=env.get("PYTHONPATH"))
        return env


def probe(path: str, bound: float = PROBE_BOUND) -> Interpreter:
    """Ask PATH what it is; only a free-threaded build passes."""
    where = Path(path).expanduser()
    if not where.exists():
        raise UnusableInterpreter(f"{path}: no such file")
    # No PYTHON_GIL here: a build with the GIL refuses to start when asked to disable it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    try:
        done = subprocess.run([str(where), "-c", _PROBE], capture_output=True, text=True,
                              timeout=bound, env=env, stdin=subprocess.DEVNULL)
        info = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        raise UnusableInterpreter(f"{path} does not run as a Python interpreter ({exc})") from None
    # A free-threaded build will do: the twins' PYTHON_GIL=0 keeps its GIL off even
    # where an extension module would turn it back on.
    if not info["free_threaded"]:
        raise UnusableInterpreter(
            f"{path} is CPython {info['version']} with the GIL: a free-threaded build "
            "(CPython 3.13 or later configured with --disable-gil, often named python3.13t) "
            "is needed; tools/free-threaded-python in prodcon's repository builds one")
    return Interpreter(str(where), info["version"])


def _pytest_folders() -> list[str]:
    """The folders pytest and its dependencies are imported from, for the twin's sys.path."""
    return [str(Path(module.__file__).resolve().parent.parent)
            for module in (pytest, _pytest, pluggy, iniconfig, packaging)]


def twin_name(name: str) -> str:
    """test_x[6p6c-max1-even] -> test_x[6p6c-max1-even-free-threaded]."""
    return f"{name[:-1]}-free-threaded]" if name.endswith("]") else f"{name}[free-threaded]"


class GilHiddenRace(Violation):
    """The twin failed: what the free-threaded run reported, and how to replay it there."""

    def __init__(self, props: tuple[str, ...], message: str, replay: str) -> None:
        super().__init__("free-threading", message, ("free-threading", *props))
        self.replay = replay


class FreeThreadedTwin(pytest.Item):
    """A stress test run again in a subprocess of the free-threaded interpreter."""

    def __init__(self, *, original: pytest.Item, interpreter: Interpreter, session_run,
                 **kwargs) -> None:
        """`session_run`: the run's `state.SessionRun`, handed in by whoever adds the twins:
        `state` imports this module (for `Interpreter`), so this one cannot import it."""
        super().__init__(**kwargs)
        self.original = original
        self.interpreter = interpreter
        self.session_run = session_run
        self.own_markers.extend(original.own_markers)

    def reportinfo(self):
        path, line, _ = self.original.reportinfo()
        return path, line, f"{self.name} (under {self.interpreter.path})"

    def runtest(self) -> None:
        kit = self.session_run
        args = self._args(kit)
        env = self.interpreter.env()
        with tempfile.TemporaryDirectory(prefix="prodcon-ft-") as tmp:
            report = Path(tmp) / "report.jsonl"
            ini = Path(tmp) / "pytest.ini"
            ini.write_text("[pytest]\n")
            command = [self.interpreter.path, "-m", "pytest", *args, "-c", str(ini),
                       f"--rootdir={tmp}", f"--prodcon-json={report}"]
            bound = kit.settings.bound(TWIN_BOUND)
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=bound,
                                      env=env, stdin=subprocess.DEVNULL,
                                      cwd=self.config.invocation_params.dir)
            except subprocess.TimeoutExpired:
                raise Stuck("deadlock", f"the free-threaded run of {self.original.name} did not "
                            f"finish within {bound:.0f} s\n"
                            f"replay: {self._replay(args, env)}") from None
            record = _record(report, self.original.name)
        if record is None:
            output = (done.stdout + done.stderr).strip().splitlines()[-25:]
            raise Violation("free-threading", (
                f"the free-threaded run of {self.original.name} ended (exit code "
                f"{done.returncode}) without a result:\n" + "\n".join(output)
                + f"\nreplay: {self._replay(args, env)}"))
        if record["outcome"] == "skipped":
            pytest.skip(f"skipped under {self.interpreter.path}: {record['message']}")
        if record["outcome"] == "kit-error":  # the twin's kit failed, not the implementation
            text = record["message"]
            trace = text[max(text.find("Traceback"), 0):].split("\nimplementation: ")[0]
            raise KitError(f"running {self.original.name} under {self.interpreter.path}",
                           f"{trace}\nreplay there: {self._replay(args, env)}")
        if record["outcome"] != "passed":
            raise GilHiddenRace(tuple(record["properties"]), self._message(kit, record),
                                self._replay(args, env))

    def _args(self, kit) -> list[str]:
        args = [f"{self.original.path}::{self.original.name}", "-p", "prodcon.plugin",
                "-p", "no:cacheprovider", "-q", f"--prodcon-impl={kit.impl_arg}",
                *kit.settings.options()]
        if kit.html_dir is not None:
            args.append(f"--prodcon-html={Path(kit.html_dir) / 'free-threaded'}")
        return args

    def _replay(self, args: list[str], env: dict[str, str]) -> str:
        words = ["PYTHON_GIL=0", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1",
                 f"PYTHONPATH={env['PYTHONPATH']}", self.interpreter.path, "-m", "pytest", *args]
        return shlex.join(words)

    def _message(self, kit, record: dict) -> str:
        with_gil = kit.outcomes.get(self.original.nodeid)
        if with_gil == "passed":
            headline = "passes with the GIL, fails without it: a data race the GIL hides"
        elif with_gil is None:
            headline = "fails without the GIL (the run with the GIL is reported on its own)"
        else:
            headline = "fails without the GIL, and with it too"
        # The twin says these itself, for this process's run.
        text = "\n".join(line for line in record["message"].splitlines()
                         if not line.startswith(("replay: ", "implementation: ")))
        return (f"{headline}\nunder {self.interpreter.describe()}:\n\n"
                f"{text.strip()}")


def _record(report: Path, name: str) -> dict | None:
    """The twin's test record from the subprocess's --prodcon-json report, if it got that far."""
    if not report.exists():
        return None
    found = None
    for line in report.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("test") == name and record.get("outcome") is not None:
            if found is None or record["outcome"] != "passed":
                found = record
    return found


def add_twins(items: list[pytest.Item], interpreter: Interpreter,
              session_run) -> list[pytest.Item]:
    """Every stress test followed by its free-threaded twin."""
    out = []
    for item in items:
        out.append(item)
        if item.get_closest_marker("prodcon_stress") is not None:
            out.append(FreeThreadedTwin.from_parent(
                item.parent, name=twin_name(item.name), original=item, interpreter=interpreter,
                session_run=session_run))
    return out

