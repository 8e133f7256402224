"""One round of a bench case for a thread queue: producer and consumer threads started
together from a barrier, every wait bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .figures import Case, Round, Trouble, split


def run_round(make: Callable[[int], Any], case: Case, bound: float) -> Round | Trouble:
    """Run `case` once on a fresh queue; every wait ends within `bound` seconds.

    All threads start together from a barrier (the clock starts when the last one
    arrives) and the clock stops when the last consumer has taken its share. Threads are
    daemons: a queue that never wakes a waiter leaves them blocked, and this returns
    "stuck" instead of hanging the bench.
    """
    try:
        q = make(case.maxsize)
    except Exception as exc:
        return Trouble("failed", f"Queue({case.maxsize}) raised {type(exc).__name__}: {exc}")
    clock = time.perf_counter_ns
    started: list[int] = []
    barrier = threading.Barrier(case.producers + case.consumers,
                                action=lambda: started.append(clock()))
    latencies: list[list[int]] = [[] for _ in range(case.consumers)]
    finished: list[int] = []
    errors: list[str] = []
    lock = threading.Condition()
    running = [case.producers + case.consumers]

    def worker(who: str, body: Callable[..., None], *args: Any) -> None:
        try:
            barrier.wait(bound)
            body(*args)
        except BaseException as exc:  # a broken queue is a finding, not a crash
            with lock:
                errors.append(f"{who}: {type(exc).__name__}: {exc}")
        finally:
            with lock:
                running[0] -= 1
                lock.notify()

    def produce(count: int) -> None:
        put = q.put
        for _ in range(count):
            put(clock())

    def consume(count: int, record: list[int]) -> None:
        get, note = q.get, record.append
        for _ in range(count):
            note(clock() - get())
        finished.append(clock())

    jobs: list[tuple[Any, ...]] = [
        (f"producer {i} put", produce, n)
        for i, n in enumerate(split(case.items, case.producers))]
    jobs += [(f"consumer {i} get", consume, n, record) for i, (n, record)
             in enumerate(zip(split(case.items, case.consumers), latencies, strict=True))]
    threads = [threading.Thread(target=worker, args=job, name=f"prodcon-bench {job[0]}",
                                daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    with lock:
        lock.wait_for(lambda: running[0] == 0 or errors, timeout=bound)
        left, problems = running[0], list(errors)
    if problems:
        return Trouble("failed", problems[0])
    if left:
        return Trouble("stuck", f"a round did not finish within {bound:g} s "
                       f"({left} of {len(threads)} threads still blocked)")
    for thread in threads:
        thread.join(bound)  # each is past its last statement already
    return Round.of(case.items, latencies, started[0], finished)
