"""`prodcon bench NAME`: how fast is NAME's Queue next to the standard library's?

Correctness is the suite's job; this answers the next question a student asks ("is mine
slower than the standard one?") in a way that survives a noisy machine:

- every figure is a ratio to the standard queue of the same model (`queue.Queue` for a
  thread queue, `asyncio.Queue` for an asyncio one) measured in the *same run*, never an
  absolute number compared with another day's;
- the implementations take turns round by round (and the turn order rotates), so a burst
  of background load hits them all alike instead of one of them;
- each case is repeated and the median of the rounds is reported, so one disturbed round
  does not move the answer.

The measuring (`measure`, `run_round`) is kept apart from the reporting (`format_report`,
`to_json`, `plot`), which are pure functions of a `Report` and tested on made-up numbers.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import queue
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from prodcon import __version__, contract

from .async_round import run_async_round
from .figures import Case, Figures, Round, Trouble, percentile, ratio, split
from .thread_round import run_round

__all__ = ["Case", "Figures", "Round", "Trouble", "percentile", "ratio", "split", "run_round",
           "run_async_round"]

#: A round still running after this long is a queue that lost a wake-up (or never
#: wakes anyone), not a slow one: the slowest correct case takes well under a second.
STUCK_BOUND = 60.0

#: The figures every ratio is taken against: the standard library's queue of the model.
BASELINE = "queue.Queue"
SIMPLE = "queue.SimpleQueue"
ASYNC_BASELINE = "asyncio.Queue"

SHAPES = ((1, 1), (4, 4), (8, 2))  # (producers, consumers)
MAXSIZES = (1, 64, 0)  # 0: unbounded

#: Items per round. maxsize=1 costs a thread hand-off per item (some tens of thousands
#: a second), the others a few hundred thousand a second; these make a default run
#: (5 rounds) take about a minute and a half on 2 cores.
ITEMS = {1: 30_000, 64: 400_000, 0: 400_000}
QUICK_ITEMS = {1: 300, 64: 3_000, 0: 3_000}
#: For asyncio a hand-off is a task switch on one thread (a few microseconds), and no
#: other thread competes for the core: more items for the same time.
ASYNC_ITEMS = {1: 100_000, 64: 400_000, 0: 400_000}
ROUNDS = 5
QUICK_ROUNDS = 2


def default_cases(quick: bool = False, model: str = "threads") -> list[Case]:
    """The nine cases, item counts sized for a full run or a quick (test) run."""
    counts = QUICK_ITEMS if quick else ASYNC_ITEMS if model == "asyncio" else ITEMS
    cases = []
    for producers, consumers in SHAPES:
        for maxsize in MAXSIZES:
            items = counts[maxsize]
            cases.append(Case(producers, consumers, maxsize, items))
    return cases


@dataclass(frozen=True)
class Contender:
    """A queue class under measurement; `make(maxsize)` builds a fresh, empty one."""

    name: str
    make: Callable[[int], Any]
    unbounded_only: bool = False  # SimpleQueue has no maxsize

    def takes_part_in(self, case: Case) -> bool:
        return case.maxsize <= 0 or not self.unbounded_only


def contenders(name: str, queue_class: Any, model: str = "threads") -> list[Contender]:
    """NAME first, then the standard queues it is compared with: queue.Queue and
    queue.SimpleQueue for a thread queue, asyncio.Queue for an asyncio one."""
    if model == "asyncio":
        return [Contender(name, queue_class), Contender(ASYNC_BASELINE, asyncio.Queue)]
    return [
        Contender(name, queue_class),
        Contender(BASELINE, queue.Queue),
        Contender(SIMPLE, lambda maxsize: queue.SimpleQueue(), unbounded_only=True),
    ]


# --- measuring -------------------------------------------------------------------------


class Progress:
    """'[17/105] 4P/4C maxsize=1: reference round 3/5' on stderr.

    One line rewritten in place on a terminal; in a log (CI, a pipe) one plain line
    per case, so the log shows where a long or stuck run is without thousands of lines.
    """

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self.done = 0
        self.width = 0

    def step(self, case: Case, name: str, round_no: int, rounds: int, first: bool) -> None:
        self.done += 1
        line = f"[{self.done}/{self.total}] {case.label}: {name} round {round_no}/{rounds}"
        if self.tty:
            self.stream.write("\r" + line.ljust(self.width))
            self.width = len(line)
        elif first:
            self.stream.write(line + "\n")
        self.stream.flush()

    def skip(self, count: int) -> None:
        self.done += count

    def close(self) -> None:
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def measure(players: list[Contender], cases: list[Case], rounds: int, bound: float,
            progress: Progress | None = None,
            run: Callable[[Callable[[int], Any], Case, float], Round | Trouble] = run_round,
            ) -> dict[tuple[str, str], Figures]:
    """Every case, `rounds` times, the contenders interleaved within each round.

    Round r runs the contenders rotated by r (NAME, Queue, SimpleQueue; then Queue,
    SimpleQueue, NAME; ...) so neither noise nor position favours one. A contender that
    gets stuck or fails in a case is not run again in that case: its threads may still
    be blocked, and more rounds would only wait out the bound again.
    """
    figures = {(case.label, p.name): Figures() for case in cases for p in players
               if p.takes_part_in(case)}
    for case in cases:
        present = [p for p in players if p.takes_part_in(case)]
        for round_index in range(rounds):
            shift = round_index % len(present)
            for player in present[shift:] + present[:shift]:
                entry = figures[(case.label, player.name)]
                if entry.trouble is not None:
                    if progress:
                        progress.skip(1)
                    continue
                if progress:
                    progress.step(case, player.name, round_index + 1, rounds,
                                  first=round_index == 0 and player is present[0])
                gc.collect()  # garbage from the last round is not this round's cost
                outcome = run(player.make, case, bound)
                if isinstance(outcome, Trouble):
                    entry.trouble = outcome
                else:
                    entry.rounds.append(outcome)
    return figures


def rounds_total(players: list[Contender], cases: list[Case], rounds: int) -> int:
    return rounds * sum(p.takes_part_in(c) for c in cases for p in players)


def machine_info() -> dict[str, Any]:
    """What a reader needs to judge the figures: which Python, which GIL, how many cores."""
    gil_check = getattr(sys, "_is_gil_enabled", None)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        usable = os.cpu_count()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        # Before 3.13 there is no free-threaded build: the GIL is always on.
        "gil": bool(gil_check()) if gil_check else True,
        "cores": usable,
        "platform": platform.platform(),
    }


# --- reporting: pure -------------------------------------------------------------------


@dataclass
class Report:
    """One finished bench: who, where, and the figures per (case label, contender name)."""

    name: str
    file: str | None
    machine: dict[str, Any]
    date: str
    rounds: int
    seconds: float
    cases: list[Case]
    contenders: list[str]  # NAME first
    figures: dict[tuple[str, str], Figures]
    baseline: str = BASELINE  # the contender every ratio is taken against

    @property
    def model(self) -> str:
        return "asyncio" if self.baseline == ASYNC_BASELINE else "threads"

    def rows(self) -> list[tuple[Case, str, Figures]]:
        return [(case, name, self.figures[(case.label, name)])
                for case in self.cases for name in self.contenders
                if (case.label, name) in self.figures]

    def ratios(self, case: Case, name: str) -> dict[str, float | None]:
        """Each median as a ratio to the baseline's in the same case."""
        mine = self.figures[(case.label, name)]
        base = self.figures.get((case.label, self.baseline), Figures())
        return {
            "throughput": ratio(mine.throughput, base.throughput),
            "p50": ratio(mine.p50_ns, base.p50_ns),
            "p99": ratio(mine.p99_ns, base.p99_ns),
        }


