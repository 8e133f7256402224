"""The plugin as a user meets it: inert by default, options, header, replay, hangs."""

import json
import re
import time
from pathlib import Path

import pytest

from conftest import ZOO

STDLIB = "from queue import Queue, Full, Empty\n"


def test_inert_without_impl(pytester):
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "prodcon" not in result.stdout.str().replace("prodcon-0.1.0", "")
    result = pytester.runpytest_subprocess("--help")
    assert "--prodcon-impl=PRODCON_IMPL" in result.stdout.str()


#: What the tests of loading and running the suite leave out: the systematic search
#: (seconds a queue, the same whichever way the module is named or run), which
#: tests/e2e/test_systematic.py and the correct zoo run.
NOT_SYSTEMATIC = ("-k", "not test_systematic")


def test_module_name_in_empty_directory_passes(pytester, run_kit):
    pytester.makepyfile(mymodule=STDLIB)
    result = run_kit("mymodule", *NOT_SYSTEMATIC)
    assert result.ret == 0, result
    assert "prodcon roles: Queue from mymodule; producer, consumer from reference" in result.output
    assert re.search(r"\d+ passed", result.output)


def test_path_to_file_works_the_same(pytester, run_kit):
    pytester.makepyfile(mymodule=STDLIB)
    by_path = run_kit("mymodule.py", *NOT_SYSTEMATIC)
    by_name = run_kit("mymodule", *NOT_SYSTEMATIC)
    assert by_path.ret == by_name.ret == 0, by_path
    assert set(by_path.outcomes) == set(by_name.outcomes)


