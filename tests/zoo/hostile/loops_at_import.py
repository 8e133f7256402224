"""Hostile: never finishes importing. The sandbox cuts the import at its bound.

The loop sleeps: the wall-clock bound is what cuts it, the same for a busy loop, and
a busy one would burn 30 s of CPU in every grading of the test class (the project's
CI grades it twice) for nothing the bound does not already show.
"""

import time

while True:
    time.sleep(1)
