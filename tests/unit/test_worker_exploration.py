"""Workers under controlled schedules: `controlled/worker_exploration.py`, in-process.

The user's producer and consumer, the kit's coordinator and the reference queue run
one thread at a time, in virtual time, with handle() taking virtual seconds. Workers
that give up on a full queue or leave an empty one are found (the free-running
scenarios never keep a queue full or empty that long); correct workers, polling ones
included, never fail; the same seed gives the same report, byte for byte.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict
from pathlib import Path

import pytest

from prodcon import contract
from prodcon.controlled.worker_exploration import (
    HANDLE_LONGEST,
    PLANS,
    WorkerPlan,
    explore_workers,
    handle_time,
    worker_batches,
)
from prodcon.items import ODD_KINDS, Item

SEED = 20261128
ZOO = Path(__file__).resolve().parents[1] / "zoo"

CONSUMER = """
def consumer(q, handle):
    while True:
        item = q.get()
        if item is None:
            q.task_done()
            return
        handle(item)
        q.task_done()
"""

PRODUCER = """
def producer(q, items):
    for item in items:
        q.put(item)
"""

#: Correct workers that poll: a timed put tried again on Full, a timed get asked again
#: on Empty. Their timeouts fire in virtual time while handle() sleeps; never a failure.
POLLING = """
import queue


def producer(q, items):
    for item in items:
        while True:
            try:
                q.put(item, timeout=0.5)
                break
            except queue.Full:
                pass


def consumer(q, handle):
    while True:
        try:
            item = q.get(timeout=0.5)
        except queue.Empty:
            continue
        if item is None:
            q.task_done()
            return
        handle(item)
        q.task_done()
"""

#: A consumer that spins on get_nowait() without ever sleeping: correct, but virtual time
#: cannot pass while it runs, so it cannot be explored; skipped, never failed.
SPINNING = PRODUCER + """
import queue


def consumer(q, handle):
    while True:
        try:
            item = q.get_nowait()
        except queue.Empty:
            continue
        if item is None:
            return
        handle(item)
        q.task_done()
"""


def _explore(module_path, seed: int = SEED, schedules: int = 40,
             plan: WorkerPlan = PLANS[0]) -> dict:
    path = Path(module_path)
    impl = contract.load(str(path), path.parent)
    found = explore_workers(impl.module, json.dumps(asdict(plan)), ",".join(sorted(impl.borrowed)),
                            seed, schedules)
    return json.loads(found)


def _module(tmp_path, name: str, source: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def test_handle_times_range_from_nothing_to_seconds():
    rng = random.Random(SEED)
    times = [handle_time(rng) for _ in range(400)]
    assert 0.0 in times and max(times) <= HANDLE_LONGEST
    assert sum(t > 2.0 for t in times) > 40  # far beyond a polling timeout, often


@pytest.mark.parametrize("module", [ZOO / "correct" / "student_workers.py",
                                    ZOO / "correct" / "workers_and_queue.py"],
                         ids=lambda p: p.stem)
def test_correct_workers_pass(module):
    found = _explore(module)
    assert found["failed_at"] is None and not found["skipped"], found
    assert found["schedules"] == 40 and not found["kit_error"], found


def test_polling_workers_pass(tmp_path):
    found = _explore(_module(tmp_path, "polling_workers", POLLING))
    assert found["failed_at"] is None and not found["skipped"], found


def test_a_worker_that_spins_is_skipped_with_the_reason(tmp_path):
    found = _explore(_module(tmp_path, "spinning_workers", SPINNING), schedules=3)
    assert found["failed_at"] is None and "without ever blocking" in found["skipped"], found


@pytest.mark.parametrize("name, prop", [
    ("producer_gives_up_on_full", "conservation"),
    ("consumer_leaves_on_quiet", "sentinel-shutdown"),
    ("consumer_sheds_when_behind", "conservation"),
])
def test_workers_that_need_time_to_fail_are_found_and_shown(name, prop):
    found = _explore(ZOO / "broken" / f"{name}.py")
    assert found["failed_at"] is not None and prop in found["props"], found
    # shown: the step that failed is marked, or the items the report names are in the
    # trace (a lost or misordered item is judged once the run has ended)
    named = set(re.findall(r"p\d+#\d+", found["message"]))
    assert ">>" in found["trace"] or (named and all(i in found["trace"] for i in named)), found
    assert found["calls"] <= found["calls_before"], found
    assert found["switches"] <= found["switches_before"], found


def test_a_consumer_that_leaves_shows_the_timeout_that_made_it_leave():
    found = _explore(ZOO / "broken" / "consumer_leaves_on_quiet.py")
    assert "get(timeout=2.0)" in found["trace"] and "get raised Empty" in found["trace"]
    assert "returned before its sentinel" in found["message"], found


@pytest.mark.parametrize("name, odd", [
    ("consumer_stops_on_falsy", "(falsy)"),
    ("consumer_eq_sentinel", "(raises on =="),  # the trace cuts the rest of its label
])
def test_workers_that_trip_over_an_odd_item_are_shown_with_it(name, odd):
    """The plan's items include every odd kind: a consumer that stops on a falsy item, or
    compares items with ==, is shown taking it."""
    found = _explore(ZOO / "broken" / f"{name}.py")
    assert found["failed_at"] is not None and "sentinel-shutdown" in found["props"], found
    assert odd in found["trace"], found


def test_every_odd_kind_is_in_the_default_plan():
    kinds = {type(item) for batch in worker_batches(PLANS[0]) for item in batch}
    assert set(ODD_KINDS) <= kinds and Item in kinds


def test_the_same_seed_gives_the_same_report():
    module = ZOO / "broken" / "consumer_freshest_first_when_behind.py"
    first = _explore(module)
    assert first["failed_at"] is not None and first["props"] == ["order"], first
    assert _explore(module) == first


def test_a_module_that_cannot_be_run_again_is_skipped(tmp_path):
    # workers that start a thread at import: the managed copy cannot, outside a run
    source = PRODUCER + CONSUMER + "import threading\nthreading.Thread(target=print).start()\n"
    found = _explore(_module(tmp_path, "starts_at_import", source), schedules=3)
    assert "cannot be loaded for controlled runs" in found["skipped"], found
