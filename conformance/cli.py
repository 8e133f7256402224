"""The `prodcon` command. For now it tells what the kit is and what it expects;
later subcommands (grade, check-history, bench) hang off the same parser.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .verdict import PROPERTIES

CONTRACT = """\
prodcon {version}: a conformance kit for producer-consumer code.

Run it:  pytest --prodcon-impl=NAME   (NAME: a module importable from here, or a .py file)

The contract (a module provides one or both roles; reference fills in the rest):
  Queue role:   class Queue(maxsize=0) with put(item, block=True, timeout=None),
                get(block=True, timeout=None), put_nowait, get_nowait, task_done,
                join, qsize, empty, full -- queue.Queue's semantics; Full / Empty
                from the module or from queue; optional shutdown(immediate=False).
  Worker role:  producer(q, items) puts every item in order, no sentinel;
                consumer(q, handle) takes items, returns on SENTINEL (default None,
                compared with `is`), else handle(item) then q.task_done().

Properties checked:
{properties}
"""


def contract_text() -> str:
    width = max(map(len, PROPERTIES))
    props = "\n".join(f"  {name:<{width}}  {text}" for name, text in PROPERTIES.items())
    return CONTRACT.format(version=__version__, properties=props)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prodcon", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"prodcon {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("contract", help="print the implementation contract and the properties")
    args = parser.parse_args(argv)
    if args.command in (None, "contract"):
        sys.stdout.write(contract_text())
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