def _number(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(report: Report) -> str:
    """`case | impl | items/s | ratio | p50 µs | ratio | p99 µs | ratio`, aligned."""
    head = ("case", "impl", "items/s", "ratio", "p50 µs", "ratio", "p99 µs", "ratio")
    body = []
    for case, name, fig in report.rows():
        r = report.ratios(case, name)
        if fig.trouble is not None:
            body.append((case.label, name, fig.trouble.status, "-", "-", "-", "-", "-"))
            continue
        body.append((
            case.label, name,
            _number(fig.throughput, ",.0f"), _number(r["throughput"], ".2f"),
            _number(_micro(fig.p50_ns), ",.1f"), _number(r["p50"], ".2f"),
            _number(_micro(fig.p99_ns), ",.1f"), _number(r["p99"], ".2f"),
        ))
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        # text columns left-aligned, numbers right-aligned
        out = [cell.ljust(w) if i < 2 else cell.rjust(w)
               for i, (cell, w) in enumerate(zip(cells, widths, strict=True))]
        return " | ".join(out).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(head), rule, *map(line, body)])


def _micro(ns: float | None) -> float | None:
    return None if ns is None else ns / 1000


def summary_line(report: Report) -> str:
    """The one-line answer: NAME's worst throughput ratio, and whether it never lost."""
    name = report.name
    found = [(report.ratios(case, name)["throughput"], case.label)
             for case in report.cases if (case.label, name) in report.figures]
    measured = [(r, label) for r, label in found if r is not None]
    missing = [label for r, label in found if r is None]
    if measured:
        worst, where = min(measured)
        text = f"min ratio {worst:.2f} ({where})"
        all_faster = not missing and worst >= 1.0
    else:
        text, all_faster = "min ratio - (no case completed)", False
    line = f"{name} throughput vs {report.baseline}: {text}, all cases >= 1.0: "
    line += "yes" if all_faster else "no"
    if missing:
        line += f" (no figures for {', '.join(missing)})"
    return line


