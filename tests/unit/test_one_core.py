"""one_core.py: which tests keep their threads on one core, and that they stay there
and let go again. The savings are measured in benchmarks/controlled_cost.py and the
module's docstring, not here."""

from __future__ import annotations

import os
import queue
import threading

import pytest

from prodcon import one_core
from prodcon.engine import harness
from prodcon.reference import Queue, consumer, producer
from prodcon.settings import PROFILES, Settings, gil_disabled

pinning = pytest.mark.skipif(
    one_core.EVERY_CORE is None or len(one_core.EVERY_CORE) < 2,
    reason="keeping threads on a core needs Linux and two cores")


def test_python_queues_are_python_code_and_c_ones_are_not():
    assert one_core.python_code(Queue, producer, consumer)
    assert one_core.python_code(queue.Queue)
    assert one_core.python_code(type("Sub", (queue.Queue,), {}))
    assert not one_core.python_code(queue.SimpleQueue)  # put and get written in C
    assert not one_core.python_code(queue.Queue, print)  # a worker role that is a builtin
    assert not one_core.python_code(object)  # no put, no get


@pinning
def test_only_python_code_under_the_gil_pays():
    assert one_core.pays(Queue, producer, consumer) is not gil_disabled()
    assert not one_core.pays(queue.SimpleQueue)


@pinning
def test_a_kept_block_and_the_threads_it_starts_share_one_core_then_let_go():
    seen: list = []
    with one_core.for_test(True):
        seen.append(os.sched_getaffinity(0))
        thread = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))
        thread.start()
        thread.join()
        assert one_core.kept() is not None
    assert seen[0] == seen[1] and len(seen[0]) == 1
    assert os.sched_getaffinity(0) == one_core.EVERY_CORE and one_core.kept() is None


@pinning
def test_a_block_not_kept_changes_nothing():
    with one_core.for_test(False):
        assert os.sched_getaffinity(0) == one_core.EVERY_CORE and one_core.kept() is None


@pinning
def test_the_kits_caller_follows_the_calling_thread_in_and_out_of_a_kept_block():
    """A pooled caller thread serves calls from tests kept on any core, and from code
    kept on none: each call puts it where its caller is."""
    settings = Settings(1, PROFILES["quick"])

    def where():
        return os.sched_getaffinity(0)

    for _ in range(2):
        with one_core.for_test(True):
            mine = os.sched_getaffinity(0)
            assert harness.call(settings, where) == mine
        assert harness.call(settings, where) == one_core.EVERY_CORE
    other = {min(one_core.EVERY_CORE - mine)}
    one_core.keep_on(next(iter(other)))
    try:
        assert harness.call(settings, where) == other
    finally:
        one_core.release()
    assert harness.call(settings, where) == one_core.EVERY_CORE
