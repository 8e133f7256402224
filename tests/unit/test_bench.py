"""`prodcon bench`: the statistics and the report on made-up numbers, then short real runs."""

import io
import json
import sys
import time

import pytest

from prodcon.bench import measure as bench
from prodcon.cli import main

NAME = "mine"
CASE_1 = bench.Case(1, 1, 1, 100)
CASE_0 = bench.Case(4, 4, 0, 100)


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A folder for implementation files; the modules loaded from it are forgotten after."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("_prodcon_impl_")]:
        del sys.modules[name]


def rounds(*triples):
    return [bench.Round(t, p50, p99) for t, p50, p99 in triples]


def made_up_report(trouble=None):
    """NAME twice as fast as queue.Queue at maxsize=1, stuck (or given trouble) unbounded."""
    figures = {
        (CASE_1.label, NAME): bench.Figures(rounds((200, 10_000, 50_000), (180, 9_000, 40_000),
                                                   (220, 11_000, 60_000))),
        (CASE_1.label, bench.BASELINE): bench.Figures(rounds((100, 20_000, 100_000))),
        (CASE_0.label, NAME): bench.Figures(trouble=trouble),
        (CASE_0.label, bench.BASELINE): bench.Figures(rounds((1000, 1000, 2000))),
        (CASE_0.label, bench.SIMPLE): bench.Figures(rounds((5000, 500, 1000))),
    }
    if trouble is None:
        figures[(CASE_0.label, NAME)] = bench.Figures(rounds((900, 1500, 1000)))
    return bench.Report(
        name=NAME, file="/x/mine.py",
        machine={"python": "3.13.0", "implementation": "CPython", "gil": False, "cores": 2,
                 "platform": "Linux"},
        date="2026-01-01T00:00:00+00:00", rounds=3, seconds=12.3, cases=[CASE_1, CASE_0],
        contenders=[NAME, bench.BASELINE, bench.SIMPLE], figures=figures)


def rows_of(table):
    return [[cell.strip() for cell in line.split("|")] for line in table.splitlines()[2:]]


# --- pure parts --------------------------------------------------------------------------


def test_percentile_interpolates_between_ranks():
    values = [1, 2, 3, 4, 5]
    assert bench.percentile(values, 50) == 3
    assert bench.percentile(values, 0) == 1 and bench.percentile(values, 100) == 5
    assert bench.percentile(values, 25) == 2
    assert bench.percentile([10, 20], 50) == 15
    assert bench.percentile([0, 100], 99) == pytest.approx(99)
    assert bench.percentile([7], 99) == 7
    with pytest.raises(ValueError):
        bench.percentile([], 50)
    with pytest.raises(ValueError):
        bench.percentile([1], 101)


def test_ratio_and_split():
    assert bench.ratio(2.0, 4.0) == 0.5
    assert bench.ratio(None, 4.0) is None and bench.ratio(2.0, None) is None
    assert bench.ratio(2.0, 0) is None
    assert bench.split(10, 3) == [4, 3, 3]
    assert bench.split(2, 4) == [1, 1, 0, 0]


def test_figures_are_medians_over_rounds():
    fig = bench.Figures(rounds((3, 30, 300), (1, 10, 100), (2, 20, 900)))
    assert (fig.throughput, fig.p50_ns, fig.p99_ns) == (2, 20, 300)
    assert bench.Figures(rounds((1, 1, 1), (3, 3, 3))).throughput == 2
    stuck = bench.Figures(rounds((1, 1, 1)), trouble=bench.Trouble("stuck", "x"))
    assert not stuck.ok and stuck.throughput is None
    assert bench.Figures().p99_ns is None


def test_default_cases_are_the_nine():
    cases = bench.default_cases()
    assert [c.label for c in cases] == [
        f"{p}P/{c}C {size}" for p, c in bench.SHAPES
        for size in ("maxsize=1", "maxsize=64", "unbounded")]
    assert all(quick.items < full.items
               for quick, full in zip(bench.default_cases(quick=True), cases, strict=True))