def format_header(report: Report) -> str:
    m = report.machine
    gil = "on" if m["gil"] else "off"
    sizes = ", ".join(f"{label} {n:,}" for label, n in _item_counts(report.cases))
    return "\n".join([
        f"prodcon {__version__} bench: {report.name} ({report.file or 'no file'})",
        f"Python {m['python']} ({m['implementation']}), GIL {gil}, {m['cores']} cores, "
        f"{m['platform']}",
        f"{report.date}; {report.rounds} rounds per case, implementations interleaved, "
        f"medians shown; took {report.seconds:.0f} s",
        f"items per round: {sizes}",
        f"ratios are to {report.baseline} in the same case (items/s: > 1 is faster; latency: < 1 "
        "is better)",
    ])


def _item_counts(cases: list[Case]) -> list[tuple[str, int]]:
    """('maxsize=1', 15000), ... grouped by capacity, or per case when they differ."""
    by_size: dict[str, set[int]] = {}
    for case in cases:
        by_size.setdefault(case.label.split(" ", 1)[1], set()).add(case.items)
    if all(len(counts) == 1 for counts in by_size.values()):
        return [(size, counts.pop()) for size, counts in by_size.items()]
    return [(case.label, case.items) for case in cases]


def format_report(report: Report) -> str:
    """Everything stdout gets: header, table, why a row has no figures, summary."""
    notes = [f"{name} in {case.label}: {fig.trouble.status}: {fig.trouble.detail}"
             for case, name, fig in report.rows() if fig.trouble is not None]
    parts = [format_header(report), "", format_table(report), ""]
    if notes:
        parts += [*notes, ""]
    parts.append(summary_line(report))
    return "\n".join(parts) + "\n"


def to_json(report: Report) -> dict[str, Any]:
    """The same figures as the table, plus every round, for scripts and later comparison."""
    cases = []
    for case in report.cases:
        results = {}
        for name in report.contenders:
            fig = report.figures.get((case.label, name))
            if fig is None:
                continue
            results[name] = {
                "status": fig.trouble.status if fig.trouble else "ok",
                "detail": fig.trouble.detail if fig.trouble else None,
                "throughput": {"median": fig.throughput,
                               "rounds": [r.throughput for r in fig.rounds]},
                "p50_ns": {"median": fig.p50_ns, "rounds": [r.p50_ns for r in fig.rounds]},
                "p99_ns": {"median": fig.p99_ns, "rounds": [r.p99_ns for r in fig.rounds]},
                "ratio": report.ratios(case, name),
            }
        cases.append({"case": case.label, "producers": case.producers,
                      "consumers": case.consumers, "maxsize": case.maxsize,
                      "items": case.items, "results": results})
    return {
        "prodcon": __version__,
        "implementation": {"name": report.name, "file": report.file},
        "model": report.model,
        "baseline": report.baseline,
        "machine": report.machine,
        "date": report.date,
        "rounds": report.rounds,
        "seconds": report.seconds,
        "cases": cases,
        "summary": summary_line(report),
    }


