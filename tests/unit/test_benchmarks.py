"""The pure parts of benchmarks/kill_matrix.py and benchmarks/kit_time.py (its one small
run is in tests/e2e/test_kill_matrix.py), and one small measure of
benchmarks/async_controlled_vs_stress.py. benchmarks/ is not a package: the scripts are
imported by path.
"""


import threading

import pytest

from conftest import load_benchmark

km = load_benchmark("kill_matrix")
kt = load_benchmark("kit_time")
acs = load_benchmark("async_controlled_vs_stress")

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="2" skipped="1"
 tests="6" time="3.5">
<testcase classname="test_queue_semantics" name="test_fifo_one_producer" time="0.120">
 <failure message="prodcon: property violated: order&#10;  correct behaviour: ...">prodcon: \
property violated: order
  correct behaviour: first in, first out

get_nowait() returned p0#39; p0#0 was due (first in, first out).</failure></testcase>
<testcase classname="test_queue_concurrency" name="test_conservation_order_capacity[8p2c-max3-slow\
-consumers]" time="0.250"><failure message="two">prodcon: property violated: conservation
prodcon: property violated: full-empty
more text</failure></testcase>
<testcase classname="test_queue_concurrency" name="test_conservation_order_capacity[1p1c-max1-even]"
 time="0.040" />
<testcase classname="test_queue_shutdown" name="test_put_after_shutdown_raises" time="0.001">
 <skipped type="pytest.skip" message="no shutdown()">skipped</skipped></testcase>
<testcase classname="test_queue_join" name="test_join_under_load[1p4c-max1-even]" time="5.0">
 <error message="failed on setup">boom</error></testcase>
