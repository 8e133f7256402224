"""The public zoo: every broken implementation fails for the right reason, every correct
one passes. Each run is a real `pytest --prodcon-impl=FILE` in its own process.
"""

import json

import pytest

from conftest import REPO, ZOO, caught_by, zoo_modules
from prodcon.controlled.queue_exploration import PLANS, SYSTEMATIC

BROKEN = zoo_modules(ZOO / "broken")
CORRECT = [REPO / "reference" / "__init__.py", *zoo_modules(ZOO / "correct"),
           *sorted((ZOO / "adapters").glob("*.py"))]


@pytest.mark.parametrize("module", BROKEN, ids=lambda p: p.stem)
def test_broken_implementation_is_caught(run_kit, module):
    """The whole quick profile but its systematic search, which runs every schedule of
    its plans within their bound wherever the bug is not there to stop it (seconds a
    module); tests/e2e/test_systematic.py has it catch the races it is there for."""
    expected = caught_by(module)
    result = run_kit(module, "-k", "not test_systematic", stop_on=expected)
    assert result.ret == 1, result
    assert expected in result.violated, (
        f"{module.stem} should be caught by {expected!r}; the kit reported "
        f"{sorted(result.violated)}\n{result}"
    )


#: Queues built for one check each, too narrow for the zoo's rules (one bug, caught every run).
NARROW = {
    "keeps_three": """\
import queue
from queue import Empty, Full


class Queue(queue.Queue):  # forgets every item after its third: put() returns, it is gone
    def __init__(self, maxsize=0):
        super().__init__(maxsize)
        self._puts = 0

    def _put(self, item):
        self._puts += 1
        if self._puts <= 3:
            super()._put(item)
""",
    "get_on_empty_raises": """\
import queue
from queue import Empty, Full


class Queue(queue.Queue):  # every get form raises RuntimeError on an empty queue
    def get(self, block=True, timeout=None):
        with self.mutex:
            if not self._qsize():
                raise RuntimeError("nothing to get")
        return super().get(block, timeout)
""",
}


@pytest.mark.parametrize("module, tests, violated", [
    ("false_empty_sometimes", "test_fifo_one_producer", {"full-empty"}),
    ("get_nowait_blocks", "test_any_object_is_an_item", {"blocking"}),
    ("keeps_three", "test_fifo_one_producer", {"conservation"}),
    ("get_on_empty_raises", "test_conservation_order_capacity and unbounded", {"exceptions"}),
])
def test_a_failure_is_blamed_on_the_bug_not_on_its_consequence(run_kit, pytester, module,
                                                               tests, violated):
    """A false Empty is a wrong answer, a get_nowait() that hangs a blocking bug, and
    items left in the queue by consumers that died of a wrong exception are not lost:
    only an item that does not come out when asked is. Grading caps a lost item, so
    the difference is worth 40 points to a student."""
    impl = ZOO / "broken" / f"{module}.py"
    if module in NARROW:
        impl = pytester.path / f"{module}.py"
        impl.write_text(NARROW[module])
    result = run_kit(impl, "-k", tests)
    assert result.violated == violated, result


#: The correct modules that provide the Queue role: the controlled schedules explore them.
QUEUE_ROLE = {"reference", "two_conditions", "polling", "stdlib_reexport", "semaphore_deque",
              "semaphore_heap", "persistqueue_adapter", "workers_and_queue", "split_package"}


@pytest.mark.parametrize("module", CORRECT, ids=lambda p: p.stem if p.stem != "__init__" else
                         "reference")
def test_correct_implementation_passes(run_kit, module, tmp_path):
    """The whole quick profile passes; where the module provides a Queue, its
    controlled-schedule tests (one a plan) ran and passed too, and the systematic
    search was complete for every plan, which the summary and the JSON report say."""
    impl = "reference" if module.stem == "__init__" else module
    report = tmp_path / "report.json"
    result = run_kit(impl, f"--prodcon-json={report}")
    assert result.ret == 0, result
    assert result.violated == set(), result
    controlled = {name: outcome for name, outcome in result.outcomes.items()
                  if name.startswith("test_controlled")}
    if getattr(impl, "stem", impl) in QUEUE_ROLE:
        assert len(controlled) == len(PLANS) and set(controlled.values()) == {"passed"}, result
        assert (f"prodcon systematic: {len(SYSTEMATIC)} of {len(SYSTEMATIC)} plans searched "
                "completely") in result.output, result
        assert "prodcon systematic: 5 small plans, every schedule with at most 0 to 1 (by " \
               "plan) preemptions" in result.output, result
        records = [json.loads(line) for line in report.read_text().splitlines()[1:]]
        covered = [r["coverage"] for r in records if r["test"].startswith("test_systematic")]
        assert len(covered) == len(SYSTEMATIC), records
        assert all(text.startswith("complete: every schedule of ") for text in covered), covered