def plot(report: Report, path: str) -> None:
    """Bars of throughput and p99 ratios per case; the line at 1 is the baseline.

    A log scale, because SimpleQueue (C) is often ten times queue.Queue while the
    interesting differences of NAME are a few percent either way.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    labels = [case.label for case in report.cases]
    others = [name for name in report.contenders if name != report.baseline]
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.1 * len(labels)), 8), sharex=True)
    width = 0.8 / max(len(others), 1)
    for ax, key, title in ((axes[0], "throughput", "throughput ratio (> 1: faster)"),
                           (axes[1], "p99", "p99 latency ratio (< 1: better)")):
        for k, name in enumerate(others):
            xs, heights = [], []
            for i, case in enumerate(report.cases):
                if (case.label, name) in report.figures:
                    value = report.ratios(case, name)[key]
                    if value is not None:
                        xs.append(i + (k - (len(others) - 1) / 2) * width)
                        heights.append(value)
            # Bars grow from 1 (the baseline), up when above it and down when below.
            ax.bar(xs, [h - 1 for h in heights], width, bottom=1, label=name)
        ax.axhline(1.0, color="black", linewidth=1, label=report.baseline)
        ax.set_yscale("log")
        plain = ticker.FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.set_ylabel(title)
        ax.legend(fontsize="small")
    axes[1].set_xticks(range(len(labels)))
    axes[1].set_xticklabels(labels, rotation=30, ha="right")
    m = report.machine
    axes[0].set_title(f"prodcon bench: {report.name} vs {report.baseline} "
                      f"(Python {m['python']}, {m['cores']} cores, {report.rounds} rounds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the command -----------------------------------------------------------------------


def command(name: str, json_path: str | None = None, plot_path: str | None = None,
            rounds: int | None = None, quick: bool = False, *,
            stuck_bound: float = STUCK_BOUND, cases: list[Case] | None = None,
            model: str | None = None) -> int:
    """`prodcon bench`: 0 once the bench completed (whatever the ratios), 2 on usage errors.

    Everything that can make the run useless (bad NAME, no Queue, no matplotlib, a
    folder that does not exist) is checked before a minute and a half of measuring.
    """
    def usage(message: str) -> int:
        print(f"prodcon bench: {message}", file=sys.stderr)
        return 2

    rounds = rounds if rounds is not None else (QUICK_ROUNDS if quick else ROUNDS)
    if rounds < 1:
        return usage(f"--rounds must be at least 1, got {rounds}")
    for option, path in (("--json", json_path), ("--plot", plot_path)):
        if path and not Path(path).resolve().parent.is_dir():
            return usage(f"{option} {path}: no such directory")
    if plot_path:
        try:
            import matplotlib  # noqa: F401 - only checking that it is there
        except ImportError:
            return usage("--plot needs matplotlib: pip install 'prodcon[plot]'")
    try:
        impl = contract.load(name, Path.cwd(), contract.IMPORT_BOUND, model)
    except contract.ContractError as exc:
        return usage(str(exc))
    if not impl.provides_queue:
        return usage(f"{name} provides no Queue class (only {impl.roles_line()}); the bench "
                     "measures the Queue role: define `Queue(maxsize=0)` in it")

    players = contenders(name, impl.Queue, impl.model)
    cases = cases if cases is not None else default_cases(quick, impl.model)
    run = run_async_round if impl.model == "asyncio" else run_round
    progress = Progress(rounds_total(players, cases, rounds), sys.stderr)
    started = time.monotonic()
    try:
        figures = measure(players, cases, rounds, stuck_bound, progress, run)
    finally:
        progress.close()
    report = Report(
        name=name, file=impl.file, machine=machine_info(),
        date=datetime.now().astimezone().isoformat(timespec="seconds"), rounds=rounds,
        seconds=time.monotonic() - started, cases=cases,
        contenders=[p.name for p in players], figures=figures, baseline=players[1].name,
    )
    sys.stdout.write(format_report(report))
    sys.stdout.flush()
    try:
        if json_path:
            Path(json_path).write_text(json.dumps(to_json(report), indent=2) + "\n",
                                       encoding="utf-8")
            print(f"prodcon bench: figures written to {json_path}", file=sys.stderr)
        if plot_path:
            plot(report, plot_path)
            print(f"prodcon bench: chart written to {plot_path}", file=sys.stderr)
    except OSError as exc:
        return usage(str(exc))
    if any(fig.trouble and fig.trouble.status == "stuck" for fig in figures.values()):
        print("prodcon bench: threads of a stuck queue are still blocked; figures measured "
              "after it may be disturbed", file=sys.stderr)
    return 0