<testcase classname="test_a" name="test_same_name" time="0.5" />
<testcase classname="test_b" name="test_same_name" time="0.25" />
</testsuite></testsuites>
"""


def test_junit_outcomes_durations_and_properties():
    results = km.parse_junit(JUNIT)
    fifo = results["test_fifo_one_producer"]
    assert (fifo.outcome, fifo.seconds, fifo.props) == ("failed", 0.12, ["order"])
    both = results["test_conservation_order_capacity[8p2c-max3-slow-consumers]"]
    assert both.props == ["conservation", "full-empty"] and both.kills
    passed = results["test_conservation_order_capacity[1p1c-max1-even]"]
    assert (passed.outcome, passed.seconds, passed.kills) == ("passed", 0.04, False)
    skipped = results["test_put_after_shutdown_raises"]
    assert skipped.outcome == "skipped" and not skipped.kills
    assert results["test_join_under_load[1p4c-max1-even]"].outcome == "error"
    assert results["test_join_under_load[1p4c-max1-even]"].kills
    # a name two files share is told apart by its class name
    assert results["test_a::test_same_name"].seconds == 0.5
    assert results["test_b::test_same_name"].seconds == 0.25
    assert len(results) == 7


def test_junit_test_reported_twice_keeps_worst_outcome_and_sums_time():
    text = ('<testsuites><testsuite><testcase classname="m" name="t" time="1.0" />'
            '<testcase classname="m" name="t" time="0.5"><error message="teardown"/>'
            '</testcase></testsuite></testsuites>')
    result = km.parse_junit(text)["t"]
    assert (result.outcome, result.seconds) == ("error", 1.5)


@pytest.mark.parametrize(("test_id", "group"), [
    ("test_conservation_order_capacity[8p2c-max3-slow-consumers]",
     "test_conservation_order_capacity"),
    ("test_sequential_model", "test_sequential_model"),
    ("test_nonblocking_get_on_empty_raises_empty[get-False-10]",
     "test_nonblocking_get_on_empty_raises_empty"),
    ("test_x[a[b]]", "test_x"),
    ("test_a::test_same_name[1]", "test_a::test_same_name"),
])
def test_group_of_strips_parametrization(test_id, group):
    assert km.group_of(test_id) == group


@pytest.mark.parametrize(("output", "violated"), [
    ("...\nprodcon violated: order (3), full-empty (1)\nprodcon replay: ...",
     ["order", "full-empty"]),
    ("prodcon violated: none\n", []),
    ("prodcon violated: queue-shutdown (2)", ["queue-shutdown"]),
    ("no summary at all (the run crashed)", None),
    ("prodcon: property violated: order\n", None),  # a failure's headline is not the summary
])
def test_summary_line(output, violated):
    assert km.parse_violated(output) == violated


MATRIX = {  # module -> tests that kill it
    "lifo": {"test_fifo[1]", "test_fifo[2]", "test_model"},
    "lost_wakeup": {"test_pipeline[8p8c]"},
    "timeout_early": {"test_timed_get"},
    "join_does_not_wait": {"test_join", "test_pipeline[1p1c]"},
    "consumer_keeps_running": {"test_pipeline[1p1c]", "test_pipeline[8p8c]"},
    "unkilled": set(),
}


def test_unique_kills_per_test():
    assert km.unique_kills(MATRIX) == {"test_pipeline[8p8c]": ["lost_wakeup"],
                                       "test_timed_get": ["timeout_early"]}
    counts = km.kill_counts(MATRIX)
    assert counts["test_model"] == {"lifo"}
    assert "test_nothing" not in counts


def test_unique_kills_per_group():
    groups = km.by_group(MATRIX)
    assert groups["lifo"] == {"test_fifo", "test_model"}
    assert groups["join_does_not_wait"] == {"test_join", "test_pipeline"}
    assert km.unique_kills(groups) == {"test_pipeline": ["consumer_keeps_running", "lost_wakeup"],
                                       "test_timed_get": ["timeout_early"]}


def test_droppable_keeps_a_killer_per_module():
    costs = {"test_fifo[1]": 1.0, "test_fifo[2]": 0.5, "test_model": 3.0,
             "test_pipeline[8p8c]": 9.0, "test_timed_get": 0.1, "test_join": 2.0,
             "test_pipeline[1p1c]": 0.2, "test_nothing": 4.0}
    dropped = km.droppable(costs, MATRIX)
    assert dropped == ["test_nothing", "test_model", "test_join", "test_fifo[1]"]
    # a module failed for its declared property only by test_join keeps test_join
    dropped = km.droppable(costs, MATRIX, {"join_does_not_wait": {"test_join"}})
    assert "test_join" not in dropped and "test_pipeline[1p1c]" in dropped


def test_select_and_caught_by():
    zoo = sorted(km.ZOO.glob("*.py"))
    assert [m.stem for m in km.select(zoo, ["lifo"])] == ["lifo"]
    assert {m.stem for m in km.select(zoo, ["consumer_*"])} >= {"consumer_eq_sentinel"}
    assert km.select(zoo, None) == zoo
    assert km.caught_by(km.ZOO / "lifo.py") == "order"


def test_kit_time_medians_and_totals():
    def figures(wall, main_sleep, main_wait, worker_sleep):
        return {"call_wall": wall, "protocol_wall": wall, "main_sleep": main_sleep,
                "main_wait": main_wait, "worker_sleep": worker_sleep, "worker_wait": 0.0,
                "sleep_calls": 1, "main_sites": {"Event.wait harness.py:Crew.wait": main_wait},
                "worker_sleep_sites": {}}

    rounds = [{"wall": w, "returncode": 0,
               "tests": {"a.py::test_x": figures(x, 0.0, x * 0.9, 2 * x),
                         "a.py::test_y[1]": figures(0.1, 0.05, 0.0, 0.0)}}
              for w, x in ((10.0, 1.0), (12.0, 3.0), (11.0, 2.0))]
    combined = kt.combine(rounds)
    x = combined["tests"]["test_x"]
    assert x["call_wall"] == 2.0 and x["main_waiting"] == pytest.approx(1.8)
    assert x["worker_sleep"] == 4.0
    assert combined["tests"]["test_y[1]"]["main_waiting"] == pytest.approx(0.05)
    totals = combined["totals"]
    assert totals["run_wall"] == 11.0 and totals["test_wall"] == pytest.approx(2.1)
    assert totals["main_waiting"] == pytest.approx(1.85) and totals["failed_rounds"] == []
    text = kt.render("reference", "reference", combined, top=1)
    assert "test_x" in text.splitlines()[-2] and "Crew.wait" in text.splitlines()[-1]


def test_kit_time_probe_is_valid_python():
    compile(kt.PLUGIN, "kit_time_probe.py", "exec")


def test_async_controlled_vs_stress_measures_both_sides_on_one_bug():
    """if_not_while's controlled search finds it in its first schedule; the stress side
    runs one free-running round on a loop of its own, closed after it."""
    impl = acs.contract.load(str(acs.ZOO / "if_not_while.py"), acs.REPO, model="asyncio")
    schedules, seconds, prop = acs.controlled(impl, 1, 20)
    assert (schedules, prop) == (1, "blocking") and seconds > 0
    caught, rounds, props, _ = acs.stress(impl, 1, 0.0)
    assert rounds == 1 and (caught == 1) == bool(props), (caught, props)
    assert props <= {"exceptions", "blocking", "deadlock", "conservation"}
    assert not [t for t in threading.enumerate() if t.name == "prodcon-loop-bench"]
    assert all(path.exists() for path in acs.BUGS)


def test_async_controlled_vs_stress_calls_an_exploration_it_could_not_run_an_error():
    """A plan skipped or failed by the kit must not count as a bug not found."""
    impl = acs.contract.load(str(acs.ZOO / "time_sleep_in_get.py"), acs.REPO,
                             model="asyncio")
    with pytest.raises(RuntimeError, match="not explored: .*time.sleep"):
        acs.controlled(impl, 1, 5)
