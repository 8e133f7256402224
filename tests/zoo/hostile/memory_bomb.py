"""Hostile: a correct queue, until join() eats memory without end.

It earns the points of every test that does not join; join() then exhausts the
child's memory limit, and the tests from there on fail with a reason.
"""

import queue

Full, Empty = queue.Full, queue.Empty


class Queue(queue.Queue):
    def join(self):
        hoard = []
        while True:
            hoard.append(bytearray(64 << 20))
