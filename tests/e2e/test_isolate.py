"""`--prodcon-isolate`: the whole suite through the sandbox, the verdict out of reach.

The implementation is imported in a child process and tested through proxies, so
nothing it does in its own process (patching pytest or the kit, exiting, printing)
can change what the kit in this one decides.
"""

import shutil

from conftest import ZOO

LIFO_THAT_CHEATS = '''
import os, sys
from collections import deque
from queue import Empty, Full

def _claim_success(*args, **kwargs):
    print("1 passed")  # a fake result on its own stdout
    return None

sys.exit = os._exit = _claim_success
try:  # whatever of pytest and the kit this process can reach, told to say "passed"
    import _pytest.reports
    import prodcon.session.run
    import prodcon.verdict
    _pytest.reports.BaseReport.passed = property(lambda self: True)
    _pytest.reports.BaseReport.failed = property(lambda self: False)
    prodcon.verdict.judge = lambda violations: None
    prodcon.session.run.explain = lambda *a, **k: "all good"
except ImportError:
    pass


class Queue:
    def __init__(self, maxsize=0):
        self.items = deque()
    def put(self, item, block=True, timeout=None):
        self.items.append(item)
    def get(self, block=True, timeout=None):
        if not self.items:
            raise Empty
        return self.items.pop()  # last in, first out
    def put_nowait(self, item):
        self.put(item)
    def get_nowait(self):
        return self.get()
    def task_done(self):
        pass
    def join(self):
        pass
    def qsize(self):
        return len(self.items)
    def empty(self):
        return not self.items
    def full(self):
        return False
'''


def test_reference_passes_isolated(run_kit):
    result = run_kit("reference", "--prodcon-isolate", "-k",
                     "fifo or stolen or conservation_order_capacity or pipeline or join")
    assert result.ret == 0, result
    assert len(result.outcomes) >= 15
    assert "--prodcon-isolate" in result.output.split("prodcon replay:")[-1]


def test_a_package_folder_is_staged_whole_and_its_race_caught(pytester, run_kit):
    """A package (two modules, relative imports) goes into the sandbox as a package, by
    its folder or its __init__.py, and is explored there like a single file."""
    for impl in (ZOO / "correct" / "split_package",
                 ZOO / "correct" / "split_package" / "__init__.py"):
        result = run_kit(impl, "--prodcon-isolate", "-k", "fifo_one_producer or semantics")
        assert result.ret == 0, result
    # named like the standard library's queue: the sandbox must test the student's (in
    # a folder of its own: in the working directory it would shadow pytest's queue too)
    broken = pytester.path / "submission" / "queue"
    shutil.copytree(ZOO / "broken" / "package_adds_after_release", broken,
                    ignore=shutil.ignore_patterns("__pycache__"))
    result = run_kit(broken, "--prodcon-isolate", "-k", "controlled and nowait")
    assert result.ret == 1 and result.violated == {"capacity"}, result


def test_deadlock_report_shows_where_the_submission_waits(run_kit):
    result = run_kit(ZOO / "broken" / "deadlock_everywhere.py", "--prodcon-isolate", "-k",
                     "fifo_one_producer or test_conservation_order_capacity[1p1c")
    assert result.ret == 1 and "deadlock" in result.violated, result
    assert "where the submission's threads are" in result.output
    assert "deadlock_everywhere.py:" in result.output  # the child's frames, by file and line


def test_cheating_at_import_cannot_change_the_verdict(pytester, run_kit):
    pytester.makepyfile(cheater=LIFO_THAT_CHEATS)
    result = run_kit("cheater.py", "--prodcon-isolate", "-k", "fifo_one_producer")
    assert result.ret == 1, result
    assert result.violated == {"order"}, result


def test_exit_at_import_is_a_usage_error(pytester):
    pytester.makepyfile(quitter="import os\nos._exit(0)\n")
    result = pytester.runpytest_subprocess("--prodcon-impl=quitter.py", "--prodcon-isolate",
                                           "-p", "no:cacheprovider")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*prodcon: *quitter*exit*"])


def test_a_submission_that_dies_mid_run_fails_each_test_and_the_run_ends(pytester, run_kit):
    pytester.makepyfile(dies="""
        import os
        from queue import Queue as _Queue, Full, Empty

        class Queue(_Queue):
            made = 0

            def __init__(self, maxsize=0):
                Queue.made += 1
                if Queue.made == 6:  # a few tests in, the process is gone
                    os._exit(9)
                super().__init__(maxsize)
    """)
    result = run_kit("dies.py", "--prodcon-isolate", "-k", "semantics", timeout=300)
    assert result.ret == 1, result
    assert "exited with code 9" in result.output
    assert "passed" in result.outcomes.values()  # the tests before the death count
