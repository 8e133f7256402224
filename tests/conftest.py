"""Helpers for running the kit as a user does: `pytest --prodcon-impl=...` in a subprocess.

Subprocesses, not in-process runs: a broken implementation leaves stuck threads
behind, and those must die with their own process, not pile up in this one.
"""

import ast
import fcntl
import importlib.util
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import longest_first
from prodcon.contract import is_package

ZOO = Path(__file__).parent / "zoo"
REPO = Path(__file__).parent.parent
SEED = 20261128


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist's controller, per worker: the scheduler it hands tests out with (a
    worker's own options say `--dist no`)."""
    node.workerinput["prodcon_dist"] = node.config.getoption("dist")


@pytest.hookimpl(trylast=True)  # after -k, -m, --deselect and --lf have chosen the tests
def pytest_collection_modifyitems(config, items):
    """Under `--dist worksteal`, the longest tests start first (longest_first.py says
    why); `--dist load` hands tests out a few at a time from the front, as they come."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get("prodcon_dist") == "worksteal":
        items[:] = longest_first.order(items, workerinput["workercount"])


@dataclass
class KitResult:
    ret: int
    violated: set
    output: str
    outcomes: dict  # test name -> "passed"/"failed"/...

    def __str__(self) -> str:
        return self.output[-6000:]


def parse(result) -> KitResult:
    text = "\n".join(result.outlines + result.errlines)
    violated = set()
    match = re.search(r"^prodcon violated: (.*)$", text, re.M)
    if match and match.group(1) != "none":
        violated = {part.split(" (")[0] for part in match.group(1).split(", ")}
    outcomes = {}
    for line in result.outlines:
        found = re.match(r"^(PASSED|FAILED|SKIPPED|ERROR) (\S+)", line)
        if found:
            outcomes[found.group(2).split("::")[-1]] = found.group(1).lower()
    return KitResult(result.ret, violated, text, outcomes)


@pytest.fixture
def run_kit(pytester):
    """Run the kit on `impl` in a fresh process; every run is bounded."""

    def run(impl, *args, seed=SEED, timeout=600, stop_on=None):
        """`stop_on`: a property; the run ends once a test failed for it (a zoo module's
        CAUGHT_BY: the rest of its run would only cost time; stop_on_property.py)."""
        if stop_on is not None:
            pytester._monkeypatch.setenv("PRODCON_STOP_ON", stop_on)  # noqa: SLF001
            pytester._monkeypatch.setenv(  # noqa: SLF001
                "PYTHONPATH", os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                          os.environ.get("PYTHONPATH")])))
            args = ("-p", "stop_on_property", *args)
        result = pytester.runpytest_subprocess(
            f"--prodcon-impl={impl}", f"--prodcon-seed={seed}", "-p", "no:cacheprovider",
            "-p", "no:randomly", "-rA", *args, timeout=timeout)
        return parse(result)

    return run


def caught_by(module: Path) -> str:
    """The property a zoo module (or package: its `__init__.py`) declares, read without
    importing it."""
    if module.is_dir():
        module = module / "__init__.py"
    tree = ast.parse(module.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "CAUGHT_BY" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise LookupError(f"{module} declares no CAUGHT_BY")


def zoo_modules(folder: Path) -> list[Path]:
    """The zoo's modules in `folder`: its .py files and its package-shaped ones (a
    folder with an `__init__.py`, given to the kit as the folder), by name."""
    return sorted(path for path in folder.iterdir() if path.suffix == ".py" or is_package(path))


def load_benchmark(name: str):
    """A script of benchmarks/ (not a package), imported by path, once per process."""
    if f"bench_{name}" in sys.modules:
        return sys.modules[f"bench_{name}"]
    spec = importlib.util.spec_from_file_location(f"bench_{name}",
                                                  REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def once_per_session(tmp_path_factory, worker_id: str, name: str, build):
    """`build(folder)`'s JSON-able result, built once per session: by whichever
    pytest-xdist worker asks first, in the folder the session's workers share, under a
    file lock; the others read it. For a module's costly fixture (a graded class, an
    installed wheel): worksteal spreads a module's tests over several workers, and a
    module-scoped fixture is built again on each."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent  # this session's, above every worker's own
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        made = shared / f"{name}.json"
        if not made.exists():
            made.write_text(json.dumps(build(shared / name)))
        return json.loads(made.read_text())
