"""The kit as a new user gets it: the wheel built from this repository, installed into a
fresh venv with nothing else, and the README's commands run as written.

A dependency missing from pyproject.toml, a file left out of the wheel, or a command the
README shows that no longer works fails here, not in a user's first hour. The same venv
holds a project whose own files are named like the repository's folders (`conformance/`,
`reference.py`, `kit.py`): installing the kit must change nothing of its pytest runs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, once_per_session

README = (REPO / "README.md").read_text(encoding="utf-8")
BOUND = 600  # seconds for any one command: pip from the registry, a whole suite run

#: Once per CI, on the newest Python: a newcomer's `python3` (tox's own install of the
#: sdist proves the kit installs on 3.10).
pytestmark = pytest.mark.once


def _clean_env(venv: Path) -> dict[str, str]:
    """This machine's environment without the test session's: no PYTHONPATH, no pytest
    or coverage variables, no pyenv selection, the venv first on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "PRODCON_", "COVERAGE_", "PYTHON", "PYENV",
                                "VIRTUAL_ENV", "TOX_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def _sh(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a README line in bash, as a user pastes it."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=BOUND, stdin=subprocess.DEVNULL)


def _ok(done: subprocess.CompletedProcess, what: str) -> str:
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{what} exited {done.returncode}:\n{output[-6000:]}"
    return output


def _readme_block_after(heading: str) -> list[str]:
    """The lines of the first ```sh block under `heading`, each without its comment."""
    section = README.split(heading, 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split(" #")[0].strip() for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def installed(tmp_path_factory, worker_id) -> dict[str, str]:
    """A fresh venv with the wheel of this checkout and what pip brings for it, nothing
    else: the environment to run commands in. Built once per session, by whichever
    pytest-xdist worker asks first, in the folder the session's workers share: this
    module's tests land on several workers, and each built its own (about 10 s of CPU
    each, twice per CI run)."""
    return once_per_session(tmp_path_factory, worker_id, "installed-wheel", _install)


def _install(work: Path) -> dict[str, str]:
    shutil.rmtree(work, ignore_errors=True)  # what a worker whose build failed left
    work.mkdir()
    base = getattr(sys, "_base_executable", sys.executable)
    _ok(subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                        str(work / "dist"), str(REPO)], capture_output=True, text=True,
                       timeout=BOUND), "building the wheel")
    wheel = next((work / "dist").glob("prodcon-*.whl"))
    venv = work / "venv"
    _ok(subprocess.run([base, "-m", "venv", str(venv)], capture_output=True, text=True,
                       timeout=BOUND), "making the venv")
    env = _clean_env(venv)
    _ok(_sh(f"pip install -q {shlex.quote(str(wheel))}", work, env), "pip install prodcon")
    return env


def test_the_wheel_holds_one_import_name(installed, tmp_path):
    done = _sh("python -c 'import prodcon, prodcon.reference, prodcon.plugin, sys; "
               "print(prodcon.__file__); print(prodcon.reference.__file__)'", tmp_path,
               installed)
    package, bundled = _ok(done, "import prodcon").split()[:2]
    assert Path(bundled).parent.parent == Path(package).parent
    site = Path(package).parent.parent
    assert not (site / "conformance").exists() and not (site / "reference").exists()
    assert (Path(package).parent / "grading" / "default_rubric.toml").is_file()
    assert (Path(package).parent / "history" / "timeline_page" / "page.js").is_file()


def test_the_first_command_passes_on_the_bundled_reference(installed, tmp_path):
    first = README.split("```sh\n", 1)[1].splitlines()[0]
    assert first.endswith("pip install . && pytest --prodcon-impl=reference"), first
    output = _ok(_sh("pytest --prodcon-impl=reference -q -p no:cacheprovider", tmp_path,
                     installed), "the README's first command")
    assert re.search(r"\d+ passed", output) and "failed" not in output


def test_grading_quick_start_as_written(installed, tmp_path):
    lines = _readme_block_after("## Grading a class: `prodcon grade`")
    assert lines[0].startswith("pip install prodcon")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "alice.py").write_text("from queue import Empty, Full, Queue\n")
    (submissions / "bob.py").write_text(textwrap.dedent("""\
        import queue
        Full, Empty = queue.Full, queue.Empty
        class Queue(queue.LifoQueue):
            pass
        """))
    outputs = {}
    for line in lines[1:]:
        if line.startswith("open "):  # macOS's viewer: here, the file must exist
            assert (tmp_path / line.split()[1]).is_file()
            continue
        outputs[line] = _ok(_sh(line, tmp_path, installed), line)
    grade = next(line for line in outputs if line.startswith("prodcon grade"))
    assert "-j" in grade  # pytest-xdist comes with the kit
    csv = next(out for line, out in outputs.items() if line.startswith("cut "))
    scores = dict(row.split(",")[:2] for row in csv.splitlines()[1:])
    feedback = next(out for line, out in outputs.items() if "feedback/alice.md" in line)
    assert float(scores["alice"]) == 100 and float(scores["bob"]) < 100, f"{csv}\n{feedback}"
    assert "alice" in feedback


