"""The pytest11 entry point: options, and nothing else unless --prodcon-impl is given.

pytest loads this module in every session of everyone who has prodcon installed,
so it imports nothing heavy and registers its hooks and fixtures (`prodcon.session.run`)
only when a run asks for the kit.

Where a setting comes from, lowest first: the ini file (`prodcon_*`), then the
command line (`--prodcon-*`). Under pytest-xdist the controller draws the seed and
hands it to the workers, so every process replays the same run.
"""

from __future__ import annotations

import pytest

from prodcon.session.options import setting
from prodcon.settings import MODELS, PROFILES

_OPTIONS = [
    # (option, ini, type, help)
    ("--prodcon-impl", "prodcon_impl", str,
     "run the prodcon conformance suite against NAME: a dotted module importable from the "
     "current directory, a path to a .py file, or a path to a package's folder"),
    ("--prodcon-seed", "prodcon_seed", int,
     "seed every random choice of the run (default: a fresh one, printed in the header)"),
    ("--prodcon-timeout-factor", "prodcon_timeout_factor", float,
     "multiply every bound the kit waits for by this factor (slow machines: 2 or more)"),
    ("--prodcon-profile", "prodcon_profile", str,
     "quick (default, a CI gate) or thorough (more scenarios, threads and items)"),
    ("--prodcon-html", "prodcon_html", str,
     "write an HTML timeline of each failing scenario's history into DIR"),
    ("--prodcon-json", "prodcon_json", str,
     "write each test's outcome and violated properties to FILE, one JSON object a line"),
    ("--prodcon-explore", "prodcon_explore", int,
     "run each controlled scenario under N schedules chosen by the seed (default: the "
     "profile's, 150 quick, 1500 thorough; 0 skips them)"),
    ("--prodcon-model", "prodcon_model", str,
     "threads or asyncio: the concurrency model the implementation is judged for (default: "
     "detected, asyncio when its Queue.get or consumer is a coroutine function)"),
    ("--prodcon-free-threaded", "prodcon_free_threaded", str,
     "run the stress scenarios a second time under the free-threaded Python at PATH "
     "(with the GIL disabled) and report what fails only there"),
]

_STRICT_HELP = ("also require every recorded history to be linearizable: one atomic FIFO "
                "queue explains all of it (by default each Full/Empty answer is judged on "
                "its own call); failures are reported as strict-linearizability")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prodcon", "prodcon: producer-consumer conformance suite")
    for option, ini, kind, text in _OPTIONS:
        extra = ({"choices": tuple(PROFILES)} if option == "--prodcon-profile" else
                 {"choices": MODELS} if option == "--prodcon-model" else {})
        group.addoption(option, dest=ini, type=kind, default=None, help=text, **extra)
        parser.addini(ini, text, type="string", default=None)
    group.addoption("--prodcon-strict", dest="prodcon_strict", action="store_true",
                    default=None, help=_STRICT_HELP)
    parser.addini("prodcon_strict", _STRICT_HELP, type="bool", default=False)
    group.addoption("--prodcon-isolate", dest="prodcon_isolate", action="store_true",
                    help="import the implementation in a separate, resource-limited process "
                    "and test it through proxies: its code never runs beside the kit's "
                    "(for untrusted code, e.g. grading)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "prodcon_role(role): the contract role a conformance test checks "
        "(queue, workers, async-queue or async-workers); deselected when that role comes "
        "from reference or is written for the other concurrency model")
    config.addinivalue_line(
        "markers", "prodcon_stress: a concurrent scenario; --prodcon-free-threaded runs it "
        "a second time without the GIL")
    if setting(config, "prodcon_impl") is None:
        return
    from prodcon.session import run  # heavy imports only now that the kit is asked for

    run.activate(config)
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "prodcon-xdist")


class _XdistHooks:
    """The controller's seed travels to every worker, as pytest-randomly does it."""

    def pytest_configure_node(self, node) -> None:
        from prodcon.session.state import RUN  # the session's modules load only when asked for

        node.workerinput["prodcon_seed"] = node.config.stash[RUN].settings.seed
