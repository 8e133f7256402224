"""The `prodcon` command, the kit's second door: `contract` (what the kit expects),
`check-history` (a recorded history checked without pytest), `grade` (a class's
submissions) and `bench` (throughput and latency).

Each subcommand's room is imported only when that subcommand runs (no cycle is
dodged: nothing imports this module), so `prodcon contract` answers at once.
"""

from __future__ import annotations

import argparse
import sys
import time

from prodcon import __version__
from prodcon.settings import MODELS, PROFILES
from prodcon.verdict import PROPERTIES

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
  asyncio:      a Queue whose get is a coroutine function is judged as asyncio.Queue
                (put, get, join awaited; QueueFull / QueueEmpty from the module or
                from asyncio); --prodcon-model=threads|asyncio overrides the detection.

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
    check = sub.add_parser(
        "check-history", help="is a JSON Lines history linearizable for a FIFO queue?",
        description="Checks linearizability: one atomic FIFO queue, taking the calls one at "
        "a time, explains the whole history (stricter than the per-call verdict of the "
        "pytest suite). Exit 0: linearizable; 1: not (with the calls that prove it); "
        "2: malformed file or bad usage; 3: unknown (the exact search hit its time limit).")
    check.add_argument("file", help="JSON Lines history, one call per line ('-' for stdin)")
    check.add_argument("--maxsize", type=int, default=0,
                       help="the queue's capacity (default 0: unbounded)")
    check.add_argument("--html", metavar="FILE", help="also draw the history as an HTML timeline")
    check.add_argument("--time-limit", type=float, default=60.0, metavar="SECONDS",
                       help="bound on the exact search used for repeated values or calls "
                       "that never returned (default 60)")
    bench = sub.add_parser(
        "bench", help="time NAME's Queue next to queue.Queue (or asyncio.Queue)",
        description="Throughput and put-to-get latency of NAME's Queue in 9 cases (1P/1C, "
        "4P/4C, 8P/2C; maxsize 1, 64, unbounded), as ratios to queue.Queue (for an asyncio "
        "queue: asyncio.Queue, producers and consumers as tasks) measured in the same run. "
        "Exit 0: the bench completed (whatever the ratios); 2: bad usage or NAME.")
    bench.add_argument("name", metavar="NAME",
                       help="a module importable from here, or a .py file ('reference' works)")
    bench.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    bench.add_argument("--plot", metavar="FILE.png",
                       help="also draw the ratios as a bar chart (needs prodcon[plot])")
    bench.add_argument("--rounds", type=int, metavar="N",
                       help="rounds per case, medians reported (default 5; 2 with --quick)")
    bench.add_argument("--quick", action="store_true",
                       help="few items and 2 rounds: a smoke test, not a measurement")
    bench.add_argument("--model", choices=MODELS,
                       help="threads or asyncio (default: detected from NAME, as the suite "
                       "does; `reference --model asyncio` is the bundled async queue)")
    grade = sub.add_parser(
        "grade", help="grade a class of submissions, each isolated, into OUTDIR",
        description="Run the conformance suite on each submission in a sandboxed process "
        "under a time limit, score it with a rubric, and write grades.csv, grades.json, "
        "summary.html and one feedback file per student. Exit 0: all graded; 2: bad usage; "
        "3: the reference fails here or the grading broke.")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                       help="a .py file, a folder holding the module, or a folder of these")
    grade.add_argument("-o", "--outdir", required=True, help="where the grades go")
    grade.add_argument("--rubric", metavar="FILE.toml",
                       help="points per property (default: the kit's, 100 points)")
    grade.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                       help="grade N submissions at a time (pytest-xdist)")
    grade.add_argument("--module", metavar="NAME",
                       help="in folder submissions, the module or package to test (default: the "
                       "only .py, or else the only package folder)")
    grade.add_argument("--time-limit", type=float, default=300.0, metavar="SECONDS",
                       help="wall-clock limit per submission (default 300)")
    grade.add_argument("--seed", type=int, help="the seed every submission runs with "
                       "(default: a fresh one, printed)")
    grade.add_argument("--profile", choices=tuple(PROFILES), default="quick")
    grade.add_argument("--timeout-factor", type=float, default=1.0, metavar="F",
                       help="the kit's bounds times F, for a slow grading machine")
    grade.add_argument("--model", choices=MODELS,
                       help="the model the class's code is written for (default: threads); "
                       "asyncio grades async queues with the async suite and rubric")
    grade.add_argument("--gradescope", action="store_true",
                       help="also write Gradescope's results.json")
    grade.epilog = ("Arguments after -- go to the grading session's pytest, e.g. "
                    "`-- --tx ssh=host//python=python3 --dist load`.")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:len(argv) - len(extra) - (1 if extra or "--" in argv else 0)])
    args.pytest_args = extra
    if args.command in (None, "contract"):
        sys.stdout.write(contract_text())
        return 0
    if args.command == "check-history":
        return check_history(args.file, args.maxsize, args.html, args.time_limit)
    if args.command == "grade":
        from prodcon.grading import command as grading

        return grading.command(args)
    if args.command == "bench":
        from prodcon.bench import measure as bench_module

        return bench_module.command(args.name, args.json, args.plot, args.rounds, args.quick,
                                    model=args.model)
    return 2  # pragma: no cover - argparse rejects unknown commands first


def check_history(path: str, maxsize: int, html: str | None, time_limit: float) -> int:
    from prodcon.history import fileformat, linearizability

    started = time.perf_counter()
    try:
        ops = fileformat.read(sys.stdin) if path == "-" else fileformat.load(path)
    except fileformat.FormatError as exc:
        print(f"prodcon check-history: {path}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"prodcon check-history: {exc}", file=sys.stderr)
        return 2
    verdict = linearizability.check(ops, maxsize, time_limit)
    took = time.perf_counter() - started
    threads = len({op.thread for op in ops})
    size = f"capacity {maxsize}" if maxsize > 0 else "unbounded"
    head = f"{len(ops)} calls, {threads} threads, FIFO queue {size}"
    print("checked: linearizability (one atomic FIFO queue, taking the calls one at a time, "
          "explains the whole history)")
    if verdict.linearizable:
        print(f"linearizable: {head} (checked by {verdict.method} in {took:.2f} s)")
        code = 0
    elif verdict.linearizable is None:
        print(f"unknown: {head}: {verdict.message}")
        code = 3
    else:
        by_index = {op.index: op for op in ops}
        print(f"NOT linearizable ({verdict.rule}): {head}")
        print(f"  {verdict.message}")
        print("  the calls that prove it:")
        for index in verdict.culprits:
            op = by_index[index]
            print(f"    line {op.line}: {op.thread}: {op.text()} [{op.start} .. {op.end}]")
        code = 1
    if html:
        from prodcon.history import timeline

        timeline.write(html, ops, title=f"{path}: {head}", explanation=verdict.message,
                       highlight=verdict.culprits, unit="")
        print(f"timeline: {html}")
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
