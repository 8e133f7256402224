"""The kit's own failures: said to be prodcon's, with their own exit code, never graded.

A fault is injected into the kit from a conftest.py of the run (the kit's code is
patched at import, before the session starts), and the run must say that the kit
failed in which test, exit with `errors.EXIT_CODE`, and leave records that
`prodcon grade` counts for no criterion.
"""

import json

from conftest import ZOO
from prodcon import errors
from prodcon.grading import judge, reports, rubric
from prodcon.grading.plan import GradingPlan
from prodcon.grading.submissions import Submission
from prodcon.grading.suite_run import SuiteResult

#: A checker that fails: used by every queue scenario and every controlled schedule.
CHECKER_FAULT = """
import prodcon.engine.checkers

def fifo_queue(*args, **kwargs):
    raise ZeroDivisionError("injected into the kit")

prodcon.engine.checkers.fifo_queue = fifo_queue
"""


def test_a_fault_in_the_kit_is_reported_as_prodcons_and_not_graded(pytester, run_kit):
    pytester.makeconftest(CHECKER_FAULT)
    result = run_kit("reference", "-k",
                     "test_conservation_order_capacity or test_controlled_schedules",
                     "--prodcon-explore=5", "--prodcon-json=records.jsonl")
    # (a) each report says it is the kit's bug, names the test, shows the kit's frames
    assert result.ret == errors.EXIT_CODE, result
    assert ("prodcon internal error: the kit itself failed in "
            "test_conservation_order_capacity[") in result.output, result
    assert "while checking the recorded history." in result.output, result
    assert ("while exploring 3 controlled schedules of 2p2c-max1-2each-blocking-join: "
            "checking the history of a controlled schedule.") in result.output, result
    assert "This is a bug in prodcon, not in the implementation" in result.output, result
    assert "scenario.py" in result.output and "ZeroDivisionError: injected into the kit" in (
        result.output), result
    assert "property violated" not in result.output and result.violated == set(), result
    failed = [name for name, outcome in result.outcomes.items() if outcome == "failed"]
    assert failed, result
    assert (f"prodcon internal error: the kit itself failed in {len(failed)} test(s), which "
            f"judged nothing (a bug in prodcon, not in the implementation; exit code "
            f"{errors.EXIT_CODE}): ") in result.output, result
    # (c) grading: the same records, judged as `prodcon grade` judges them
    lines = (pytester.path / "records.jsonl").read_text().splitlines()
    run, *records = map(json.loads, lines)
    records = [r for r in records if r["outcome"] != "deselected"]
    assert {r["outcome"] for r in records} == {"kit-error"}, records
    plan = GradingPlan([], 1, "quick", 1.0, 60.0, [r["test"] for r in records], "", None,
                       False)
    sub = Submission("ref", "ref.py", "ref.py")
    suite_result = SuiteResult(records, run, result.ret, result.output, 1.0)
    graded = judge.grade(sub, suite_result, plan, rubric.load())
    assert graded.total == graded.max_score == 100, graded
    assert graded.kit_failed == sorted(failed, key=[r["test"] for r in records].index)
    assert graded.reason == ""  # the run did not end early: nothing for the student to fix
    assert "prodcon itself failed in" in graded.remarks and failed[0] in graded.remarks
    assert "not counted for or against you" in reports.feedback(graded, rubric.load())


def test_a_report_the_kit_cannot_write_is_the_kits_error_too(pytester, run_kit):
    pytester.makeconftest("import prodcon.session.run\n"
                          "def explain(*args, **kwargs):\n"
                          "    raise KeyError('injected into the kit')\n"
                          "prodcon.session.run.explain = explain\n")
    result = run_kit(ZOO / "broken" / "lifo.py", "-k", "test_fifo_one_producer")
    assert result.ret == errors.EXIT_CODE, result
    assert ("prodcon internal error: the kit itself failed in test_fifo_one_producer,\n"
            "while writing the report of this test's failure.") in result.output, result
    assert "KeyError: 'injected into the kit'" in result.output, result


def test_a_fault_in_the_controlled_scheduler_is_prodcons_not_the_queues(pytester, run_kit):
    """The strategy fails when a thread of the queue's reaches a switch point: inside the
    implementation's call, yet not the implementation's exception."""
    pytester.makeconftest("from prodcon.controlled import strategies\n"
                          "choose = strategies.RandomWalk.choose\n"
                          "def second_fails(self, *args):\n"
                          "    self.calls = getattr(self, 'calls', 0) + 1\n"
                          "    if self.calls > 1:\n"
                          "        raise IndexError('injected into the kit')\n"
                          "    return choose(self, *args)\n"
                          "strategies.RandomWalk.choose = second_fails\n")
    result = run_kit("reference", "-k", "controlled and 2p2c-max1", "--prodcon-explore=5")
    assert result.ret == errors.EXIT_CODE and result.violated == set(), result
    assert "choosing the thread to run at a switch point." in result.output, result
    assert "scheduler.py" in result.output and "IndexError: injected" in result.output