def test_table_ratios_and_summary():
    report = made_up_report()
    rows = rows_of(bench.format_table(report))
    assert rows[0] == ["1P/1C maxsize=1", NAME, "200", "2.00", "10.0", "0.50", "50.0", "0.50"]
    assert rows[1] == ["1P/1C maxsize=1", "queue.Queue", "100", "1.00", "20.0", "1.00",
                       "100.0", "1.00"]
    assert rows[2][:4] == ["4P/4C unbounded", NAME, "900", "0.90"]
    assert rows[4] == ["4P/4C unbounded", "queue.SimpleQueue", "5,000", "5.00", "0.5", "0.50",
                       "1.0", "0.50"]
    assert bench.summary_line(report) == (
        "mine throughput vs queue.Queue: min ratio 0.90 (4P/4C unbounded), "
        "all cases >= 1.0: no")
    report.figures[(CASE_0.label, NAME)] = bench.Figures(rounds((1000, 1, 1)))
    assert bench.summary_line(report).endswith("min ratio 1.00 (4P/4C unbounded), "
                                               "all cases >= 1.0: yes")


def test_a_stuck_case_is_a_row_a_note_and_never_yes():
    report = made_up_report(bench.Trouble("stuck", "a round did not finish within 60 s"))
    rows = rows_of(bench.format_table(report))
    assert rows[2] == ["4P/4C unbounded", NAME, "stuck", "-", "-", "-", "-", "-"]
    text = bench.format_report(report)
    assert "mine in 4P/4C unbounded: stuck: a round did not finish within 60 s" in text
    assert text.rstrip().endswith(
        "min ratio 2.00 (1P/1C maxsize=1), all cases >= 1.0: no "
        "(no figures for 4P/4C unbounded)")
    assert "GIL off, 2 cores" in text and "mine (/x/mine.py)" in text
    everything_stuck = made_up_report(bench.Trouble("failed", "get raised"))
    del everything_stuck.figures[(CASE_1.label, NAME)]
    assert "min ratio - (no case completed), all cases >= 1.0: no" in (
        bench.summary_line(everything_stuck))


def test_json_has_every_round_and_the_ratios():
    data = json.loads(json.dumps(bench.to_json(made_up_report())))
    assert data["implementation"] == {"name": NAME, "file": "/x/mine.py"}
    assert data["machine"]["cores"] == 2 and data["rounds"] == 3
    first = data["cases"][0]
    assert (first["case"], first["maxsize"], first["items"]) == ("1P/1C maxsize=1", 1, 100)
    mine = first["results"][NAME]
    assert mine["throughput"] == {"median": 200, "rounds": [200, 180, 220]}
    assert mine["p99_ns"]["median"] == 50_000
    assert mine["ratio"] == {"throughput": 2.0, "p50": 0.5, "p99": 0.5}
    assert first["results"]["queue.Queue"]["ratio"] == {"throughput": 1.0, "p50": 1.0, "p99": 1.0}
    assert "queue.SimpleQueue" not in first["results"]
    stuck = bench.to_json(made_up_report(bench.Trouble("stuck", "why")))
    assert stuck["cases"][1]["results"][NAME]["status"] == "stuck"
    assert stuck["cases"][1]["results"][NAME]["throughput"]["median"] is None


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_rewrites_one_line_on_a_terminal_and_logs_cases_elsewhere():
    log, tty = io.StringIO(), Terminal()
    for stream in (log, tty):
        progress = bench.Progress(4, stream)
        progress.step(CASE_1, NAME, 1, 2, first=True)
        progress.step(CASE_1, "queue.Queue", 1, 2, first=False)
        progress.skip(1)
        progress.step(CASE_0, NAME, 2, 2, first=False)
        progress.close()
    assert log.getvalue() == "[1/4] 1P/1C maxsize=1: mine round 1/2\n"
    assert "\r[4/4] 4P/4C unbounded: mine round 2/2" in tty.getvalue()
    assert "\n" not in tty.getvalue() and tty.getvalue().endswith("\r")