def test_ini_twin_and_header(pytester):
    pytester.makepyfile(mymodule=STDLIB)
    pytester.makeini("[pytest]\nprodcon_impl = mymodule\nprodcon_seed = 77\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "fifo")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "--prodcon-seed=77 --prodcon-profile=quick --prodcon-timeout-factor=1" in out
    assert "prodcon replay: pytest --prodcon-impl=mymodule --prodcon-seed=77" in out


def test_strict_from_ini_or_command_line_is_shown_and_replayed(pytester):
    pytester.makepyfile(mymodule=STDLIB)
    pytester.makeini("[pytest]\nprodcon_impl = mymodule\nprodcon_seed = 77\n"
                     "prodcon_strict = true\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "fifo")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert re.search(r"^prodcon run: .* --prodcon-explore=150 --prodcon-strict", out, re.M)
    assert re.search(r"^prodcon replay: .* --prodcon-strict$", out, re.M)
    pytester.makeini("[pytest]\nprodcon_impl = mymodule\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "fifo")
    assert "--prodcon-strict" not in result.stdout.str()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "fifo",
                                           "--prodcon-strict")
    assert "--prodcon-explore=150 --prodcon-strict" in result.stdout.str()


def test_command_line_beats_ini(pytester):
    pytester.makepyfile(mymodule=STDLIB)
    pytester.makeini("[pytest]\nprodcon_impl = nosuchmodule\nprodcon_seed = 77\n")
    result = pytester.runpytest_subprocess("--prodcon-impl=mymodule", "--prodcon-seed=5",
                                           "-p", "no:cacheprovider", "-k", "fifo")
    result.assert_outcomes(passed=1)
    assert "--prodcon-seed=5 " in result.stdout.str()


def test_failure_names_property_items_and_replay(pytester, run_kit):
    result = run_kit(ZOO / "broken" / "lifo.py", "-k", "fifo_one_producer")
    assert result.ret == 1
    assert "prodcon: property violated: order" in result.output
    assert "p0#0 was due" in result.output
    assert (f"replay: pytest --prodcon-impl={ZOO / 'broken' / 'lifo.py'} --prodcon-seed=20261128"
            " --prodcon-profile=quick -k test_fifo_one_producer") in result.output


def test_import_error_is_a_usage_error(pytester):
    pytester.makepyfile(badmod="import nosuchthing\n")
    result = pytester.runpytest_subprocess("--prodcon-impl=badmod")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*prodcon: importing 'badmod' raised ModuleNotFoundError*"])


def test_missing_module_is_a_usage_error(pytester):
    result = pytester.runpytest_subprocess("--prodcon-impl=nosuchmodule")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*no module named 'nosuchmodule' importable from*"])


def test_bad_profile_is_rejected(pytester):
    pytester.makepyfile(mymodule=STDLIB)
    result = pytester.runpytest_subprocess("--prodcon-impl=mymodule", "--prodcon-profile=slow")
    assert result.ret == 4


def test_seed_replays_the_same_failure(pytester, run_kit):
    """One seed, one run: a sequential failure reads the same, word for word."""
    module = ZOO / "broken" / "qsize_off_by_one.py"
    runs = [run_kit(module, "-k", "sequential_model") for _ in range(2)]
    texts = [r.output.split("FAILURES")[1].split("implementation:")[0] for r in runs]
    assert runs[0].ret == runs[1].ret == 1
    assert "Failing test case" in texts[0] and texts[0] == texts[1]


def test_deadlock_is_reported_and_the_run_goes_on(pytester, run_kit):
    pytester.makepyfile(stuckq='''
import threading
from queue import Full, Empty

class Queue:
    """Every call takes a lock it never gives back."""
    def __init__(self, maxsize=0):
        self.lock = threading.Lock()
    def _stuck(self, *args, **kwargs):
        self.lock.acquire()
        self.lock.acquire()
    put = get = put_nowait = get_nowait = task_done = join = _stuck
    qsize = empty = full = _stuck
''')
    start = time.monotonic()
    result = run_kit("stuckq", "--prodcon-timeout-factor=0.25", "-k",
                     "fifo_one_producer or get_blocks_while_empty or conservation_order")
    elapsed = time.monotonic() - start
    assert result.ret == 1
    assert "deadlock" in result.violated
    assert "had not returned after" in result.output
    assert "stuckq.py" in result.output and "in _stuck: self.lock.acquire()" in result.output
    assert "qsize() did not answer" in result.output
    assert len([o for o in result.outcomes.values() if o == "failed"]) >= 8
    assert elapsed < 120


def test_leftover_thread_does_not_keep_pytest_alive(pytester, run_kit):
    pytester.makepyfile(leaky='''
import queue, threading

def _forever():
    threading.Event().wait()

class Queue(queue.Queue):
    def __init__(self, maxsize=0):
        super().__init__(maxsize)
        threading.Thread(target=_forever, name="leaked-helper", daemon=False).start()
''')
    start = time.monotonic()
    result = run_kit("leaky", "-k", "fifo_one_producer", timeout=60)
    assert result.ret == 0, result
    assert "implementation threads still running at exit (leaked-helper)" in result.output
    assert time.monotonic() - start < 60
    start = time.monotonic()
    result = run_kit("leaky", "-k", "fifo_one_producer or sizes", "-n", "2", timeout=60)
    assert result.ret == 0, result
    assert time.monotonic() - start < 60


def test_workers_role_only_deselects_queue_tests(pytester, run_kit):
    result = run_kit(ZOO / "correct" / "student_workers.py")
    assert result.ret == 0, result
    assert "Queue from reference" in result.output
    assert all("pipeline" in n or "consumers" in n or "items" in n
               or "workers_under_controlled" in n for n in result.outcomes), result.outcomes


@pytest.mark.once  # pytest-xdist's plumbing, the same on every Python
def test_verdicts_are_the_same_under_xdist(pytester, run_kit):
    # Deterministic verdicts only: how often a race shows may vary with the load,
    # whether or not xdist runs the tests.
    for module in (ZOO / "broken" / "qsize_off_by_one.py", ZOO / "correct" / "two_conditions.py"):
        serial = run_kit(module, *NOT_SYSTEMATIC)
        parallel = run_kit(module, "-n", "2", *NOT_SYSTEMATIC)
        assert serial.ret == parallel.ret
        assert serial.violated == parallel.violated
        assert serial.outcomes == parallel.outcomes, (serial, parallel)
        assert "--prodcon-seed=20261128" in parallel.output


def test_every_replay_selects_exactly_its_test(pytester):
    """The replay command selects with -k NAME: names must be -k safe and unambiguous."""
    result = pytester.runpytest_subprocess("--prodcon-impl=reference", "--collect-only", "-q",
                                           "-p", "no:cacheprovider", "--prodcon-profile=thorough")
    names = [line.split("::")[-1] for line in result.outlines if "::" in line]
    assert len(names) > 60
    for name in names:
        assert re.fullmatch(r"[\w\[\].\-]+", name), f"{name} is not -k safe"
        clashes = [other for other in names if other != name and name in other]
        assert not clashes, f"-k {name} would also select {clashes}"


def test_timeout_factor_must_be_positive(pytester):
    pytester.makepyfile(mymodule=STDLIB)
    result = pytester.runpytest_subprocess("--prodcon-impl=mymodule",
                                           "--prodcon-timeout-factor=0")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--prodcon-timeout-factor must be positive*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_html_timeline_of_a_failing_scenario(pytester, run_kit, workers):
    """The picture is drawn for the failing scenario, written by the controller, named
    in the report, and shows the calls that prove the violation."""
    result = run_kit(ZOO / "broken" / "misorders_rarely.py", "--prodcon-html=pictures",
                     "-k", "conservation_order_capacity", *workers)
    assert result.ret == 1 and "order" in result.violated
    pictures = sorted((pytester.path / "pictures").glob("*.html"))
    assert pictures, result
    named = re.findall(r"^timeline: (\S+\.html)$", result.output, re.M)
    assert sorted(map(Path, named)) == pictures
    pages = [picture.read_text() for picture in pictures]
    assert all(re.search(r'class="explanation"[^>]*>[^<]+</div>', page) for page in pages)
    # Which scenarios fail varies: at least one is the order violation, explained.
    page = next((page for page in pages if "A FIFO queue hands out" in page), None)
    assert page is not None, [re.search(r'class="explanation"[^>]*>([^<]+)', p).group(1)
                              for p in pages]
    data = json.loads(re.search(r'<script type="application/json"[^>]*>(.*?)</script>',
                                page, re.S).group(1))
    assert data  # the history itself rides along, with its highlighted calls


def test_passing_run_writes_no_picture(pytester, run_kit):
    result = run_kit("reference", "--prodcon-html=pictures", "-k", "conservation_order")
    assert result.ret == 0
    assert not (pytester.path / "pictures").exists()


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_json_report_has_every_test_once(pytester, run_kit, workers):
    """One line for the run, then one per test: outcome, properties, the report's text."""
    result = run_kit(ZOO / "broken" / "lifo.py", "--prodcon-json=out/report.jsonl",
                     "-k", "fifo or qsize", *workers)
    assert result.ret == 1
    lines = (pytester.path / "out" / "report.jsonl").read_text().splitlines()
    run, *records = map(json.loads, lines)
    deselected = [r for r in records if r["outcome"] == "deselected"]
    records = [r for r in records if r["outcome"] != "deselected"]
    # Every test the run left out has its line (under xdist the workers deselect).
    told = re.search(r"collected \d+ items / (\d+) deselected", result.output)
    assert len(deselected) == (0 if workers else int(told.group(1))), result
    assert run["run"]["seed"] == 20261128 and run["run"]["implementation"].endswith("lifo.py")
    assert "--prodcon-seed=20261128" in run["run"]["replay"]
    by_test = {r["test"]: r for r in records}
    assert len(by_test) == len(records) == len(result.outcomes)
    for name, outcome in result.outcomes.items():
        assert by_test[name]["outcome"] == outcome
    failed = [r for r in records if r["outcome"] == "failed"]
    assert failed and all("order" in r["properties"] for r in failed)
    assert all("replay: pytest --prodcon-impl=" in r["message"] for r in failed)
    assert all(r["properties"] == [] and r["message"] == "" for r in records
               if r["outcome"] == "passed")


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_getaffinity")
                    or len(__import__("os").sched_getaffinity(0)) < 2
                    or __import__("prodcon.settings").settings.gil_disabled(),
                    reason="one core for a test's threads: Linux, two cores, the GIL")
def test_a_tests_threads_share_one_core_under_the_gil(pytester, run_kit):
    """one_core.py: the suite's threads (the producers and consumers a scenario starts,
    the kit's caller) run on one core, where handing the GIL over is cheap."""
    pytester.makepyfile(counted="""\
import os
import queue
from queue import Empty, Full


class Queue(queue.Queue):
    def put(self, item, block=True, timeout=None):
        with open("cores.txt", "a") as out:
            out.write(f"{len(os.sched_getaffinity(0))}\\n")
        return super().put(item, block, timeout)
""")
    result = run_kit("counted", "-k", "fifo_one_producer or conservation_order_capacity")
    assert result.ret == 0, result
    counts = (pytester.path / "cores.txt").read_text().split()
    assert counts and set(counts) == {"1"}, sorted(set(counts))
    assert "prodcon cores: each test's threads share one core" in result.output
