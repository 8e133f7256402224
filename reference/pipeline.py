"""The coordinator: M producers and N consumers around one queue, shut down cleanly.

The protocol is the one every prodcon implementation is tested under: start the
consumers and producers, wait for the producers, q.join(), put one sentinel per
consumer, wait for the consumers.
"""

import threading
import time

from .bounded_queue import Queue
from .workers import SENTINEL, consumer, producer

_POLL = 0.05  # how often a waiting coordinator looks for a crashed worker


def run_pipeline(
    batches,
    consumers=1,
    maxsize=0,
    handle=None,
    *,
    queue_factory=Queue,
    producer=producer,
    consumer=consumer,
    sentinel=SENTINEL,
    timeout=None,
):
    """Push each batch through one queue (a producer thread each); return what was handled.

    The result lists every item the consumers handled, in the order they reached
    them, so a caller can check that nothing was lost, duplicated or reordered. The
    roles are parameters so that any implementation of them runs under the same
    protocol. If a worker thread raises, RuntimeError (caused by that exception) is
    raised here at once. With a timeout, the whole run is bounded: TimeoutError
    names the threads still running instead of hanging the caller.
    """
    q = queue_factory(maxsize)
    handled = []
    errors = []  # (thread name, exception), filled by the worker threads
    deadline = None if timeout is None else time.monotonic() + timeout

    def record(item):
        handled.append(item)  # list.append is atomic in CPython: no lock needed
        if handle is not None:
            handle(item)

    def start(name, target, *args):
        def run():
            try:
                target(*args)
            except BaseException as exc:  # reported by wait(), not lost in the thread
                errors.append((name, exc))

        # daemon: a thread left stuck in a broken queue must not keep the process
        # alive after run_pipeline() has given up on it.
        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def check_workers():
        if errors:
            name, exc = errors[0]
            raise RuntimeError(f"thread {name} raised {exc!r}") from exc

    def wait(threads, stage):
        for thread in threads:
            while thread.is_alive():
                check_workers()  # a crashed worker would otherwise hang this wait
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    alive = [t.name for t in workers + threads if t.is_alive()]
                    raise TimeoutError(
                        f"run_pipeline: {stage} did not finish within {timeout}s;"
                        f" still running: {', '.join(dict.fromkeys(alive))}"
                    )
                thread.join(_POLL if left is None else min(_POLL, left))
        check_workers()

    def put_sentinels():
        for _ in range(consumers):
            q.put(sentinel)

    # Consumers first, so that producers of a small bounded queue find someone taking.
    consumer_threads = [start(f"consumer-{i}", consumer, q, record) for i in range(consumers)]
    producer_threads = [
        start(f"producer-{i}", producer, q, batch) for i, batch in enumerate(batches)
    ]
    workers = producer_threads + consumer_threads

    wait(producer_threads, "the producers")
    # join() before the sentinels: once it returns, every item has been handled, so a
    # sentinel can never overtake real work, even in a queue that is not FIFO (a
    # LIFO or priority queue would hand it out first). The sentinels then only wake
    # consumers that are idle in get().
    wait([start("join", q.join)], "q.join()")
    # N sentinels for N consumers: each consumer returns after taking exactly one, so
    # one sentinel would stop one consumer and leave the other N-1 blocked in get()
    # forever. Put from a thread, since a bounded queue may make put() wait.
    wait([start("sentinels", put_sentinels)], "putting the sentinels")
    wait(consumer_threads, "the consumers")
    return handled