def test_plot_draws_a_png(tmp_path):
    # matplotlib is the optional `plot` extra, not a test dependency (it would double the
    # install time of every tox environment): this test runs where it is installed.
    pytest.importorskip("matplotlib")
    path = tmp_path / "ratios.png"
    bench.plot(made_up_report(bench.Trouble("stuck", "why")), str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- real runs ---------------------------------------------------------------------------


def test_quick_bench_of_the_reference(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["bench", "reference", "--quick", "--json", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "reference round 1/2" in err and "round 1/2" not in out  # progress: stderr only
    assert out.startswith("prodcon ") and "bench: reference (" in out
    table = [row for row in rows_of(out.split("\n\n")[1])]
    seen = {(row[0], row[1]) for row in table}
    for case in bench.default_cases(quick=True):
        names = {"reference", "queue.Queue"}
        if case.maxsize == 0:
            names.add("queue.SimpleQueue")
        assert {name for label, name in seen if label == case.label} == names
    for row in table:
        assert row[2].replace(",", "").isdigit(), row
        if row[1] == "queue.Queue":
            assert row[3] == row[5] == row[7] == "1.00"
    assert "reference throughput vs queue.Queue: min ratio " in out.splitlines()[-1]
    data = json.loads(path.read_text())
    assert data["rounds"] == 2 and len(data["cases"]) == 9
    for case in data["cases"]:
        assert case["results"]["queue.Queue"]["ratio"] == {"throughput": 1.0, "p50": 1.0,
                                                           "p99": 1.0}
        assert ("queue.SimpleQueue" in case["results"]) == (case["maxsize"] == 0)
        for result in case["results"].values():
            assert result["status"] == "ok" and len(result["throughput"]["rounds"]) == 2


def test_worker_role_only_is_a_usage_error(here, capsys):
    (here / "workers_only.py").write_text(
        "def producer(q, items):\n    for item in items:\n        q.put(item)\n"
        "def consumer(q, handle):\n    pass\n")
    assert main(["bench", "workers_only.py"]) == 2
    err = capsys.readouterr().err
    assert "workers_only.py provides no Queue class" in err
    assert "producer, consumer from workers_only.py" in err


@pytest.mark.parametrize("argv, message", [
    (["bench", "no_such_file.py"], "no such file"),
    (["bench", "reference", "--rounds", "0"], "--rounds must be at least 1"),
    (["bench", "reference", "--json", "/no/such/dir/x.json"], "no such directory"),
])
def test_usage_errors(here, capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_plot_without_matplotlib_says_what_to_install(here, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    assert main(["bench", "reference", "--plot", "x.png"]) == 2
    assert "pip install 'prodcon[plot]'" in capsys.readouterr().err


#: Every get() blocks "forever" as far as the bench is concerned; the wait does end (and
#: raise, which the bench swallows) so the threads are gone before this test run is.
DEADLOCK = """
import threading

class Queue:
    def __init__(self, maxsize=0):
        pass

    def put(self, item, block=True, timeout=None):
        pass

    def get(self, block=True, timeout=None):
        threading.Event().wait(10)
        raise RuntimeError("the test's deadlock ends")
"""


def test_a_deadlocked_queue_is_reported_stuck_and_the_bench_goes_on(here, capsys):
    (here / "deadlock.py").write_text(DEADLOCK)
    cases = [bench.Case(1, 1, 0, 50), bench.Case(2, 2, 64, 50)]
    started = time.monotonic()
    assert bench.command("deadlock.py", rounds=3, stuck_bound=1.0, cases=cases) == 0
    assert time.monotonic() - started < 8  # one bound per case, not one per round
    out, err = capsys.readouterr()
    rows = rows_of(out.split("\n\n")[1])
    assert [row[:3] for row in rows if row[1] == "deadlock.py"] == [
        ["1P/1C unbounded", "deadlock.py", "stuck"], ["2P/2C maxsize=64", "deadlock.py", "stuck"]]
    assert all(row[2] != "stuck" for row in rows if row[1] != "deadlock.py")
    assert "deadlock.py in 1P/1C unbounded: stuck: a round did not finish within 1 s" in out
    assert "all cases >= 1.0: no (no figures for 1P/1C unbounded, 2P/2C maxsize=64)" in out
    assert "still blocked" in err


def test_a_queue_that_raises_fails_its_case_at_once():
    class Broken:
        def __init__(self, maxsize=0):
            pass

        def put(self, item):
            pass

        def get(self):
            raise KeyError("lost")

    started = time.monotonic()
    outcome = bench.run_round(Broken, bench.Case(2, 2, 0, 100), bound=30)
    assert time.monotonic() - started < 10
    assert outcome.status == "failed" and "get: KeyError: 'lost'" in outcome.detail

    def unbuildable(maxsize):
        raise TypeError("no maxsize")

    outcome = bench.run_round(unbuildable, CASE_1, bound=30)
    assert outcome == bench.Trouble("failed", "Queue(1) raised TypeError: no maxsize")


# --- asyncio queues ----------------------------------------------------------------------


def test_quick_bench_of_the_async_reference_is_against_asyncio_queue(here, capsys):
    path = here / "bench.json"
    assert main(["bench", "reference", "--model", "asyncio", "--quick", "--json",
                 str(path)]) == 0
    out = capsys.readouterr().out
    table = rows_of(out.split("\n\n")[1])
    assert {row[1] for row in table} == {"reference", "asyncio.Queue"}
    assert len(table) == 2 * 9
    assert all(row[3] == "1.00" for row in table if row[1] == "asyncio.Queue")
    assert "ratios are to asyncio.Queue" in out
    assert "reference throughput vs asyncio.Queue: min ratio " in out.splitlines()[-1]
    data = json.loads(path.read_text())
    assert data["model"] == "asyncio" and data["baseline"] == "asyncio.Queue"
    assert all(case["results"]["reference"]["status"] == "ok" for case in data["cases"])


def test_an_async_queue_is_detected_and_benched_with_tasks(here, capsys):
    """A module whose get is a coroutine function needs no --model; asyncio.Queue
    re-exported runs as fast as the baseline it is."""
    (here / "mine.py").write_text("from asyncio import Queue\n")
    assert bench.command("mine.py", rounds=1, cases=[bench.Case(2, 2, 1, 200)]) == 0
    out = capsys.readouterr().out
    assert "mine.py throughput vs asyncio.Queue" in out


class _NeverWakes:
    """get() parks on a future nobody resolves: a lost wake-up, the loop left free."""

    def __init__(self, maxsize=0):
        pass

    async def put(self, item):
        pass

    async def get(self):
        import asyncio
        await asyncio.get_running_loop().create_future()


class _HoldsTheLoop(_NeverWakes):
    """get() sleeps on the loop's thread: nothing on that loop can stop the round."""

    async def get(self):
        time.sleep(3)
        raise RuntimeError("the test's held loop ends")


def test_an_async_queue_that_never_wakes_is_stuck_its_tasks_cancelled():
    started = time.monotonic()
    outcome = bench.run_async_round(_NeverWakes, bench.Case(2, 2, 1, 50), bound=0.5)
    assert time.monotonic() - started < 5
    assert outcome == bench.Trouble(
        "stuck", "a round did not finish within 0.5 s (2 of 4 tasks still waiting)")


def test_an_async_queue_that_holds_the_loop_is_stuck_from_outside():
    started = time.monotonic()
    outcome = bench.run_async_round(_HoldsTheLoop, bench.Case(1, 1, 1, 5), bound=0.2)
    assert time.monotonic() - started < 3
    assert outcome.status == "stuck" and "the queue blocks the loop" in outcome.detail


def test_an_async_queue_that_raises_fails_its_case():
    class Raises(_NeverWakes):
        async def get(self):
            raise KeyError("lost")

    outcome = bench.run_async_round(Raises, bench.Case(1, 2, 0, 10), bound=30)
    assert outcome.status == "failed" and "get: KeyError: 'lost'" in outcome.detail
    outcome = bench.run_async_round(lambda maxsize: 1 / 0, CASE_1, bound=30)
    assert outcome.status == "failed" and "ZeroDivisionError" in outcome.detail
