"""Hostile: a LIFO queue that tries to grade itself, at import time.

It patches pytest's reports, the kit's plugin, sys.exit and os._exit, prints a
fake result, and appends "passed" records to the run's --prodcon-json file, which
it finds on its parent's command line. All of it happens in the sandbox's child:
the process that writes the records never ran this code.

Like every zoo module it stands alone (a submission is one file): its walk up the
ancestors' command lines is written out again here on purpose.
"""

import json
import os
import queue
import sys

try:
    import _pytest.reports
    import pytest

    _pytest.reports.TestReport.passed = property(lambda self: True)
    _pytest.reports.TestReport.outcome = "passed"
    pytest.fail = lambda *args, **kwargs: None
except Exception:  # noqa: BLE001
    pass
try:
    import prodcon.session.run

    prodcon.session.run.Tally._note_outcome = lambda self, report: None
    prodcon.session.run.explain = lambda *args, **kwargs: "passed"
except Exception:  # noqa: BLE001
    pass
sys.exit = os._exit = lambda *args: None
print("63 passed in 1.00s")
print("===== 63 passed =====", file=sys.stderr)


def _forge():
    pid = os.getppid()
    while pid > 1:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                args = cmdline.read().decode().split("\0")
            for arg in args:
                if arg.startswith("--prodcon-json="):
                    with open(arg.split("=", 1)[1], "a") as records:
                        for name in ("test_fifo_one_producer", "test_sequential_model"):
                            records.write(json.dumps({"test": name, "outcome": "passed",
                                                      "properties": []}) + "\n")
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            return


_forge()


Full, Empty = queue.Full, queue.Empty


class Queue(queue.Queue):
    """LIFO: pops the newest item, everything else as queue.Queue."""

    def _get(self):
        return self.queue.pop()