def test_check_history_on_the_readmes_sample(installed, tmp_path):
    section = README.split("## Histories: `prodcon check-history`", 1)[1]
    sample = re.search(r"```\n(\{.*?)```", section, re.S).group(1)
    (tmp_path / "run.jsonl").write_text(sample)
    command = _readme_block_after("## Histories: `prodcon check-history`")[0]
    output = _ok(_sh(command, tmp_path, installed), command)
    assert "linearizab" in output
    assert (tmp_path / "run.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_bench_quick(installed, tmp_path):
    output = _ok(_sh("prodcon bench reference --quick --json bench.json", tmp_path,
                     installed), "prodcon bench")
    assert "throughput" in output and (tmp_path / "bench.json").is_file()
    output = _ok(_sh("prodcon bench reference --model asyncio --quick", tmp_path, installed),
                 "prodcon bench --model asyncio")
    assert "reference throughput vs asyncio.Queue" in output


LOOKALIKE_TEST = '''\
import conformance
import kit
import reference


def test_the_projects_own_modules():
    assert conformance.WHOSE == "the project's"
    assert reference.ANSWER == 42
    assert kit.TOOL == "hammer"
'''


@pytest.fixture
def lookalike_project(tmp_path) -> Path:
    """A project whose own names are the repository's: a package `conformance/`, a
    `reference.py` (an instructor's answer key), a `kit.py`, and a correct module."""
    (tmp_path / "conformance").mkdir()
    (tmp_path / "conformance" / "__init__.py").write_text('WHOSE = "the project\'s"\n')
    (tmp_path / "reference.py").write_text("ANSWER = 42\n")
    (tmp_path / "kit.py").write_text('TOOL = "hammer"\n')
    (tmp_path / "mymodule.py").write_text("from queue import Empty, Full, Queue\n")
    (tmp_path / "test_own.py").write_text(LOOKALIKE_TEST)
    return tmp_path


@pytest.mark.parametrize("pytest_command", ["pytest", "python -m pytest"])
def test_a_lookalike_project_runs_its_own_tests_untouched(installed, lookalike_project,
                                                          pytest_command):
    output = _ok(_sh(f"{pytest_command} -q -p no:cacheprovider test_own.py",
                     lookalike_project, installed), pytest_command)
    assert "1 passed" in output


def test_a_lookalike_project_tests_its_module_and_the_bundled_reference(installed,
                                                                        lookalike_project):
    mine = _ok(_sh("python -m pytest -p no:cacheprovider --prodcon-impl=mymodule "
                   "-k 'fifo or join or model'", lookalike_project, installed), "mymodule")
    assert "prodcon roles: Queue from mymodule" in mine and "failed" not in mine
    bundled = _ok(_sh("python -m pytest -p no:cacheprovider --prodcon-impl=reference "
                      "-k 'fifo or join or model'", lookalike_project, installed),
                  "the bundled reference")
    assert "Queue, producer, consumer from reference" in bundled
    assert "failed" not in bundled


def test_isolate_as_written(installed, tmp_path):
    command = _readme_block_after("## Untrusted code: `--prodcon-isolate`")[0]
    assert command == "pytest --prodcon-impl=submission.py --prodcon-isolate"
    (tmp_path / "submission.py").write_text("from queue import Empty, Full, Queue\n")
    output = _ok(_sh(f"{command} -p no:cacheprovider -k 'fifo or join'", tmp_path, installed),
                 command)
    assert re.search(r"\d+ passed", output) and "failed" not in output


def test_the_adapter_example_as_written(installed, tmp_path):
    section = README.split("### An adapter for code of another shape", 1)[1]
    command = re.search(r"--  (pytest --prodcon-impl=examples/adapter.py)", section).group(1)
    (tmp_path / "examples").mkdir()
    for name in ("adapter.py", "student_seed.py"):
        (tmp_path / "examples" / name).write_text((REPO / "examples" / name).read_text())
    output = _ok(_sh(f"{command} -p no:cacheprovider -k workers", tmp_path, installed),
                 command)
    assert "producer, consumer from examples/adapter.py" in output and "failed" not in output


def test_free_threaded_option_from_an_installed_kit(installed, tmp_path):
    """The twin interpreter imports the kit and pytest from the installed wheel's folder."""
    twin = os.environ.get("PRODCON_FT_PYTHON") or str(
        Path.home() / ".cache/prodcon/free-threaded-3.13/bin/python3.13t")
    if not Path(twin).is_file():
        if os.environ.get("PRODCON_REQUIRE_FT"):
            pytest.fail(f"PRODCON_REQUIRE_FT is set but PRODCON_FT_PYTHON={twin!r} is missing")
        pytest.skip("no free-threaded interpreter: build one with tools/free-threaded-python, "
                    "or name one in PRODCON_FT_PYTHON")
    command = _readme_block_after("## Without the GIL: `--prodcon-free-threaded`")[0]
    command = command.replace("/path/to/python3.13t", shlex.quote(twin))
    (tmp_path / "mymodule.py").write_text("from queue import Empty, Full, Queue\n")
    output = _ok(_sh(f"{command} -p no:cacheprovider -k 'conservation_order_capacity and "
                     "1p1c'", tmp_path, installed), command)
    assert re.search(r"\b2 passed\b", output) and "failed" not in output, output  # and its twin
