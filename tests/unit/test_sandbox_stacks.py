"""Reading the sandbox child's listing of its threads: is a kit thread's twin inside the
submission's code (a call that may really hang), or waiting for the kit?"""

from prodcon.isolation.parent import twin_busy
from prodcon.isolation.protocol import CALLING_BACK, IDLE

STACKS = f"""\
prodcon-qsize:
    {IDLE}
prodcon-put:
    shop/queue.py:40 in put: self._not_full.wait()
prodcon-get:
    {IDLE}
prodcon-get:
    shop/queue.py:52 in get: self._not_empty.wait()
prodcon-loop:
    asyncio/events.py:89 in _run: self._context.run(self._callback, *self._args)
    shop/workers.py:11 in producer: await q.put(item)
    {CALLING_BACK}
prodcon-handle:
    shop/workers.py:21 in consumer: handle(item)
    {CALLING_BACK}
prodcon-work:
    shop/workers.py:30 in work: time.sleep(1)"""


def test_a_twin_in_the_submissions_code_is_busy_and_one_waiting_for_the_kit_is_not():
    assert twin_busy(STACKS, "prodcon-put") is True
    assert twin_busy(STACKS, "prodcon-qsize") is False
    assert twin_busy(STACKS, "prodcon-get") is True  # two twins of one name: either counts
    assert twin_busy(STACKS, "prodcon-full") is False  # not there: no call is running
    # An async worker of the submission's calling the kit's queue back waits for the kit.
    assert twin_busy(STACKS, "prodcon-loop") is False
    assert twin_busy(STACKS, "prodcon-handle") is False  # the next thread's lines are not its


def test_no_listing_says_nothing():
    assert twin_busy("unavailable: the submission's process did not answer within 2 s",
                     "prodcon-put") is None
