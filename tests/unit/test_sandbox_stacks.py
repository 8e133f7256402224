"""Reading the sandbox child's listing of its threads: is a kit thread's twin inside the
submission's code (a call that may really hang), or waiting for the kit?"""

from prodcon.isolation.parent import twin_busy
from prodcon.isolation.protocol import IDLE

STACKS = f"""\
prodcon-qsize:
    {IDLE}
prodcon-put:
    shop/queue.py:40 in put: self._not_full.wait()
prodcon-get:
    {IDLE}
prodcon-get:
    shop/queue.py:52 in get: self._not_empty.wait()"""


def test_a_twin_in_the_submissions_code_is_busy_and_one_waiting_for_the_kit_is_not():
    assert twin_busy(STACKS, "prodcon-put") is True
    assert twin_busy(STACKS, "prodcon-qsize") is False
    assert twin_busy(STACKS, "prodcon-get") is True  # two twins of one name: either counts
    assert twin_busy(STACKS, "prodcon-full") is False  # not there: no call is running


def test_no_listing_says_nothing():
    assert twin_busy("unavailable: the submission's process did not answer within 2 s",
                     "prodcon-put") is None
