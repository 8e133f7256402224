"""Grading without running a suite: finding the submissions, the grade and its reason
made from a run's records, the records file read, bad usage refused.
"""

from pathlib import Path

import pytest

from prodcon.cli import main
from prodcon.errors import UsageError
from prodcon.grading import judge, rubric
from prodcon.grading.plan import GradingPlan
from prodcon.grading.submissions import Submission, find_submissions, impl_name
from prodcon.grading.suite_run import SuiteResult, read_records


def test_finding_submissions(tmp_path):
    (tmp_path / "a.py").write_text("")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "q.py").write_text("")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.py").write_text("")
    (tmp_path / "c" / "y.py").write_text("")
    (tmp_path / ".hidden.py").write_text("")
    (tmp_path / "readme.txt").write_text("")
    found = find_submissions([str(tmp_path)], None)
    assert [(s.name, Path(s.module).name) for s in found] == [("a", "a.py"), ("b", "q.py")]
    named = find_submissions([str(tmp_path / "c")], "y")
    assert [(s.name, Path(s.module).name) for s in named] == [("c", "y.py")]
    twice = find_submissions([str(tmp_path / "a.py"), str(tmp_path / "a.py")], None)
    assert [s.name for s in twice] == ["a", "a-2"]
    with pytest.raises(UsageError, match="no such file"):
        find_submissions([str(tmp_path / "nope")], None)


