"""A pytest plugin for the zoo's kit runs: stop the run once a test has failed naming
the property the zoo module declares (`PRODCON_STOP_ON`).

The zoo's tests ask one thing of a broken module's run: that it fails for its
`CAUGHT_BY`. Once one test has, the rest of the suite only costs time (a broken
module's run went on for about 5 s of CPU on 3.10, 62 of them in each CI environment).
The kill matrix (benchmarks/kill_matrix.py) still runs every test on every module.
"""

from __future__ import annotations

import os

import pytest

from prodcon.session.state import RUN


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    wanted = os.environ.get("PRODCON_STOP_ON")
    run = item.config.stash.get(RUN, None)
    if wanted and run is not None and run.violated.get(wanted):
        item.session.shouldfail = f"the run failed for {wanted}, as the zoo module declares"
