"""The order pytest-xdist hands the tests out in: the longest ones first, one worker each.

`--dist worksteal` gives worker i the i-th contiguous share of the collected tests, then
lets an idle worker steal the tail of the busiest one's queue. A test that runs for
minutes (most of it waiting out a deadlocked implementation's bounds) is never stolen
once it has begun: started last, it is the whole run's tail (seen on 3.13:
`deadlock_everywhere` began at 255 s and the run ended at 440 s, every other worker idle
from 400 s on). So the tests measured longest start first, each at the head of the
share of the worker with the least expected time so far, and everything else keeps its
file order behind them. Tests that share a session fixture built under a file lock (the
graded class) go to one worker together: spread over several, all but one would sit
waiting for the lock.

The figures are wall seconds under `-n 6` on 2 cores (3.10, the mean of two runs on
2026-12-06 at 76f6a15, less the free-threaded option's tests, made cheap after); they
only rank, so a stale one costs a little balance, never a test.
"""

from __future__ import annotations

#: Node id (after "tests/") -> expected wall seconds; the tests over about 40 s.
EXPECTED = {
    "e2e/test_grade.py::test_the_command_grades_every_submission": 147,
    "e2e/test_installed_wheel.py::test_grading_quick_start_as_written": 126,
    "e2e/test_zoo.py::test_correct_implementation_passes[semaphore_heap]": 78,
    "e2e/test_grade.py::test_an_asyncio_class_is_graded_with_the_async_suite_and_rubric": 76,
    "e2e/test_zoo.py::test_correct_implementation_passes[semaphore_deque]": 73,
    "e2e/test_plugin.py::test_verdicts_are_the_same_under_xdist": 68,
    "e2e/test_kill_matrix.py::test_kill_matrix_smoke_run_on_lifo": 58,
    "e2e/test_controlled_suite.py::test_correct_queues_pass_the_thorough_profile[reference]": 54,
    "e2e/test_zoo.py::test_correct_implementation_passes[workers_and_queue]": 52,
    "e2e/test_installed_wheel.py::test_the_first_command_passes_on_the_bundled_reference": 52,
    "e2e/test_zoo.py::test_broken_implementation_is_caught[eq_empty_marker]": 50,
    "e2e/test_zoo.py::test_correct_implementation_passes[polling]": 49,
    "e2e/test_controlled_suite.py::test_correct_queues_pass_the_thorough_profile[stdlib]": 49,
    "e2e/test_zoo.py::test_correct_implementation_passes[two_conditions]": 45,
    "e2e/test_zoo.py::test_broken_implementation_is_caught[skips_equal_queued]": 44,
    "e2e/test_zoo.py::test_correct_implementation_passes[reference]": 41,
}

#: Session fixtures built once under a file lock (conftest.once_per_session) that take
#: long enough to keep their tests together.
SHARED_FIXTURES = ("graded_class",)


def order(items: list, workers: int) -> list:
    """`items` reordered for `workers` worksteal workers (see the module's docstring)."""
    if workers < 2:
        return items
    units, rest = _long_units(items)
    sizes = _shares(len(items), workers)
    load = [0.0] * workers
    heads: list[list] = [[] for _ in range(workers)]
    for seconds, unit in sorted(units, key=lambda u: -u[0]):
        fits = [i for i in range(workers) if len(heads[i]) + len(unit) <= sizes[i]]
        if not fits:
            return items  # a share too small for its long tests: no better order known
        worker = min(fits, key=lambda i: load[i])
        heads[worker].extend(unit)
        load[worker] += seconds
    ordered, taken = [], 0
    for worker in range(workers):
        fill = sizes[worker] - len(heads[worker])
        ordered += heads[worker] + rest[taken:taken + fill]
        taken += fill
    return ordered


def _long_units(items: list) -> tuple[list[tuple[float, list]], list]:
    """The long tests, each a unit of its own or with its fixture's group, and the rest."""
    units: list[tuple[float, list]] = []
    groups: dict[str, list] = {}
    rest = []
    for item in items:
        shared = next((f for f in SHARED_FIXTURES if f in getattr(item, "fixturenames", ())),
                      None)
        if shared is not None:
            groups.setdefault(shared, []).append(item)
            continue
        seconds = _expected(item)
        if seconds is None:
            rest.append(item)
        else:
            units.append((seconds, [item]))
    for group in groups.values():
        units.append((sum(_expected(i) or 1 for i in group), group))
    return units, rest


def _expected(item) -> float | None:
    """The test's expected wall seconds, if it is in `EXPECTED`."""
    return EXPECTED.get(item.nodeid.split("tests/", 1)[-1])


def _shares(count: int, workers: int) -> list[int]:
    """How many tests worksteal first sends each worker: what is left over the workers
    left, worker by worker (xdist/scheduler/worksteal.py, check_schedule)."""
    sizes, left = [], count
    for i in range(workers):
        size = left // (workers - i)
        sizes.append(size)
        left -= size
    return sizes