def _package(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("from .core import Queue\n")
    (folder / "core.py").write_text("")
    return folder


def test_finding_package_submissions(tmp_path):
    """A package is a submission: given itself, held alone in a student's folder (named
    after the folder, as a lone module is), or named by --module."""
    cls = tmp_path / "class"
    _package(cls / "alice" / "myqueue")  # alice's folder holds her package
    _package(cls / "bob_pkg")  # a package handed in as it is
    (cls / "carol").mkdir()
    (cls / "carol" / "q.py").write_text("")
    _package(cls / "dave" / "pkg")  # a module and a package beside it: the module, as before
    (cls / "dave" / "q.py").write_text("")
    found = {s.name: s.module for s in find_submissions([str(cls)], None)}
    assert found == {"alice": str(cls / "alice" / "myqueue"), "bob_pkg": str(cls / "bob_pkg"),
                     "carol": str(cls / "carol" / "q.py"), "dave": str(cls / "dave" / "q.py")}
    assert [impl_name(found[n]) for n in sorted(found)] == ["myqueue/", "bob_pkg/", "q.py",
                                                           "q.py"]
    alone = find_submissions([str(cls / "alice")], None)
    assert [(s.name, s.module) for s in alone] == [("alice", str(cls / "alice" / "myqueue"))]
    named = find_submissions([str(cls / "dave")], "pkg")
    assert [(s.name, s.module) for s in named] == [("dave", str(cls / "dave" / "pkg"))]
    two = tmp_path / "two"
    _package(two / "p1")
    _package(two / "p2")
    assert [s.name for s in find_submissions([str(two)], None)] == ["p1", "p2"]


def test_layouts_graded_as_before_packages_aside(tmp_path):
    """An empty __init__.py makes no package submission; a package given itself is never
    split into its modules or subpackages; --module names a module or a package."""
    erin = tmp_path / "erin"  # a student's folder with an empty __init__.py and one module
    erin.mkdir()
    (erin / "__init__.py").write_text("# nothing here\n")
    (erin / "queue_impl.py").write_text("")
    assert [(s.name, s.module) for s in find_submissions([str(erin)], None)] == [
        ("erin", str(erin / "queue_impl.py"))]
    subs = tmp_path / "subs"  # a class folder that happens to hold an empty __init__.py
    subs.mkdir()
    (subs / "__init__.py").write_text("")
    (subs / "alice.py").write_text("")
    (subs / "bob.py").write_text("")
    assert [s.name for s in find_submissions([str(subs)], None)] == ["alice", "bob"]
    deep = _package(tmp_path / "deep_pkg")  # a package with a subpackage and a subfolder
    _package(deep / "inner")
    (deep / "helpers").mkdir()
    (deep / "helpers" / "util.py").write_text("")
    assert [(s.name, s.module) for s in find_submissions([str(deep)], None)] == [
        ("deep_pkg", str(deep))]
    frank = tmp_path / "frank"  # --module names a package beside a module
    _package(frank / "pkg")
    (frank / "other.py").write_text("")
    assert [s.module for s in find_submissions([str(frank)], "pkg")] == [str(frank / "pkg")]
    assert [s.module for s in find_submissions([str(frank)], "other")] == [
        str(frank / "other.py")]


def test_a_package_submission_replays_by_its_folder(tmp_path):
    package = _package(tmp_path / "alice" / "myqueue")
    graded = judge.grade(Submission("alice", str(package.parent), str(package)),
                         _result([], exit_code=None, run=False), _plan(["test_a"]),
                         rubric.load())
    assert graded.replay == ("pytest --prodcon-impl=myqueue/ --prodcon-seed=1 "
                             "--prodcon-profile=quick")


def _plan(expected):
    return GradingPlan([], 1, "quick", 1.0, 60.0, expected, "/tmp/out", None, False)


def _result(records, exit_code=1, run=True, output=""):
    return SuiteResult(records, {"seed": 1} if run else None, exit_code, output, 1.0)


def test_a_run_stopped_at_the_limit_says_how_far_it_got():
    plan = _plan(["test_a", "test_b", "test_c"])
    sub = Submission("s", "s.py", "s.py")
    records = [{"test": "test_a", "outcome": "passed", "properties": []}]
    graded = judge.grade(sub, _result(records, exit_code=None), plan, rubric.load())
    assert graded.reason == "stopped at the time limit of 60 s after 1 of 3 tests"
    assert graded.replay == "pytest --prodcon-impl=s.py --prodcon-seed=1 --prodcon-profile=quick"


def test_a_strict_plan_replays_with_strict():
    plan = GradingPlan([], 1, "quick", 1.0, 60.0, ["test_a"], "/tmp/out", None, False,
                        strict=True)
    records = [{"test": "test_a", "outcome": "passed", "properties": []}]
    graded = judge.grade(Submission("s", "s.py", "s.py"), _result(records, 0),
                           plan, rubric.load())
    assert graded.replay.endswith("--prodcon-profile=quick --prodcon-strict")


def test_a_run_that_never_started_scores_nothing_and_says_why():
    output = ("ERROR: prodcon: importing 's.py' raised ImportError: no numpy\n"
              "no tests ran in 0.1s\n")
    graded = judge.grade(Submission("s", "s.py", "s.py"),
                           _result([], exit_code=4, run=False, output=output),
                           _plan(["test_a"]), rubric.load())
    assert graded.score is None and graded.total == 0
    assert graded.reason == ("the suite could not start: prodcon: importing 's.py' raised "
                             "ImportError: no numpy")


def test_a_child_that_died_is_named_with_the_test_it_died_in():
    records = [{"test": "test_a", "outcome": "failed", "properties": [],
                "message": "prodcon: the implementation's process is gone: killed (memory)\n"
                           "The implementation's process is gone; ..."}]
    graded = judge.grade(Submission("s", "s.py", "s.py"), _result(records),
                           _plan(["test_a"]), rubric.load())
    assert graded.reason.startswith("the submission's process died during test_a: ")


def test_one_error_behind_most_failures_is_the_reason():
    records = [{"test": f"test_{n}", "outcome": "failed", "properties": [],
                "message": "Traceback ...\nE   RuntimeError: can't start new thread\n"}
               for n in range(6)]
    records.append({"test": "test_x", "outcome": "failed", "properties": ["order"],
                    "message": "prodcon: property violated: order"})
    graded = judge.grade(Submission("s", "s.py", "s.py"), _result(records),
                           _plan([r["test"] for r in records]), rubric.load())
    assert graded.reason == ("6 of 7 failing tests ended with the same error: "
                             "RuntimeError: can't start new thread")


def test_bad_usage_exits_2(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "missing"), "-o", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "r.toml"
    bad.write_text("[criteria.nonsense]\npoints = 1\ntests = ['x']\n")
    (tmp_path / "a.py").write_text("")
    assert main(["grade", str(tmp_path / "a.py"), "-o", str(tmp_path / "o"),
                 "--rubric", str(bad)]) == 2
    assert "unknown property" in capsys.readouterr().err


def test_the_records_the_grader_reads_skip_what_is_not_a_record(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"run": {"seed": 1}}\nnot json\n[1]\n{"test": "t", "outcome": "passed"}\n'
                    '{"run": {"seed": 2}}\n')
    run, tests = read_records(path)
    assert run == {"seed": 1} and [t["test"] for t in tests] == ["t"]


def test_what_the_systematic_search_covered_reaches_the_student_and_the_instructor():
    from prodcon.grading import reports

    covered = "complete: every schedule of 2p1c-max1-1each-blocking-join with at most 1 " \
              "preemption, up to the order of steps that commute, explored (260 schedules), " \
              "no violation"
    records = [{"test": "test_systematic_schedules[2p1c-max1-1each-blocking-join]",
                "outcome": "passed", "properties": [], "coverage": covered},
               {"test": "test_a", "outcome": "passed", "properties": []}]
    chosen = rubric.load()
    graded = judge.grade(Submission("s", "s.py", "s.py"), _result(records, 0),
                         _plan([r["test"] for r in records]), chosen)
    assert graded.covered == [covered]
    assert f"## What the systematic search covered\n\n- {covered}\n" in reports.feedback(
        graded, chosen)
    assert '"covered": [\n' in reports.grades_json([graded], chosen)
