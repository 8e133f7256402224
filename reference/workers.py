"""The worker role: a producer that fills a queue and a consumer that drains it.

The coordinator (see pipeline.py) decides when consumers stop, by putting one
SENTINEL per consumer after every real item is done. The workers only follow that
protocol, which keeps them short enough to be obviously right.
"""

# The value that tells a consumer to return. None is the conventional choice; a module
# whose items may themselves be None defines its own, e.g. `SENTINEL = object()`.
SENTINEL = None


def producer(q, items):
    """Put every item, in order, and return.

    No sentinel here: with several producers, none of them knows when the *last* item
    of all has been put, so ending the consumers is the coordinator's job.
    """
    for item in items:
        q.put(item)


def consumer(q, handle):
    """Take items and handle them until the sentinel arrives."""
    while True:
        item = q.get()
        # `is`, never `==` or `if not item`: items may be 0, "", [] or objects whose
        # __eq__ returns anything (or raises). Only the sentinel object itself is the
        # sentinel.
        if item is SENTINEL:
            q.task_done()  # balances the sentinel's put; harmless, keeps counts exact
            return
        handle(item)
        # After handle(), not before: task_done() is the promise that the work on this
        # item is finished, and join() returns when every item has that promise. Marked
        # earlier, join() could return while the item is still being processed; if
        # handle() raises, the item is never marked done and join() does not pretend
        # the work succeeded.
        q.task_done()
